// The load generator's workloads. Each sends events through a sink, records
// every poke the subscribers get, and stops at the last expected delivery or
// once nothing has arrived for `stallMs` (what is missing then is lost).
import { percentile } from '../table.js';
import type { EventSink } from './event-sink.js';
import type { ArrivalMode, PacedPublisher, PacedRun } from './paced-publisher.js';
import { now, type PokeListener, type SubscriberPool } from './subscribers.js';
import type { ControlEvent } from './workload.js';

/** Waits for `notify`, or gives up after a timeout; a notify before the wait is not missed. */
export class Wakeup {
  #pending = false;
  #wake: (() => void) | undefined;

  notify(): void {
    this.#pending = true;
    this.#wake?.();
  }

  /** True when notified, false when `timeoutMs` passed first. */
  async wait(timeoutMs: number): Promise<boolean> {
    if (!this.#pending) {
      let timer: NodeJS.Timeout | undefined;
      await new Promise<void>((resolve) => {
        this.#wake = resolve;
        timer = setTimeout(resolve, timeoutMs);
      });
      clearTimeout(timer);
      this.#wake = undefined;
    }
    const woken = this.#pending;
    this.#pending = false;
    return woken;
  }
}

export const sleep = (ms: number): Promise<void> => new Promise((resolve) => setTimeout(resolve, ms));

/**
 * Waits for `wakeup`; false only once nothing has arrived for `stallMs` (a
 * slow server that still delivers is waited for; a silent one is not).
 */
export async function progress(
  wakeup: Wakeup,
  stallMs: number,
  lastArrivalAt: () => number,
): Promise<boolean> {
  for (;;) {
    if (await wakeup.wait(stallMs)) return true;
    if (now() - lastArrivalAt() >= stallMs) return false;
  }
}

/** What a run of events saw; times are epoch ms. */
export interface DeliveryResult {
  readonly events: number;
  readonly expected: number;
  readonly deliveries: number;
  readonly duplicates: number;
  readonly lost: number;
  /** Pokes nobody expected (another order, another run). */
  readonly unexpected: number;
  readonly firstSentAt: number;
  readonly lastArrivalAt: number;
  /** Per event that reached all its subscribers: from its send to its last delivery, ms. */
  readonly toLastDeliveryMs: readonly number[];
  /** Per event that reached any subscriber: from its send to its first delivery, ms. */
  readonly toFirstDeliveryMs: readonly number[];
  /** The last event sent, epoch ms. */
  readonly lastSentAt: number;
  /** How a paced run's events arrived at the server. */
  readonly arrival?: ArrivalPattern;
}

/** How a paced run's events arrived: the publisher's side of every figure. */
export interface ArrivalPattern {
  /** Between consecutive publishes, ms. */
  readonly gapP50Ms: number;
  readonly gapP99Ms: number;
  /** The most events published in one turn, i.e. one write to the socket. */
  readonly maxPerTurn: number;
  /** The last publish → the broker's confirm of everything, ms (0 for the baselines). */
  readonly confirmLagMs: number;
  /** The rate achieved, from the first publish to the last. */
  readonly ratePerSecond: number;
}

interface EventRecord {
  sentAt: number;
  readonly expected: number;
  /** Which part of a workload it belongs to (the noisy neighbour's flood or its quiet company). */
  readonly group: string;
  count: number;
  firstAt: number;
  lastAt: number;
}

export type EventBook = ReturnType<typeof eventBook>;

