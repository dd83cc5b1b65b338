import { createRoute } from "@hono/zod-openapi";
import { z } from "zod";
import { defineRoute, json } from "../contract.js";

const HealthSchema = z.object({ status: z.literal("ok") }).openapi("Health");

const route = createRoute({
  method: "get",
  path: "/",
  summary: "Liveness",
  security: [],
  responses: { 200: json("The process is up", HealthSchema, { status: "ok" }) },
});

/** Liveness: the process is up and serving HTTP. Says nothing about the index. */
export const healthzRoute = defineRoute(route, (c) => c.json({ status: "ok" }));
