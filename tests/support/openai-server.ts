import { createServer, type IncomingMessage, type Server, type ServerResponse } from "node:http";

/**
 * An OpenAI-compatible HTTP server on loopback that a test scripts. It stands in for a remote model
 * API (OpenAI, vLLM, TEI...) that cannot run on these machines; it is never the product's code.
 */
export interface ScriptedServer {
  url: string;
  requests: Array<{ path: string; auth?: string | undefined; body: any }>;
  /** Replaces the replies from the next request on. */
  script(replies: Reply[]): void;
  close(): Promise<void>;
}
export type Reply = (req: { body: any; n: number }, res: ServerResponse) => void;

/** A deterministic unit vector of `dims` numbers derived from the text's characters. */
export function vectorFor(text: string, dims = 4): number[] {
  const v = Array.from({ length: dims }, (_, i) => {
    let h = 7 + i;
    for (let k = 0; k < text.length; k++) {
      h = (h * 31 + text.charCodeAt(k) * (i + 1)) % 1009;
    }
    return h + 1;
  });
  const norm = Math.hypot(...v);
  return v.map((x) => x / norm);
}

/** Embeddings for every input, listed in reverse so clients must order by `index`. */
export const embeddingsReply =
  (dims = 4): Reply =>
  ({ body }, res) => {
    const input: string[] = body.input;
    res.writeHead(200, { "content-type": "application/json" });
    res.end(JSON.stringify({ data: input.map((t, index) => ({ index, embedding: vectorFor(t, dims) })).reverse() }));
  };

export const statusReply =
  (code: number, headers: Record<string, string> = {}): Reply =>
  (_r, res) => {
    res.writeHead(code, { "content-type": "application/json", ...headers });
    res.end(JSON.stringify({ error: { message: `status ${code}` } }));
  };

export async function startScriptedServer(replies: Reply[]): Promise<ScriptedServer> {
  const requests: ScriptedServer["requests"] = [];
  let current = replies;
  let n = 0;
  let sinceScript = 0;
  const server: Server = createServer((req: IncomingMessage, res) => {
    let raw = "";
    req.on("data", (d) => (raw += d));
    req.on("end", () => {
      const body = raw ? JSON.parse(raw) : {};
      requests.push({ path: req.url ?? "", auth: req.headers.authorization, body });
      const reply = current[Math.min(sinceScript, current.length - 1)]!;
      n++;
      sinceScript++;
      reply({ body, n }, res);
    });
  });
  await new Promise<void>((r) => server.listen(0, "127.0.0.1", () => r()));
  return {
    url: `http://127.0.0.1:${(server.address() as { port: number }).port}/v1`,
    requests,
    script(next) {
      current = next;
      sinceScript = 0;
    },
    close: () =>
      new Promise<void>((r) => {
        server.closeAllConnections();
        server.close(() => r());
      }),
  };
}

/** The text of a chat completion reply: fixed, or computed from the request (the prompt it was sent). */
export type ChatContent = string | ((body: any) => string);

/**
 * A `/chat/completions` answer. With `stream: true` in the request it answers as OpenAI streams:
 * server-sent `data:` chunks of `delta.content`, a word at a time, then `data: [DONE]`.
 */
export const chatReply =
  (content: ChatContent, opts: { chunkDelayMs?: number } = {}): Reply =>
  ({ body }, res) => {
    const text = typeof content === "function" ? content(body) : content;
    if (!body.stream) {
      res.writeHead(200, { "content-type": "application/json" });
      res.end(
        JSON.stringify({
          id: "chatcmpl-test",
          object: "chat.completion",
          model: body.model,
          choices: [{ index: 0, message: { role: "assistant", content: text }, finish_reason: "stop" }],
          usage: {
            prompt_tokens: 100,
            completion_tokens: text.split(/\s+/).length,
            total_tokens: 100 + text.split(/\s+/).length,
          },
        }),
      );
      return;
    }
    streamChunks(text.match(/\S+\s*/g) ?? [], body.model, opts.chunkDelayMs ?? 0, res);
  };

/** Streams the given deltas exactly, then, unless `broken`, `[DONE]`; `broken` ends the connection mid-answer. */
export const chatStreamReply =
  (deltas: string[], opts: { chunkDelayMs?: number; broken?: boolean } = {}): Reply =>
  ({ body }, res) =>
    streamChunks(deltas, body.model, opts.chunkDelayMs ?? 0, res, opts.broken);

function streamChunks(deltas: string[], model: string, delayMs: number, res: ServerResponse, broken = false) {
  res.writeHead(200, { "content-type": "text/event-stream", "cache-control": "no-cache" });
  const chunk = (delta: Record<string, unknown>, finish: string | null = null) =>
    `data: ${JSON.stringify({ id: "chatcmpl-test", object: "chat.completion.chunk", model, choices: [{ index: 0, delta, finish_reason: finish }] })}\n\n`;
  const parts = [chunk({ role: "assistant", content: "" }), ...deltas.map((d) => chunk({ content: d }))];
  if (!broken) {
    parts.push(chunk({}, "stop"), "data: [DONE]\n\n");
  }
  let i = 0;
  const next = () => {
    if (i < parts.length) {
      res.write(parts[i++]);
      setTimeout(next, delayMs);
    } else if (broken) {
      res.destroy();
    } else {
      res.end();
    }
  };
  next();
}

/** Never answers: for timeouts. */
export const hangReply: Reply = () => {};

/** The user message of a chat request: where the sources and question are. */
export const userPrompt = (body: any): string => body.messages.find((m: { role: string }) => m.role === "user").content;
