import { WebStandardStreamableHTTPServerTransport } from "@modelcontextprotocol/sdk/server/webStandardStreamableHttp.js";
import { Hono } from "hono";
import { createRagBackend } from "../../mcp/backend.js";
import { createMcpServer } from "../../mcp/tools.js";
import type { AppEnv } from "../context.js";

/**
 * /mcp: the Model Context Protocol over Streamable HTTP, stateless: each POST gets a fresh server
 * bound to its caller's key (authenticated and rate-limited by the app like any route), so no
 * session can outlive or outreach the key that opened it, and any API process can answer any
 * request. Responses are plain JSON (no server-initiated messages to stream); GET and DELETE,
 * which only sessions need, answer 405.
 */
export const mcpRoute = new Hono<AppEnv>().all("/", async (c) => {
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
});
