// Moved to pipelines/http/ so the chat generator retries exactly as the embedder does.
export { HttpStatusError, isRetryableStatus, postJson, type RetryPolicy } from "../http/retry.js";
