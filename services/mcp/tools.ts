import { McpServer } from "@modelcontextprotocol/sdk/server/mcp.js";
import type { CallToolResult } from "@modelcontextprotocol/sdk/types.js";
import { z } from "zod";
import { ASK_LIMITS, CollectionNameSchema } from "../../schemas/api.js";
import { historySchema } from "../../schemas/conversation.js";
import { isWellFormedText, notWellFormed } from "../../schemas/text.js";
import { ApiError } from "../api/errors.js";
import type { RagBackend } from "./backend.js";

const SERVER_INFO = { name: "rag-service", version: "0.1.0" };
const DOCUMENT_MAX_CHARS = 200_000;

const collection = CollectionNameSchema.optional().describe(
  "A collection from list_collections; omitted: every collection this key may read. An unknown one is refused, never widened.",
);

/** Text for the assistant's model and the same result as structured content for programs. */
function result(text: string, structured: Record<string, unknown>): CallToolResult {
  return { content: [{ type: "text", text }], structuredContent: structured };
}

/**
 * A refusal the assistant can act on (an unknown collection lists the valid ones), as a tool
 * error rather than a protocol error, so the model sees it and can correct itself.
 */
async function guarded(run: () => Promise<CallToolResult>): Promise<CallToolResult> {
  try {
    return await run();
  } catch (err) {
    if (!(err instanceof ApiError)) {
      throw err;
    }
    return {
      content: [{ type: "text", text: `${err.code}: ${err.message}` }],
      structuredContent: { error: { code: err.code, message: err.message } },
      isError: true,
    };
  }
}

const json = (value: unknown) => JSON.stringify(value, null, 2);

/**
 * The MCP server of this service: the tools an assistant (Claude Desktop, Cursor, an IDE agent)
 * calls, each over `backend`, which carries the caller's tenancy.
 */
export function createMcpServer(backend: RagBackend, maxQuestionChars: number): McpServer {
  const server = new McpServer(SERVER_INFO, {
    instructions:
      "Documents indexed by a RAG service. Use `ask` for a verified answer with citations (it abstains when the documents do not say), " +
      "`search` for passages to read yourself, `get_document` for a whole document, `list_collections` and `index_status` for what is indexed and how fresh it is.",
  });

  server.registerTool(
    "search",
    {
      title: "Search the documents",
      description:
        "Hybrid (dense + BM25) retrieval with re-ranking: the best passages for a query, with their document, path, page and score.",
      inputSchema: {
        query: z
          .string()
          .trim()
          .min(1)
          .max(maxQuestionChars)
          .refine(isWellFormedText, notWellFormed("query"))
          .describe("What to look for, in natural language or keywords."),
        collection,
        topK: z
          .number()
          .int()
          .min(1)
          .max(ASK_LIMITS.maxTopK)
          .default(8)
          .describe("How many passages to return (1-50)."),
      },
      annotations: { readOnlyHint: true, openWorldHint: false },
    },
    ({ query, collection: name, topK }) =>
      guarded(async () => {
        const passages = await backend.search({ query, collection: name, topK });
        const text = passages.length
          ? passages
              .map(
                (p, i) =>
                  `[${i + 1}] ${p.path}${p.page !== null ? ` p.${p.page}` : ""} (score ${p.score}, documentId ${p.documentId})\n${p.snippet}`,
              )
              .join("\n\n")
          : "No passage matched.";
        return result(text, { passages });
      }),
  );

  server.registerTool(
    "ask",
    {
      title: "Ask the documents",
      description:
        "A grounded answer with numbered citations [n], every sentence verified against the passage it cites; abstains when the documents do not answer. " +
        "Give earlier turns as history for a follow-up question.",
      inputSchema: {
        question: z
          .string()
          .trim()
          .min(1)
          .max(maxQuestionChars)
          .refine(isWellFormedText, notWellFormed("question"))
          .describe("The question."),
        collection,
        history: historySchema(maxQuestionChars)
          .optional()
          .describe("Earlier turns, oldest first, for a follow-up question."),
      },
      annotations: { readOnlyHint: true, openWorldHint: false },
    },
    ({ question, collection: name, history }) =>
      guarded(async () => {
        const r = await backend.ask({ question, collection: name, history });
        const sources = r.citations
          .map((c) => `[${c.n}] ${c.path}${c.page !== null ? ` p.${c.page}` : ""} (documentId ${c.documentId})`)
          .join("\n");
        const text = r.abstained
          ? `${r.answer}${r.abstainReason ? `\n(${r.abstainReason})` : ""}`
          : `${r.answer}\n\nSources:\n${sources}`;
        return result(text, {
          queryId: r.queryId,
          answer: r.answer,
          abstained: r.abstained,
          citations: r.citations,
          ...(r.conversation ? { rewrittenQuestion: r.conversation.rewrittenQuestion } : {}),
        });
      }),
  );

  server.registerTool(
    "list_collections",
    {
      title: "List collections",
      description:
        "The collections (tenants) this key may read, with their document counts and when they last changed.",
      inputSchema: {},
      annotations: { readOnlyHint: true, openWorldHint: false },
    },
    () =>
      guarded(async () => {
        const collections = await backend.listCollections();
        const text = collections.length
          ? collections
              .map(
                (c) =>
                  `${c.name}: ${c.indexed} of ${c.documents} documents indexed, last ${c.lastIndexedAt ?? "never"}`,
              )
              .join("\n")
          : "This key may read no collection.";
        return result(text, { collections });
      }),
  );

  server.registerTool(
    "get_document",
    {
      title: "Get a document",
      description:
        "A document's metadata (path, collection, status, indexed time) and its indexed text, by the documentId that search and ask return.",
      inputSchema: {
        id: z.string().trim().min(1).max(80).describe("The documentId."),
        maxChars: z
          .number()
          .int()
          .min(100)
          .max(DOCUMENT_MAX_CHARS)
          .default(50_000)
          .describe("Cut the text after this many characters."),
      },
      annotations: { readOnlyHint: true, openWorldHint: false },
    },
    ({ id, maxChars }) =>
      guarded(async () => {
        const doc = await backend.getDocument(id, maxChars);
        return result(json(doc), { document: doc });
      }),
  );

  server.registerTool(
    "index_status",
    {
      title: "Index status",
      description:
        "How fresh the index is: documents indexed, pending, failed and stale per source, the freshness lag, the embedding model and queue depth.",
      inputSchema: {},
      annotations: { readOnlyHint: true, openWorldHint: false },
    },
    () =>
      guarded(async () => {
        const status = await backend.indexStatus();
        return result(json(status), { status: status as unknown as Record<string, unknown> });
      }),
  );

  return server;
}
