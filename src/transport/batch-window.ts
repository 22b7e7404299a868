/**
 * Hands items to `project` in batches, one batch at a time. When idle, a
 * batch starts with whatever was added in the same tick (no timer waits for
 * more); while it runs, the next one accumulates, up to `maxBatchSize`.
 */
export interface BatchWindow<T> {
  add(item: T): void;
  /** Resolves once nothing waits and no batch runs. */
  idle(): Promise<void>;
  /** Drops what waits for a batch (not the batch in flight) and returns it. */
  clear(): T[];
}

/** `project` must never reject: each batch settles its own items. */
export function createBatchWindow<T>(
  maxBatchSize: number,
  project: (batch: T[]) => Promise<void>,
): BatchWindow<T> {
  const waiting: T[] = [];
  /** The loop taking batches; undefined when idle. */
  let running: Promise<void> | undefined;

  async function loop(): Promise<void> {
    // One microtask: a broker's socket read or a bus's pump hands over
    // several items synchronously; they start together.
    await Promise.resolve();
    try {
      while (waiting.length > 0) await project(waiting.splice(0, maxBatchSize));
    } finally {
      running = undefined;
    }
  }

  return {
    add(item) {
      waiting.push(item);
      running ??= loop();
    },
    idle: () => running ?? Promise.resolve(),
    clear: () => waiting.splice(0),
  };
}
