/**
 * Turns on the main thread for CPU-bound continuations, one per event-loop iteration.
 *
 * Node accepts about one new connection per event-loop iteration (measured with Node 20 on Linux:
 * `accept4` is called once per poll phase), so an iteration that runs many requests' CPU-bound
 * steps back to back holds new connections for its whole length. That is what happens when one
 * batched embedding call returns: it resolves every waiting answer at once, and their
 * continuations (search, re-ranking, packing, reading, verifying: 5–20 ms each) ran in one go.
 * With fifty users arriving at once on two cores the iterations grew to 0.3–0.9 s, and the last
 * of the new connections were read 3–9 s after they were made (bench:load, issue 14), while every
 * answer itself took about a second. Taking a turn before such a step puts one step in each
 * iteration, in arrival order, so the poll phase (accepts, reads) runs between any two steps.
 */
const waiting: Array<() => void> = [];
let scheduled = false;

function release() {
  const next = waiting.shift();
  // Scheduled from the check phase, the next turn runs in the next iteration, after its poll phase.
  if (waiting.length > 0) {
    setImmediate(release);
  } else {
    scheduled = false;
  }
  next?.();
}

/** Resolves on this caller's turn: first come, first served, one turn per event-loop iteration. */
export function nextTurn(): Promise<void> {
  return new Promise((resolve) => {
    waiting.push(resolve);
    if (!scheduled) {
      scheduled = true;
      setImmediate(release);
    }
  });
}
