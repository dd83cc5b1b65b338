/**
 * When the watcher reconciles a root again after start-up: once a burst of events has settled,
 * and on a fixed schedule. The watcher library can miss files (services/watcher/watcher.ts says
 * which cases), so neither a burst nor a quiet period is trusted to have been reported in full.
 */
export interface RescanSchedulerOptions {
  /** Runs one reconciliation of `root`; calls never overlap. `reason`: what asked for it. */
  rescan: (root: string, reason: RescanReason) => Promise<void>;
  roots: readonly string[];
  /** Quiet time after the last event of a burst before the root is reconciled. */
  settleMs: number;
  /** A burst that never goes quiet is reconciled at least this often. */
  maxWaitMs: number;
  /** Every root is reconciled this often (0: never). */
  intervalMs: number;
  /** Runs the schedule; setInterval unless given (a test ticks it by hand to know when it runs). */
  timer?: RescanTimer;
  /** File events in one burst from which it is reconciled even without folder events or removals. */
  burstFiles: number;
  onError: (root: string, err: unknown) => void;
}

export type WatchEventKind = "add" | "change" | "unlink" | "addDir" | "unlinkDir";

export type RescanReason = "burst" | "schedule";

/**
 * Calls `tick` every `intervalMs` until the returned function is called. `tick` resolves once the
 * reconciliations it asked for have run.
 */
export type RescanTimer = (tick: () => Promise<void>, intervalMs: number) => () => void;

const intervalTimer: RescanTimer = (tick, intervalMs) => {
  const handle = setInterval(() => void tick(), intervalMs);
  handle.unref();
  return () => clearInterval(handle);
};

interface Burst {
  files: number;
  structural: boolean;
  firstAt: number;
  timer: NodeJS.Timeout;
}

export function createRescanScheduler(opts: RescanSchedulerOptions) {
  const bursts = new Map<string, Burst>();
  // Roots waiting for a reconciliation, with what asked for the latest one.
  const wanted = new Map<string, RescanReason>();
  let running: Promise<void> | undefined;
  let closed = false;
  let stopTimer: (() => void) | undefined;

  /** Reconciles the wanted roots one after another; a root asked for again meanwhile runs again. */
  function drain(): Promise<void> {
    running ??= (async () => {
      while (!closed && wanted.size) {
        const [root, reason] = wanted.entries().next().value!;
        wanted.delete(root);
        await opts.rescan(root, reason).catch((err: unknown) => opts.onError(root, err));
      }
    })().finally(() => {
      running = undefined;
      // Asked for between the loop's last check and here: start again rather than lose it.
      if (wanted.size && !closed) {
        void drain();
      }
    });
    return running;
  }

  function request(root: string, reason: RescanReason): Promise<void> {
    if (closed) {
      return Promise.resolve();
    }
    wanted.set(root, reason);
    // A drain in progress takes the new root on its next turn.
    return running ?? drain();
  }

  function settle(root: string) {
    const burst = bursts.get(root);
    bursts.delete(root);
    // A few edits are what chokidar reports well; folders appearing, disappearing or being
    // replaced, and many files at once, are where it loses files.
    if (burst && (burst.structural || burst.files >= opts.burstFiles)) {
      void request(root, "burst");
    }
  }

  return {
    /** Notes one watch event under `root`; the burst it belongs to is reconciled once it settles. */
    noteEvent(root: string, kind: WatchEventKind) {
      if (closed) {
        return;
      }
      const now = Date.now();
      let burst = bursts.get(root);
      if (burst) {
        clearTimeout(burst.timer);
      } else {
        burst = { files: 0, structural: false, firstAt: now, timer: undefined as unknown as NodeJS.Timeout };
      }
      if (kind === "add" || kind === "change") {
        burst.files++;
      } else {
        burst.structural = true;
      }
      const wait = Math.max(0, Math.min(opts.settleMs, burst.firstAt + opts.maxWaitMs - now));
      burst.timer = setTimeout(() => settle(root), wait);
      bursts.set(root, burst);
    },
    start() {
      if (opts.intervalMs > 0) {
        const tick = async () => {
          await Promise.all(opts.roots.map((r) => request(r, "schedule")));
          // A drain already running when asked took the roots on a later turn: wait for that too.
          await running;
        };
        stopTimer = (opts.timer ?? intervalTimer)(tick, opts.intervalMs);
      }
    },
    /** Resolves when no burst is waiting to settle and no reconciliation runs. */
    async idle(): Promise<void> {
      while (bursts.size || running) {
        if (running) {
          await running;
        } else {
          await new Promise((r) => setTimeout(r, 20));
        }
      }
    },
    async close() {
      closed = true;
      stopTimer?.();
      for (const b of bursts.values()) {
        clearTimeout(b.timer);
      }
      bursts.clear();
      await running;
    },
  };
}