/** Events keyed by order id, each expected by a known number of subscribers. */
export function eventBook(pool: SubscriberPool) {
  const records = new Map<string, EventRecord>();
  const completion = new Wakeup();
  const completedBy = new Map<string, number>();
  let completed = 0;
  let unexpected = 0;
  let lastArrivalAt = 0;
  let lastSentAt = 0;
  pool.listener = (_subscriber, poke, at) => {
    const record = poke.orderId === null ? undefined : records.get(poke.orderId);
    if (record === undefined) {
      unexpected++;
      return;
    }
    lastArrivalAt = at;
    if (record.count === 0) record.firstAt = at;
    if (++record.count === record.expected) {
      record.lastAt = at;
      completed++;
      completedBy.set(record.group, (completedBy.get(record.group) ?? 0) + 1);
      completion.notify();
    }
  };
  return {
    add(orderId: string, expected: number, group = ''): void {
      lastSentAt = now();
      records.set(orderId, { sentAt: lastSentAt, expected, group, count: 0, firstAt: 0, lastAt: 0 });
    },
    /** Expects a poke for `orderId` whose send another thread times: see `sent`. */
    expect(orderId: string, expected: number): void {
      records.set(orderId, { sentAt: NaN, expected, group: '', count: 0, firstAt: 0, lastAt: 0 });
    },
    /** When an expected event was sent, as its publisher timed it. */
    sent(orderId: string, at: number): void {
      const record = records.get(orderId);
      if (record !== undefined) record.sentAt = at;
      lastSentAt = Math.max(lastSentAt, at);
    },
    /** When `orderId`'s event was sent, if it was booked. */
    sentAt: (orderId: string): number | undefined => records.get(orderId)?.sentAt,
    get completed() {
      return completed;
    },
    completedIn: (group: string): number => completedBy.get(group) ?? 0,
    get lastArrivalAt() {
      return lastArrivalAt;
    },
    /** Waits for the next completion; false once nothing at all has arrived for `stallMs`. */
    progress: (stallMs: number) => progress(completion, stallMs, () => lastArrivalAt),
    /** What the events of `group` (all when absent) saw. */
    result(firstSentAt: number, group?: string): DeliveryResult {
      let deliveries = 0;
      let duplicates = 0;
      let expected = 0;
      let events = 0;
      let groupLastSentAt = 0;
      let groupLastArrivalAt = 0;
      const toLast: number[] = [];
      const toFirst: number[] = [];
      for (const record of records.values()) {
        if (group !== undefined && record.group !== group) continue;
        events++;
        groupLastSentAt = Math.max(groupLastSentAt, record.sentAt);
        expected += record.expected;
        deliveries += Math.min(record.count, record.expected);
        duplicates += Math.max(0, record.count - record.expected);
        if (record.count > 0) toFirst.push(record.firstAt - record.sentAt);
        if (record.count >= record.expected) {
          toLast.push(record.lastAt - record.sentAt);
          groupLastArrivalAt = Math.max(groupLastArrivalAt, record.lastAt);
        }
      }
      return {
        events,
        expected,
        deliveries,
        duplicates,
        lost: expected - deliveries,
        unexpected,
        firstSentAt,
        lastArrivalAt: group === undefined ? lastArrivalAt : groupLastArrivalAt,
        toLastDeliveryMs: toLast,
        toFirstDeliveryMs: toFirst,
        lastSentAt: group === undefined ? lastSentAt : groupLastSentAt,
      };
    },
  };
}

export interface StreamParams {
  readonly runId: string;
  readonly companyId: string;
  /** Subscribers of `companyId`: each event is expected by all of them. */
  readonly subscribers: number;
  readonly events: number;
  /** Events in flight at most: the next is sent when one has reached every subscriber. */
  readonly window: number;
  readonly stallMs: number;
}

/** A closed loop of new orders of one company. */
export async function stream(
  pool: SubscriberPool,
  sink: EventSink,
  params: StreamParams,
): Promise<DeliveryResult> {
  const { runId, companyId, subscribers, events, window, stallMs } = params;
  const book = eventBook(pool);
  const firstSentAt = now();
  let sent = 0;
  while (sent < events) {
    while (sent < events && sent - book.completed < window) {
      const orderId = `${runId}-o${sent++}`;
      book.add(orderId, subscribers);
      sink.send([{ companyId, orderId, version: 1 }]);
    }
    if (!(await book.progress(stallMs))) break;
  }
  while (book.completed < sent) if (!(await book.progress(stallMs))) break;
  return book.result(firstSentAt);
}

