import { AsyncLocalStorage } from "node:async_hooks";
import { context, ROOT_CONTEXT, trace, type Context, type ContextManager } from "@opentelemetry/api";
import { OTLPTraceExporter } from "@opentelemetry/exporter-trace-otlp-http";
import { resourceFromAttributes } from "@opentelemetry/resources";
import {
  BasicTracerProvider,
  BatchSpanProcessor,
  ConsoleSpanExporter,
  SimpleSpanProcessor,
  type SpanProcessor,
} from "@opentelemetry/sdk-trace-base";

/** The OTEL_* variables of commonEnv (services/common/config.ts). */
export interface TracingConfig {
  OTEL_TRACES_EXPORTER: "otlp" | "console" | "none";
  OTEL_EXPORTER_OTLP_ENDPOINT: string;
  OTEL_SERVICE_NAME?: string | undefined;
}

export interface Tracing {
  /** Sends the spans still buffered and unregisters the provider; call last at shutdown. */
  shutdown(): Promise<void>;
}

/**
 * Starts tracing as configured; with `none` (the default) it registers nothing, so the spans in
 * pipelines/ stay non-recording no-ops. `process` names the service when OTEL_SERVICE_NAME is unset.
 */
export function startTracing(config: TracingConfig, process: string): Tracing {
  if (config.OTEL_TRACES_EXPORTER === "none") {
    return { shutdown: async () => {} };
  }
  const processor =
    config.OTEL_TRACES_EXPORTER === "console"
      ? new SimpleSpanProcessor(new ConsoleSpanExporter())
      : new BatchSpanProcessor(
          new OTLPTraceExporter({ url: `${config.OTEL_EXPORTER_OTLP_ENDPOINT.replace(/\/+$/, "")}/v1/traces` }),
        );
  return registerTracing({
    serviceName: config.OTEL_SERVICE_NAME ?? `rag-service-${process}`,
    spanProcessors: [processor],
  });
}

/** Registers a tracer provider with these processors globally (tests pass an in-memory exporter's). */
export function registerTracing(opts: { serviceName: string; spanProcessors: SpanProcessor[] }): Tracing {
  const provider = new BasicTracerProvider({
    resource: resourceFromAttributes({ "service.name": opts.serviceName }),
    spanProcessors: opts.spanProcessors,
  });
  // Without a context manager every span would be a root: spans find their parent through it.
  const contextManager = new AsyncLocalStorageContextManager().enable();
  context.setGlobalContextManager(contextManager);
  trace.setGlobalTracerProvider(provider);
  return {
    async shutdown() {
      await provider.shutdown();
      // So a later registerTracing (the next test) takes effect: the API keeps the first one otherwise.
      trace.disable();
      context.disable();
    },
  };
}

/**
 * The active span context, carried across awaits by AsyncLocalStorage (what
 * @opentelemetry/context-async-hooks does; it is not a dependency here, and this is all of it we need).
 */
class AsyncLocalStorageContextManager implements ContextManager {
  private storage = new AsyncLocalStorage<Context>();
  active(): Context {
    return this.storage.getStore() ?? ROOT_CONTEXT;
  }
  with<A extends unknown[], F extends (...args: A) => ReturnType<F>>(
    ctx: Context,
    fn: F,
    thisArg?: ThisParameterType<F>,
    ...args: A
  ): ReturnType<F> {
    return this.storage.run(ctx, () => fn.apply(thisArg, args));
  }
  bind<T>(ctx: Context, target: T): T {
    if (typeof target !== "function") {
      return target;
    }
    const run = (...args: unknown[]) => this.with(ctx, target as (...a: unknown[]) => unknown, undefined, ...args);
    return run as T;
  }
  enable(): this {
    return this;
  }
  disable(): this {
    this.storage.disable();
    return this;
  }
}
