import { existsSync } from "node:fs";
import { basename, resolve } from "node:path";
import { toAnswer } from "./openai.js";
import { answerPrompt, chatPromptTokens, renderSource, userMessage } from "./prompt.js";
import type { VersionedPrompt } from "../prompts/registry.js";
import type { GeneratorTokenizer } from "./tokens.js";
import type { Generator } from "./types.js";

// Not a dependency: node-llama-cpp is about 700 MB installed (llama.cpp binaries), so only users
// who configure llamacpp:<gguf file> install it.
const PACKAGE = "node-llama-cpp";
const INSTALL_HINT =
  `GENERATOR=llamacpp:<gguf file> needs ${PACKAGE}, which is not installed (about 700 MB with its llama.cpp ` +
  `binaries). Install it with \`npm install ${PACKAGE}\`.`;

// Chat templates add role markers the tiktoken-style framing estimate does not know about.
const TEMPLATE_MARGIN_TOKENS = 32;

/** The part of node-llama-cpp 3.x used here (getLlama → loadModel → createContext → LlamaChatSession). */
interface LlamaModule {
  getLlama(): Promise<{ loadModel(o: { modelPath: string }): Promise<LlamaModel>; dispose(): Promise<void> }>;
  LlamaChatSession: new (o: {
    contextSequence: unknown;
    systemPrompt?: string;
    autoDisposeSequence?: boolean;
  }) => {
    prompt(
      text: string,
      o: { maxTokens?: number; temperature?: number; signal?: AbortSignal; onTextChunk?: (t: string) => void },
    ): Promise<string>;
    dispose(o?: { disposeSequence?: boolean }): void;
  };
}
interface LlamaModel {
  trainContextSize: number;
  tokenize(text: string): unknown[];
  createContext(o: { contextSize: number }): Promise<{ getSequence(): unknown; dispose(): Promise<void> }>;
  dispose(): Promise<void>;
}

export interface LlamaCppOptions {
  modelPath: string;
  contextWindow: number;
  maxAnswerTokens: number;
  /** The system prompt (prompts/answer/<version>.md); answer/v1 when unset. */
  prompt?: VersionedPrompt | undefined;
}

/**
 * A local GGUF model run in-process by node-llama-cpp, loaded once. Counts tokens with the model's
 * own tokenizer. One context sequence, so answers are generated one at a time.
 */
export async function createLlamaCppGenerator(opts: LlamaCppOptions): Promise<Generator> {
  const prompt = opts.prompt ?? answerPrompt();
  let lib: LlamaModule;
  try {
    lib = (await import(/* @vite-ignore */ PACKAGE as string)) as LlamaModule;
  } catch (cause) {
    throw new Error(INSTALL_HINT, { cause });
  }
  const modelPath = resolve(opts.modelPath);
  if (!existsSync(modelPath)) {
    throw new Error(`${modelPath} does not exist; GENERATOR=llamacpp:<file> needs a GGUF model file.`);
  }
  const llama = await lib.getLlama();
  const model = await llama.loadModel({ modelPath });
  const contextWindow = Math.min(opts.contextWindow, model.trainContextSize || opts.contextWindow);
  const context = await model.createContext({ contextSize: contextWindow });
  const label = basename(modelPath);
  const tokenizer: GeneratorTokenizer = { encoding: `gguf:${label}`, count: (text) => model.tokenize(text).length };
  let turn: Promise<unknown> = Promise.resolve();

  return {
    name: "llamacpp",
    model: label,
    promptVersion: prompt.id,
    contextWindow,
    answerReserve: opts.maxAnswerTokens,
    tokenizer,
    promptTokens: (question) => chatPromptTokens(tokenizer, question, prompt.text) + TEMPLATE_MARGIN_TOKENS,
    renderSource,
    generate({ question, sources, onDelta, signal }) {
      const run = async () => {
        const session = new lib.LlamaChatSession({
          contextSequence: context.getSequence(),
          systemPrompt: prompt.text,
          autoDisposeSequence: true,
        });
        try {
          const text = await session.prompt(userMessage(question, sources.map(renderSource)), {
            maxTokens: opts.maxAnswerTokens,
            temperature: 0,
            signal,
            onTextChunk: onDelta,
          });
          return toAnswer(text, label);
        } finally {
          session.dispose({ disposeSequence: true });
        }
      };
      const result = turn.then(run, run);
      turn = result.catch(() => {});
      return result;
    },
    async close() {
      await context.dispose();
      await model.dispose();
      await llama.dispose();
    },
  };
}