export interface PacedParams {
  readonly runId: string;
  /** Companies `c0` … `c<companies - 1>`. */
  readonly companies: number;
  /** Subscribers of each company: each event is expected by that many. @default 1 */
  readonly perCompany?: number;
  readonly events: number;
  readonly ratePerSecond: number;
  readonly stallMs: number;
  /** @default 'even' */
  readonly arrival?: ArrivalMode;
}

/** An open loop at a fixed rate, each event for another company, spread over all of them. */
export async function paced(
  pool: SubscriberPool,
  publisher: PacedPublisher,
  params: PacedParams,
  /** Also hears every poke, after the book has counted it. */
  onPoke?: PokeListener,
): Promise<DeliveryResult> {
  const { runId, companies, events, ratePerSecond, stallMs, arrival = 'even', perCompany = 1 } = params;
  const book = eventBook(pool);
  if (onPoke !== undefined) {
    const count = pool.listener;
    pool.listener = (subscriber, poke, at) => {
      count(subscriber, poke, at);
      onPoke(subscriber, poke, at);
    };
  }
  const batch = pacedEvents(runId, events, companies);
  for (const { orderId } of batch) book.expect(orderId, perCompany);
  const running = publisher.run(batch, ratePerSecond, arrival);
  let published: PacedRun | undefined;
  let failed: unknown;
  running.then(
    (run) => (published = run),
    (error: unknown) => (failed = error),
  );
  // Waits while events are still going out, and after, until every poke came or none for `stallMs`.
  while (book.completed < events && failed === undefined) {
    if (!(await book.progress(stallMs)) && published !== undefined) break;
  }
  const run = published ?? (await running);
  batch.forEach(({ orderId }, i) => book.sent(orderId, run.sentAt[i] ?? NaN));
  return { ...book.result(run.sentAt[0] ?? now()), arrival: arrivalOf(run) };
}

/** Events for `companies` companies, `c0` … in scattered order, as the paced runs send them. */
function pacedEvents(runId: string, events: number, companies: number): ControlEvent[] {
  // A stride coprime with the company count visits every company once per round, in scattered order.
  const stride = 7_919;
  return Array.from({ length: events }, (_, i) => ({
    companyId: `c${(i * stride) % companies}`,
    orderId: `${runId}-o${i}`,
    version: 1,
  }));
}

/** How a run's events went out. */
function arrivalOf(run: PacedRun): ArrivalPattern {
  const first = run.sentAt[0] ?? NaN;
  const gaps = Array.from(run.sentAt.subarray(1), (at, i) => at - (run.sentAt[i] ?? at));
  const spanMs = (run.sentAt.at(-1) ?? first) - first;
  return {
    gapP50Ms: percentile(gaps, 50),
    gapP99Ms: percentile(gaps, 99),
    maxPerTurn: run.maxPerTurn,
    confirmLagMs: run.confirmLagMs,
    ratePerSecond: spanMs > 0 ? (gaps.length / spanMs) * 1_000 : NaN,
  };
}

/** Paced events that no subscriber waits for (the broker floor's); resolves once all are confirmed. */
export async function publishOnly(
  publisher: PacedPublisher,
  runId: string,
  events: number,
  ratePerSecond: number,
): Promise<ArrivalPattern> {
  return arrivalOf(await publisher.run(pacedEvents(runId, events, 5_000), ratePerSecond, 'even'));
}

export interface BurstParams {
  readonly companyId: string;
  readonly orderId: string;
  readonly subscribers: number;
  /** Versions 1 … `versions` of one order. */
  readonly versions: number;
  readonly spreadMs: number;
  readonly stallMs: number;
}

