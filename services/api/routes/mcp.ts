import { WebStandardStreamableHTTPServerTransport } from "@modelcontextprotocol/sdk/server/webStandardStreamableHttp.js";
import { createRoute } from "@hono/zod-openapi";
import { z } from "zod";
import { createRagBackend } from "../../mcp/backend.js";
import { createMcpServer } from "../../mcp/tools.js";
import { defineRoute, errors, GUARDED_ERRORS, json, type RouteHandler, STARTING_ERRORS } from "../contract.js";

const JsonRpcSchema = z.looseObject({ jsonrpc: z.literal("2.0"), id: z.union([z.string(), z.number(), z.null()]) });
const noSessions = (method: "get" | "delete") =>
  createRoute({
    method,
    path: "/",
    summary: "Not served: the endpoint is stateless, and only sessions need GET (a server stream) or DELETE",
    responses: {
      405: json("Allow: POST", JsonRpcSchema, {
        jsonrpc: "2.0",
        error: { code: -32000, message: "This MCP endpoint is stateless: POST JSON-RPC messages to it." },
        id: null,
      }),
      ...errors({ ...STARTING_ERRORS, ...GUARDED_ERRORS }),
    },
  });
const getRoute = noSessions("get");
const deleteRoute = noSessions("delete");

const postRoute = createRoute({
  method: "post",
  path: "/",
  summary:
    "Model Context Protocol, Streamable HTTP (stateless, JSON responses): tools search, ask, list_collections, " +
    "get_document, index_status",
  request: { body: { required: true, content: { "application/json": { schema: JsonRpcSchema } } } },
  responses: {
    200: json("A JSON-RPC response", JsonRpcSchema, {
      jsonrpc: "2.0",
      id: 1,
      result: { tools: [{ name: "search" }, { name: "ask" }] },
    }),
    202: { description: "A notification or response was accepted; no body" },
    400: json("Not a JSON-RPC message: a JSON-RPC error", JsonRpcSchema, {
      jsonrpc: "2.0",
      error: { code: -32700, message: "Parse error: Invalid JSON" },
      id: null,
    }),
    406: { description: "Accept must list application/json and text/event-stream" },
    415: { description: "Content-Type must be application/json" },
    ...errors({ ...STARTING_ERRORS, ...GUARDED_ERRORS }),
  },
});

/**
 * /mcp: the Model Context Protocol over Streamable HTTP, stateless: each POST gets a fresh server
 * bound to its caller's key (authenticated and rate-limited by the app like any route), so no
 * session can outlive or outreach the key that opened it, and any API process can answer any
 * request. Responses are plain JSON (no server-initiated messages to stream); GET and DELETE,
 * which only sessions need, answer 405.
 */
const serveMcp: RouteHandler = async (c) => {
  if (c.req.method !== "POST") {
    c.header("Allow", "POST");
    return c.json(
      {
        jsonrpc: "2.0",
        error: { code: -32000, message: "This MCP endpoint is stateless: POST JSON-RPC messages to it." },
        id: null,
      },
      405,
    );
  }
  const asker = { principal: c.var.principal, requestId: c.var.requestId, log: c.var.log };
  const server = createMcpServer(
    createRagBackend(c.var.deps, asker, c.req.raw.signal),
    c.var.deps.config.MAX_QUESTION_CHARS,
  );
  const transport = new WebStandardStreamableHTTPServerTransport({
    sessionIdGenerator: undefined,
    enableJsonResponse: true,
  });
  await server.connect(transport);
  try {
    return await transport.handleRequest(c.req.raw);
  } finally {
    await server.close();
  }
};

export const mcpRoute = defineRoute(postRoute, serveMcp, { anyMethod: true, also: [getRoute, deleteRoute] });
