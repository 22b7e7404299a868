import type { Queue, QueueAddOptions, RunFunction } from 'p-queue';

export interface FairQueueOptions extends QueueAddOptions {
  /** Whose task it is (a tenant's key): the queue takes one task per key in turn. */
  readonly key?: string;
}

/** One key's tasks in arrival order; `head` skips the taken ones without shifting the array. */
interface Lane {
  readonly runs: (RunFunction | undefined)[];
  head: number;
}

/**
 * A p-queue `queueClass` that is fair across keys: `dequeue` takes the
 * oldest task of each waiting key in turn (round-robin), so a key with
 * thousands of tasks waiting delays another key's task by at most one task
 * per waiting key, not by its whole backlog. Within a key, tasks keep their
 * order. Enqueue and dequeue are O(1).
 */
export class FairQueue implements Queue<RunFunction, FairQueueOptions> {
  /** Keys with tasks waiting, in turn order (a Map keeps insertion order); no empty lane. */
  readonly #lanes = new Map<string, Lane>();
  #size = 0;

  get size(): number {
    return this.#size;
  }

  enqueue(run: RunFunction, options?: Partial<FairQueueOptions>): void {
    const key = options?.key ?? '';
    const lane = this.#lanes.get(key);
    if (lane === undefined) this.#lanes.set(key, { runs: [run], head: 0 });
    else lane.runs.push(run);
    this.#size++;
  }

  dequeue(): RunFunction | undefined {
    const next = this.#lanes.entries().next();
    if (next.done === true) return undefined;
    const [key, lane] = next.value;
    const run = lane.runs[lane.head];
    // Let the taken task be collected before the lane is compacted.
    lane.runs[lane.head] = undefined;
    lane.head++;
    this.#size--;
    // The key goes to the back of the turn order, or away when it has nothing left.
    this.#lanes.delete(key);
    if (lane.head < lane.runs.length) {
      if (lane.head > 1_024 && lane.head * 2 > lane.runs.length) {
        lane.runs.splice(0, lane.head);
        lane.head = 0;
      }
      this.#lanes.set(key, lane);
    }
    return run;
  }

  filter(options: Readonly<Partial<FairQueueOptions>>): RunFunction[] {
    const lanes = options.key === undefined ? [...this.#lanes.values()] : [this.#lanes.get(options.key)];
    return lanes.flatMap((lane) => (lane?.runs.slice(lane.head) ?? []).filter((run) => run !== undefined));
  }

  // The gate neither prioritises nor removes queued tasks: a cancelled job's task runs and returns at once.
  setPriority(): void {
    throw new Error('FairQueue has no priorities');
  }

  remove(): void {
    throw new Error('FairQueue does not remove tasks');
  }
}
