/**
 * Hands items to `project` in batches, one batch at a time. When idle, a
 * batch starts with whatever was added in the same tick (no timer waits for
 * more); while it runs, the next one accumulates, up to `maxBatchSize`.
 * When more wait than a batch takes, the batch takes the waiting items of
 * every tenant in turns; each tenant's items keep their order, and a batch
 * lists its items in the order they were added.
 */
export interface BatchWindow<T> {
  /** Adds an item under `tenant`. @default tenant '' */
  add(item: T, tenant?: string): void;
  /** Resolves once nothing waits and no batch runs. */
  idle(): Promise<void>;
  /** Drops what waits for a batch (not the batch in flight) and returns it. */
  clear(): T[];
}

interface Waiting<T> {
  readonly item: T;
  readonly tenant: string;
}

/** `project` must never reject: each batch settles its own items. */
export function createBatchWindow<T>(
  maxBatchSize: number,
  project: (batch: T[]) => Promise<void>,
): BatchWindow<T> {
  let waiting: Waiting<T>[] = [];
  /** The loop taking batches; undefined when idle. */
  let running: Promise<void> | undefined;

  function take(): T[] {
    const inOrder = (): T[] => waiting.splice(0, maxBatchSize).map((entry) => entry.item);
    if (waiting.length <= maxBatchSize) return inOrder();
    const lanes = new Map<string, Waiting<T>[]>();
    for (const entry of waiting) {
      const lane = lanes.get(entry.tenant);
      if (lane === undefined) lanes.set(entry.tenant, [entry]);
      else lane.push(entry);
    }
    // One tenant: its turn is the whole batch.
    if (lanes.size === 1) return inOrder();
    const taken = new Set<Waiting<T>>();
    for (let turn = 0; taken.size < maxBatchSize; turn++) {
      const before = taken.size;
      for (const lane of lanes.values()) {
        const entry = lane[turn];
        if (entry !== undefined && taken.size < maxBatchSize) taken.add(entry);
      }
      if (taken.size === before) break;
    }
    const batch = waiting.filter((entry) => taken.has(entry)).map((entry) => entry.item);
    waiting = waiting.filter((entry) => !taken.has(entry));
    return batch;
  }

  async function loop(): Promise<void> {
    // One microtask: a broker's socket read or a bus's pump hands over
    // several items synchronously; they start together.
    await Promise.resolve();
    try {
      while (waiting.length > 0) await project(take());
    } finally {
      running = undefined;
    }
  }

  return {
    add(item, tenant = '') {
      waiting.push({ item, tenant });
      running ??= loop();
    },
    idle: () => running ?? Promise.resolve(),
    clear: () => waiting.splice(0).map((entry) => entry.item),
  };
}
