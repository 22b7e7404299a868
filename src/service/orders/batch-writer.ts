import { abortReason } from 'pokegate';
import type { OrderEvent } from './events.js';
import { orderIds, planBatch, type ApplyResult, type OrderWrite, type StoredOrder } from './batch-plan.js';
import { commitNotices } from './commit-notice.js';
import type { KnownStates } from './known-states.js';
import type { OrderStatements } from './order-sql.js';
import type { SqlClient } from './sql-client.js';

// How the read view writes a batch of orders events: planned on the rows as
// read and written in one statement that only writes rows still as planned;
// the orders another replica changed meanwhile go again, in a transaction
// that locks their rows. `batch-plan.ts` decides what to write; this file
// decides how, and tells the known states what landed.

/** Another replica placed an order of the batch after the batch's lock: redo it with that row locked. */
class PlacementRace extends Error {}

/** PostgreSQL's deadlock and serialization failures: the statement rolled back, and may be run again. */
function isLockConflict(error: unknown): boolean {
  const code = (error as { code?: unknown } | null)?.code;
  return code === '40P01' || code === '40001';
}

function throwIfAborted(signal: AbortSignal | undefined): void {
  if (signal?.aborted === true) throw abortReason(signal);
}

/** Writes batches through one client; every write that lands is remembered in `known`. */
export class BatchWriter {
  readonly #client: SqlClient;
  readonly #sql: OrderStatements;
  readonly #known: KnownStates;

  constructor(client: SqlClient, sql: OrderStatements, known: KnownStates) {
    this.#client = client;
    this.#sql = sql;
    this.#known = known;
  }

  /** The contract of `ReadView.applyBatch`: one result per event, in order. */
  async apply(events: readonly OrderEvent[], signal: AbortSignal | undefined): Promise<ApplyResult[]> {
    if (events.length === 0) return [];
    let results: ApplyResult[];
    let retry: number[];
    try {
      ({ results, retry } = await this.#applyOptimistically(events, signal));
    } catch (error) {
      // Two replicas' unlocked writes of overlapping rows can meet in a cycle; the statement rolled back whole.
      if (!isLockConflict(error)) throw error;
      results = [];
      retry = events.map((_, i) => i);
    }
    if (retry.length === 0) return results;
    const retried = await this.#applyLocked(
      retry.map((i) => events[i] as OrderEvent),
      signal,
    );
    retry.forEach((index, i) => {
      results[index] = retried[i] as ApplyResult;
    });
    return results;
  }

  /**
   * The batch planned on unlocked rows and written if they are still as
   * read. Returns the indexes of the events of the orders whose write did
   * not land: they need the locked path.
   */
  async #applyOptimistically(
    events: readonly OrderEvent[],
    signal: AbortSignal | undefined,
  ): Promise<{ results: ApplyResult[]; retry: number[] }> {
    // An order the batch only places needs no read: the write places it only if it is still absent.
    const ids = orderIds(events);
    const unseen = new Set(ids);
    for (const event of events) if (event.type !== 'OrderPlaced') unseen.delete(event.orderId);
    const read = ids.filter((id) => !unseen.has(id));
    const stored = read.length === 0 ? [] : await this.#client.query<StoredOrder>(this.#sql.rows, [read]);
    const planned = planBatch(events, new Map(stored.map((row) => [row.id, row])));
    if (planned.writes.length === 0) return { results: planned.results, retry: [] };
    throwIfAborted(signal);
    const landed = await this.#write(this.#client.query, planned.writes);
    // Each statement commits on its own: what landed is visible now.
    this.#rememberWrites(planned.writes, landed);
    const missed = new Set(planned.writes.filter((write) => !landed.has(write.id)).map((write) => write.id));
    const retry: number[] = [];
    if (missed.size > 0) {
      for (const [i, event] of events.entries()) if (missed.has(event.orderId)) retry.push(i);
    }
    return { results: planned.results, retry };
  }

  /** The batch in one transaction, its rows locked while they are compared and written. */
  async #applyLocked(events: readonly OrderEvent[], signal: AbortSignal | undefined): Promise<ApplyResult[]> {
    // The race is rare and, once its rows exist, cannot recur for them.
    for (let attempt = 1; ; attempt++) {
      try {
        const { results, writes } = await this.#client.transaction((query) =>
          this.#applyBatchIn(query, events, signal),
        );
        this.#rememberWrites(writes, new Set(writes.map((write) => write.id)));
        return results;
      } catch (error) {
        if (!(error instanceof PlacementRace) || attempt === 2) throw error;
      }
    }
  }

  /** The locked batch's results, and its writes (all landed, or it throws). */
  async #applyBatchIn(
    query: SqlClient['query'],
    events: readonly OrderEvent[],
    signal: AbortSignal | undefined,
  ): Promise<{ results: ApplyResult[]; writes: readonly OrderWrite[] }> {
    const locked = await query<StoredOrder>(this.#sql.lock, [orderIds(events)]);
    const { results, writes } = planBatch(events, new Map(locked.map((row) => [row.id, row])));
    if (writes.length === 0) return { results, writes };
    // Aborted (the projector gave up on this try): roll back rather than
    // write after the caller has moved on.
    throwIfAborted(signal);
    const landed = await this.#write(query, writes);
    const placements = writes.filter((write) => write.expected === 0);
    const placed = placements.filter((write) => landed.has(write.id)).length;
    if (placed !== placements.length) {
      throw new PlacementRace(`${placements.length - placed} order(s) placed meanwhile`);
    }
    if (landed.size !== writes.length) {
      throw new Error(`${writes.length - landed.size} order(s) changed under their row locks`);
    }
    return { results, writes };
  }

  #rememberWrites(writes: readonly OrderWrite[], landed: ReadonlySet<string>): void {
    for (const { id, version, removed } of writes) {
      if (landed.has(id)) this.#known.remember(id, { version, removed });
    }
  }

  /** Writes the rows still as planned, announcing them; returns the ids of those written. */
  async #write(query: SqlClient['query'], planned: readonly OrderWrite[]): Promise<Set<string>> {
    // In id order, like the locks: two replicas placing the same new orders
    // wait for each other's inserts in one order, and never in a cycle.
    const writes = [...planned].sort((a, b) => (a.id < b.id ? -1 : a.id > b.id ? 1 : 0));
    const { notices, chunks } = commitNotices(
      writes.map((w) => ({ companyId: w.companyId, orderId: w.id, version: w.version, removed: w.removed })),
    );
    const [row] = await query<{ landed: string[] }>(this.#sql.write, [
      writes.map((w) => w.id),
      writes.map((w) => w.companyId),
      writes.map((w) => w.status),
      writes.map((w) => w.total),
      writes.map((w) => w.version),
      writes.map((w) => w.removed),
      writes.map((w) => w.placedAt),
      writes.map((w) => w.updatedAt),
      writes.map((w) => w.expected),
      this.#sql.channel,
      notices,
      chunks,
    ]);
    return new Set(row?.landed ?? []);
  }
}
