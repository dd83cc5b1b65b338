import { Hono } from "hono";
import type { AppEnv } from "../context.js";

/** GET /metrics: Prometheus text exposition of this process's registry (queue depth read now). */
export const metricsRoute = new Hono<AppEnv>().get("/", async (c) => {
  const registry = c.var.deps.metrics!.registry;
  return c.body(await registry.metrics(), 200, { "content-type": registry.contentType });
});
