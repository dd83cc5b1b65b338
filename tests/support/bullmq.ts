import { randomUUID } from "node:crypto";
import { Queue } from "bullmq";
import { Redis } from "ioredis";
import { QUEUE_NAME } from "../../services/common/queue/bullmq.js";

/** The Redis the tests use (.ci/run starts one on the default port). */
export const REDIS_URL = process.env.REDIS_URL || "redis://127.0.0.1:6379";

/** A key prefix of its own, so tests never see each other's jobs. */
export const randomPrefix = () => `test-${randomUUID().slice(0, 8)}`;

/**
 * The raw BullMQ queue under `prefix`, for what the JobQueue interface does not show (a job's
 * options, who ran it), and `obliterate()` to delete every key under the prefix afterwards.
 */
export function rawQueue(prefix: string) {
  const connection = new Redis(REDIS_URL, { maxRetriesPerRequest: 1 });
  connection.on("error", () => {});
  const queue = new Queue(QUEUE_NAME, { connection, prefix });
  return {
    queue,
    async obliterate() {
      await queue.obliterate({ force: true });
      await queue.close();
      connection.disconnect();
    },
  };
}