export interface BurstResult {
  readonly pokes: number;
  readonly maxPokesPerSubscriber: number;
  /** Subscribers that never got a poke for the last version. */
  readonly lost: number;
  /** Pokes that arrived after one for the last version (none expected). */
  readonly late: number;
  readonly firstSentAt: number;
  readonly lastSentAt: number;
  /** The last subscriber's first poke for the last version. */
  readonly lastFinalAt: number;
  /** When the server had every event (the broker's confirm of the last publish, for pokegate). */
  readonly lastConfirmedAt: number;
  readonly unexpected: number;
}

/** Every version of one order within `spreadMs`: coalescing, in a nutshell. */
export async function burst(
  pool: SubscriberPool,
  sink: EventSink,
  params: BurstParams,
): Promise<BurstResult> {
  const { companyId, orderId, subscribers, versions, spreadMs, stallMs } = params;
  const counts = new Uint32Array(subscribers);
  const finalAt = new Float64Array(subscribers);
  const done = new Wakeup();
  let finals = 0;
  let late = 0;
  let unexpected = 0;
  let lastArrivalAt = now();
  pool.listener = (subscriber, poke, at) => {
    if (poke.orderId !== orderId || subscriber >= subscribers) {
      unexpected++;
      return;
    }
    lastArrivalAt = at;
    counts[subscriber] = (counts[subscriber] ?? 0) + 1;
    if (finalAt[subscriber] !== 0) late++;
    else if ((poke.version ?? 0) >= versions) {
      finalAt[subscriber] = at;
      if (++finals === subscribers) done.notify();
    }
  };
  const firstSentAt = now();
  let lastSentAt = firstSentAt;
  let sent = 0;
  for (let tick = 0; sent < versions && tick < 10_000; tick++) {
    const due = Math.min(versions, Math.floor(((now() - firstSentAt) / spreadMs) * versions) + 1);
    const batch = [];
    for (; sent < due; sent++) batch.push({ companyId, orderId, version: sent + 1 });
    if (batch.length > 0) {
      lastSentAt = now();
      sink.send(batch);
    }
    if (sent < versions) await sleep(1);
  }
  const lastConfirmedAt = await sink.confirmed();
  lastArrivalAt = now();
  while (finals < subscribers) if (!(await progress(done, stallMs, () => lastArrivalAt))) break;
  // Anything after the last version's poke would be a poke too many: give it a moment to show.
  await sleep(200);
  let pokes = 0;
  let max = 0;
  for (const count of counts) {
    pokes += count;
    max = Math.max(max, count);
  }
  return {
    pokes,
    maxPokesPerSubscriber: max,
    lost: subscribers - finals,
    late,
    firstSentAt,
    lastSentAt,
    lastFinalAt: Math.max(...finalAt),
    lastConfirmedAt,
    unexpected,
  };
}

export interface ResyncResult {
  /** Arrival of each subscriber's resync poke, sorted. */
  readonly arrivals: readonly number[];
  readonly duplicates: number;
  readonly lost: number;
  readonly unexpected: number;
}

/**
 * Arms the recording of resync pokes (`orderId: null`) for `subscribers`;
 * the returned function waits for them, after the caller has triggered the resync.
 */
export function armResync(
  pool: SubscriberPool,
  subscribers: number,
  stallMs: number,
): () => Promise<ResyncResult> {
  const got = new Uint8Array(subscribers);
  const arrivals: number[] = [];
  const done = new Wakeup();
  let duplicates = 0;
  let unexpected = 0;
  let lastArrivalAt = now();
  pool.listener = (subscriber, poke, at) => {
    if (poke.orderId !== null || subscriber >= subscribers) {
      unexpected++;
      return;
    }
    lastArrivalAt = at;
    if (got[subscriber] === 1) {
      duplicates++;
      return;
    }
    got[subscriber] = 1;
    arrivals.push(at);
    if (arrivals.length === subscribers) done.notify();
  };
  return async () => {
    lastArrivalAt = now();
    while (arrivals.length < subscribers) if (!(await progress(done, stallMs, () => lastArrivalAt))) break;
    return {
      arrivals: arrivals.sort((a, b) => a - b),
      duplicates,
      lost: subscribers - arrivals.length,
      unexpected,
    };
  };
}
