/**
 * Codes for failures inside pipeline stages. `retryable` tells the queue whether backing off can
 * help: unreadable input is recorded on the document and never retried; a database that is down is.
 */
export type PipelineErrorCode =
  | "unsupported_format"
  | "empty_document"
  | "no_text_layer"
  | "ocr_failed"
  | "corrupt_file"
  | "encrypted_file"
  | "binary_content"
  | "invalid_encoding"
  | "file_too_large"
  | "file_missing"
  | "permission_denied"
  | "path_outside_root"
  | "embedding_failed"
  | "embedding_model_mismatch"
  /** A store (the database, the vector store) cannot be reached; retryable. */
  | "store_unavailable"
  /** A second index build was refused: one is already running. */
  | "build_running";

export class PipelineError extends Error {
  readonly code: PipelineErrorCode;
  readonly retryable: boolean;
  readonly context: Record<string, unknown>;

  constructor(
    code: PipelineErrorCode,
    message: string,
    opts: { retryable?: boolean; cause?: unknown; context?: Record<string, unknown> } = {},
  ) {
    super(message, { cause: opts.cause });
    this.name = "PipelineError";
    this.code = code;
    this.retryable = opts.retryable ?? false;
    this.context = opts.context ?? {};
  }
}

export function isPipelineError(err: unknown): err is PipelineError {
  return err instanceof PipelineError;
}
