import { maskDeep, maskText } from "../../pipelines/guard/pii.js";
import { pino, stdTimeFunctions, type DestinationStream, type Logger as PinoLogger } from "pino";

export type LogLevel = "debug" | "info" | "warn" | "error" | "silent";

/** What every caller logs through; pino underneath, so callers never import pino themselves. */
export interface Logger {
  debug(msg: string, fields?: Record<string, unknown>): void;
  info(msg: string, fields?: Record<string, unknown>): void;
  warn(msg: string, fields?: Record<string, unknown>): void;
  error(msg: string, fields?: Record<string, unknown>): void;
  child(fields: Record<string, unknown>): Logger;
}

// Callers pass errors under any key (err, cause, error); only a message and a name leave the
// process by default, so a log line never carries a whole request object by accident.
// Personal data (emails, phones, cards, IBANs, SSNs, IPs) is masked in every message and string
// field, nested ones included: questions, paths and error messages can all carry it. The bind
// address and request ids are configuration and identifiers, not a person's data.
const UNMASKED = new Set(["requestId", "host"]);
const plain = (fields: Record<string, unknown>) => {
  const out: Record<string, unknown> = {};
  for (const [k, v] of Object.entries(fields)) {
    const value = v instanceof Error ? { message: v.message, name: v.name } : v;
    out[k] = UNMASKED.has(k) ? value : maskDeep(value, UNMASKED);
  }
  return out;
};

function wrap(p: PinoLogger): Logger {
  const emit = (lvl: "debug" | "info" | "warn" | "error") => (msg: string, fields?: Record<string, unknown>) => {
    if (!p.isLevelEnabled(lvl)) {
      return;
    }
    if (fields) {
      p[lvl](plain(fields), maskText(msg));
    } else {
      p[lvl](maskText(msg));
    }
  };
  return {
    debug: emit("debug"),
    info: emit("info"),
    warn: emit("warn"),
    error: emit("error"),
    child: (fields) => wrap(p.child(plain(fields))),
  };
}

/**
 * One JSON object per line on stderr (pino), so logs stay machine-readable and stdout stays free:
 * `{"level":"info","time":"<ISO>","service":"api","requestId":"…","msg":"…"}`. Written
 * synchronously, so the last lines before an exit are not lost.
 */
export function createLogger(
  level: LogLevel,
  base: Record<string, unknown> = {},
  /** Where lines go instead of stderr (tests read them back). */
  destination?: DestinationStream,
): Logger {
  const p = pino(
    {
      level,
      base: plain(base),
      timestamp: stdTimeFunctions.isoTime,
      formatters: { level: (label) => ({ level: label }) },
    },
    destination ?? pino.destination({ fd: 2, sync: true }),
  );
  return wrap(p);
}
