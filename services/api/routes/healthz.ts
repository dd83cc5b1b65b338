import { Hono } from "hono";
import type { AppEnv } from "../context.js";

/** Liveness: the process is up and serving HTTP. Says nothing about the index. */
export const healthzRoute = new Hono<AppEnv>().get("/", (c) => c.json({ status: "ok" }));
