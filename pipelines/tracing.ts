import { SpanStatusCode, trace, type Attributes, type Span } from "@opentelemetry/api";

/**
 * Span attributes as callers have them: undefined and null values are dropped (OpenTelemetry
 * rejects them), so a caller can pass `page: chunk.page` without a guard.
 */
export type SpanAttrs = Record<string, string | number | boolean | string[] | undefined | null>;

/** Clean attributes for a span (exported for the callers that set some after the fact). */
export function spanAttributes(attrs: SpanAttrs): Attributes {
  const out: Attributes = {};
  for (const [k, v] of Object.entries(attrs)) {
    if (v !== undefined && v !== null) {
      out[k] = v;
    }
  }
  return out;
}

/**
 * Runs `fn` inside a span named `name`, as a child of the active one, and ends it when `fn`
 * returns or its promise settles; a throw is recorded on the span and rethrown. Sync and async
 * functions both work, so a pure stage (packing) needs no await.
 *
 * Without a registered tracer provider (the default: OTEL_TRACES_EXPORTER=none) the OpenTelemetry
 * API hands out non-recording spans, so this costs a function call and nothing is kept.
 *
 * @example
 * const hits = await withSpan("ask.retrieve", { "rag.top_k": 24 }, () => retrieve(deps, q, opts));
 */
export function withSpan<T>(name: string, attrs: SpanAttrs, fn: (span: Span) => T): T {
  return trace.getTracer("rag-service").startActiveSpan(name, { attributes: spanAttributes(attrs) }, (span) => {
    try {
      const out = fn(span);
      if (out instanceof Promise) {
        return out.then(
          (value: unknown) => {
            span.end();
            return value;
          },
          (err: unknown) => {
            fail(span, err);
            throw err;
          },
        ) as T;
      }
      span.end();
      return out;
    } catch (err) {
      fail(span, err);
      throw err;
    }
  });
}

/** Sets attributes computed from a stage's result on its span and passes the result through. */
export function annotate<T>(span: Span, value: T, attrs: (value: T) => SpanAttrs): T {
  if (span.isRecording()) {
    span.setAttributes(spanAttributes(attrs(value)));
  }
  return value;
}

function fail(span: Span, err: unknown) {
  if (err instanceof Error) {
    span.recordException(err);
  }
  span.setStatus({ code: SpanStatusCode.ERROR, message: err instanceof Error ? err.message : String(err) });
  span.end();
}
