// The load generator's floods: one company's events sent as fast as the
// publisher goes, with a quiet neighbour writing beside it, or with a client
// that stopped reading.
import { eventBook, sleep, type DeliveryResult, type EventBook } from './drivers.js';
import type { BrokerProbe } from './broker-hop.js';
import type { EventSink } from './event-sink.js';
import { now, type SubscriberPool } from './subscribers.js';

/** Events per send: small enough that a timer between two slices still fires on time. */
const sliceSize = 250;

interface Flood {
  readonly runId: string;
  readonly companyId: string;
  readonly events: number;
  /** Subscribers of the company: each event is expected by all of them. */
  readonly expected: number;
}

/** Sends the flood in slices, calling `between` after each; new orders, version 1. */
async function sendFlood(book: EventBook, sink: EventSink, flood: Flood, between: () => void): Promise<void> {
  let sent = 0;
  while (sent < flood.events) {
    const batch = [];
    for (const end = Math.min(flood.events, sent + sliceSize); sent < end; sent++) {
      const orderId = `${flood.runId}-f${sent}`;
      book.add(orderId, flood.expected, 'flood');
      batch.push({ companyId: flood.companyId, orderId, version: 1 });
    }
    sink.send(batch);
    between();
    await new Promise((resolve) => setImmediate(resolve));
  }
}

export interface NoisyParams {
  readonly runId: string;
  /** The flooding company, with one subscriber (the last of the layout), so its end is seen. */
  readonly floodCompanyId: string;
  readonly floodEvents: number;
  /** The quiet company and its subscribers (the first of the layout). */
  readonly quietCompanyId: string;
  readonly quietSubscribers: number;
  readonly quietRatePerSecond: number;
  /** The quiet company writes at least this many events, however short the flood. */
  readonly quietMinEvents: number;
  /** The quiet company stops writing after this, even if the flood is not worked off. */
  readonly maxMs: number;
  readonly stallMs: number;
}

export interface NoisyResult {
  readonly quiet: DeliveryResult;
  readonly flood: DeliveryResult;
  /** Per quiet event, publish → the broker probe's delivery (ms); empty without a probe. */
  readonly quietAtBrokerMs: readonly number[];
}

/** One company floods while another writes at a steady pace: what the quiet one sees. */
export async function noisyNeighbour(
  pool: SubscriberPool,
  sink: EventSink,
  params: NoisyParams,
  probe?: BrokerProbe,
): Promise<NoisyResult> {
  const { runId, quietCompanyId, quietSubscribers, quietRatePerSecond, stallMs } = params;
  const book = eventBook(pool);
  const everyMs = 1_000 / quietRatePerSecond;
  const firstSentAt = now();
  let quiet = 0;
  let nextQuietAt = firstSentAt;
  const sendQuiet = (): void => {
    const orderId = `${runId}-q${quiet++}`;
    book.add(orderId, quietSubscribers, 'quiet');
    sink.send([{ companyId: quietCompanyId, orderId, version: 1 }]);
    nextQuietAt += everyMs;
  };
  sendQuiet();
  const flood = { runId, companyId: params.floodCompanyId, events: params.floodEvents, expected: 1 };
  await sendFlood(book, sink, flood, () => {
    if (now() >= nextQuietAt) sendQuiet();
  });
  // The quiet company goes on writing while the flood is being worked off.
  while (
    (book.completedIn('flood') < params.floodEvents || quiet < params.quietMinEvents) &&
    now() - firstSentAt < params.maxMs
  ) {
    await sleep(Math.max(0, nextQuietAt - now()));
    sendQuiet();
  }
  while (book.completedIn('quiet') < quiet) if (!(await book.progress(stallMs))) break;
  const quietAtBrokerMs: number[] = [];
  for (const [orderId, arrivedAt] of probe?.arrivals ?? []) {
    const sentAt = book.sentAt(orderId);
    if (sentAt !== undefined) quietAtBrokerMs.push(arrivedAt - sentAt);
  }
  return {
    quiet: book.result(firstSentAt, 'quiet'),
    flood: book.result(firstSentAt, 'flood'),
    quietAtBrokerMs,
  };
}

export interface StalledFloodParams {
  readonly runId: string;
  readonly companyId: string;
  /** Subscribers that read: each event is expected by all of them. */
  readonly subscribers: number;
  readonly events: number;
  readonly stallMs: number;
}

/** The pool's stalled client stops reading, then its company floods: what the others see. */
export async function stalledFlood(
  pool: SubscriberPool,
  sink: EventSink,
  params: StalledFloodParams,
): Promise<DeliveryResult> {
  const { runId, companyId, subscribers, events, stallMs } = params;
  pool.stall();
  const book = eventBook(pool);
  const firstSentAt = now();
  await sendFlood(book, sink, { runId, companyId, events, expected: subscribers }, () => undefined);
  while (book.completed < events) if (!(await book.progress(stallMs))) break;
  return book.result(firstSentAt);
}
