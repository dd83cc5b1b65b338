/**
 * A progress display for long terminal runs (start-up scans, re-index, eval, CLI ingest).
 *
 * On a TTY it redraws one line in place: count/total, percent, rate and ETA. Elsewhere (a log file,
 * CI, a pipe) it prints a plain line at most every `intervalMs`, so logs stay readable, and always
 * one at done().
 *
 * @example
 * const progress = createProgress({ label: "scan docs", total: files.length });
 * for (const f of files) { await enqueue(f); progress.tick(); }
 * progress.done("enqueued 1200 files");
 */
export interface Progress {
  /** Counts `n` (default 1) more items done; `note` (e.g. the current file) is shown after the figures. */
  tick(n?: number, note?: string): void;
  /** Ends the display with a final line; later calls do nothing. */
  done(summary?: string): void;
}

export interface ProgressOptions {
  label: string;
  /** Omit when unknown: the line then shows the count and rate only. */
  total?: number;
  /** Where to draw; stderr by default, so stdout stays clean for piped results. */
  stream?: NodeJS.WriteStream;
  /** Least time between plain (non-TTY) lines, and between TTY redraws a tenth of it. */
  intervalMs?: number;
  /** Clock, for tests. */
  now?: () => number;
}

// Kept over cli-progress 3.12.0: a tick costs a third of its (2M ticks: 0.7-0.9 s against 1.9-3.3 s, load 17),
// and it has no clock to inject for tests nor a throttled plain-line mode for logs without a redraw timer.
export function createProgress(options: ProgressOptions): Progress {
  const stream = options.stream ?? process.stderr;
  const now = options.now ?? Date.now;
  const tty = stream.isTTY === true;
  const interval = options.intervalMs ?? 5000;
  // Redrawing one line costs little, but hundreds a second would still spend CPU the work needs.
  const minGap = tty ? Math.min(100, interval) : interval;
  const started = now();
  let count = 0;
  let lastDraw = -Infinity;
  let lastNote = "";
  let finished = false;

  function line(): string {
    const seconds = (now() - started) / 1000;
    const rate = seconds > 0 ? count / seconds : 0;
    const parts = [options.label];
    if (options.total !== undefined) {
      const pct = options.total > 0 ? Math.min(100, (100 * count) / options.total) : 100;
      parts.push(`${count}/${options.total} (${pct.toFixed(0)}%)`);
    } else {
      parts.push(String(count));
    }
    parts.push(`${rate.toFixed(rate < 10 ? 1 : 0)}/s`);
    if (options.total !== undefined && rate > 0 && count < options.total) {
      parts.push(`ETA ${formatDuration((options.total - count) / rate)}`);
    }
    if (lastNote) {
      parts.push(lastNote);
    }
    return parts.join("  ");
  }

  function draw(): void {
    lastDraw = now();
    if (tty) {
      // Clip to the terminal width so the line never wraps, which would break the in-place redraw.
      const width = stream.columns && stream.columns > 1 ? stream.columns - 1 : 120;
      stream.write(`\r\x1b[2K${line().slice(0, width)}`);
    } else {
      stream.write(`${line()}\n`);
    }
  }

  return {
    tick(n = 1, note) {
      if (finished) {
        return;
      }
      count += n;
      if (note !== undefined) {
        lastNote = note;
      }
      if (now() - lastDraw >= minGap) {
        draw();
      }
    },
    done(summary) {
      if (finished) {
        return;
      }
      finished = true;
      const seconds = (now() - started) / 1000;
      const text = `${options.label}  ${summary ?? `${count} done`} in ${formatDuration(seconds)}`;
      stream.write(tty ? `\r\x1b[2K${text}\n` : `${text}\n`);
    },
  };
}

function formatDuration(seconds: number): string {
  if (!Number.isFinite(seconds)) {
    return "?";
  }
  const s = Math.round(seconds);
  if (s < 60) {
    return `${s}s`;
  }
  if (s < 3600) {
    return `${Math.floor(s / 60)}m${String(s % 60).padStart(2, "0")}s`;
  }
  return `${Math.floor(s / 3600)}h${String(Math.floor((s % 3600) / 60)).padStart(2, "0")}m`;
}

/**
 * Draws a queue's backlog draining (the worker catching up after a start-up scan) until it is
 * empty: ticks as the waiting and running count falls. Jobs added meanwhile (live events) raise
 * the count without ticking back. Resolves when the queue is idle.
 */
export async function showDrain(
  queue: { depth(): Promise<{ waiting: number; active: number }> },
  opts: { label: string; stream?: NodeJS.WriteStream; pollMs?: number },
): Promise<void> {
  const first = await queue.depth();
  let left = first.waiting + first.active;
  const progress = createProgress({ label: opts.label, total: left, stream: opts.stream });
  const total = left;
  while (left > 0) {
    await new Promise((r) => setTimeout(r, opts.pollMs ?? 1000));
    const d = await queue.depth();
    const now = d.waiting + d.active;
    if (now < left) {
      progress.tick(left - now);
    }
    left = now;
  }
  progress.done(`${total} jobs done`);
}
