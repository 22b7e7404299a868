// The side-by-side benchmark's scenarios, their sizes (full and quick), and
// the targets of the issue, as checks on the medians of one run.
import type { FloorQueueType } from './broker-floor.js';
import type { ArrivalMode } from './paced-publisher.js';
import type { Layout } from './workload.js';

export type ServerId = 'A' | 'B' | 'C';

export const serverLabels: Record<ServerId, string> = {
  A: 'A raw ws',
  B: 'B yoga pubsub',
  C: 'C pokegate',
};

export type Step =
  | { readonly kind: 'memory'; readonly id: string }
  | {
      readonly kind: 'stream';
      readonly id: string;
      readonly events: number;
      readonly window: number;
      /** Also measures the broker hop alone (round trips through C's exchange), to set first delivery against. */
      readonly hopSamples?: number;
      /**
       * Then this many events more, one in flight: the first delivery as a
       * client sees it that is not still reading the fan-outs before it.
       */
      readonly aloneEvents?: number;
    }
  | {
      readonly kind: 'paced';
      readonly id: string;
      readonly events: number;
      readonly ratePerSecond: number;
      /** Also counts PostgreSQL's and RabbitMQ's CPU per event, from /proc. */
      readonly externalCpu?: boolean;
    }
  | {
      readonly kind: 'knee';
      readonly id: string;
      /** Paced runs at these rates, in order, until one misses the limit. */
      readonly ratesPerSecond: readonly number[];
      /** Each rate runs this long, and for at least `minEvents`. */
      readonly seconds: number;
      readonly minEvents: number;
      readonly p99LimitMs: number;
    }
  | {
      readonly kind: 'noisy';
      readonly id: string;
      readonly floodEvents: number;
      readonly quietRatePerSecond: number;
      readonly quietMinEvents: number;
      readonly maxMs: number;
    }
  | { readonly kind: 'flood'; readonly id: string; readonly events: number }
  | { readonly kind: 'burst'; readonly id: string; readonly versions: number; readonly spreadMs: number }
  | { readonly kind: 'resync'; readonly id: string }
  | {
      readonly kind: 'queue-types';
      readonly id: string;
      /** Each type's floor at each rate: RabbitMQ's CPU per event and the confirms' lag. */
      readonly queueTypes: readonly FloorQueueType[];
      readonly ratesPerSecond: readonly number[];
      readonly seconds: number;
    };

/** Subscribers opened once, then every step run on them. */
export interface Round {
  readonly layout: Layout;
  /** Subscriptions per load-generator socket: 1 as a browser tab opens, or several (pokegate allows 50). */
  readonly perSocket: number;
  readonly steps: readonly Step[];
  /**
   * Runs on a new process of each server, stopped after the round: memory is
   * only comparable in a process that has not grown its heap for other work.
   */
  readonly fresh?: boolean;
  /** Only these servers (the others have nothing to measure). @default all */
  readonly servers?: readonly ServerId[];
  /**
   * Extra environment of the fresh process, which then runs on a broker
   * virtual host and a database of its own (no other replica shares its work).
   */
  readonly env?: Readonly<Record<string, string>>;
}

export interface Plan {
  readonly mode: 'full' | 'quick';
  /** How every paced step's events arrive (see `ArrivalMode`). */
  readonly arrival: ArrivalMode;
  /** Alternating rounds: each repetition runs every server, in a rotating order. */
  readonly repetitions: number;
  /** Nothing arrived for this long: what is missing is lost. Above the gate's 5 s budget. */
  readonly stallMs: number;
  /** Run on each server before the measured rounds, unmeasured: the JIT's first compiles. */
  readonly warmUp: readonly Round[];
  /**
   * Idle subscriptions opened before memory is measured, on other companies,
   * and kept open: what is measured is the cost of each further one, not the
   * process's first-time costs (code, heap reservations).
   */
  readonly memoryBase: Layout;
  readonly rounds: readonly Round[];
  /** Human names of the scenarios, in the order of the table. */
  readonly scenarios: readonly { readonly id: string; readonly label: string }[];
}

const one = (subscribers: number): Layout => ({ name: `one-${subscribers}`, subscribers, companies: 'one' });
const each = (subscribers: number): Layout => ({
  name: `each-${subscribers}`,
  subscribers,
  companies: 'each',
});

const n = (value: number): string => value.toLocaleString('en-US');

/**
 * The floods run without B: yoga's pubsub holds at most 1,024 events per
 * subscription waiting for its filter, and throws past that, which ends the
 * process.
 */
const floodServers: readonly ServerId[] = ['A', 'C'];

/** The many-keys rates; only the first in a quick run (the others overload today's C by design). */
const manyKeysRates = [500, 2_000, 5_000] as const;

export interface PlanOptions {
  /** @default 'even' */
  readonly arrival?: ArrivalMode | undefined;
  /** How long each many-keys rate and each knee rate runs in a full run. @default 5 */
  readonly seconds?: number | undefined;
  /** @default 3 in a full run, 1 in a quick one */
  readonly repetitions?: number | undefined;
}

export function createPlan(mode: 'full' | 'quick', options: PlanOptions = {}): Plan {
  const full = mode === 'full';
  const { arrival = 'even', seconds = 5, repetitions = full ? 3 : 1 } = options;
  const hotSmall = full ? 1_000 : 100;
  const hotLarge = full ? 5_000 : 300;
  const keys = full ? 5_000 : 300;
  const burstSubscribers = full ? 100 : 10;
  const versions = full ? 1_000 : 200;
  const floodEvents = full ? 5_000 : 1_000;
  const stalledEvents = full ? 3_000 : 500;
  const floodReaders = 10;
  const stalledSubscriptions = 20;
  const kneeRates = full ? [500, 1_000, 2_000, 3_000, 5_000, 8_000] : [500, 1_000, 2_000];
  /** Read-view checks are counted on the layouts the other scenarios open anyway. */
  const checks = [1, burstSubscribers, hotSmall] as const;
  const rate = 500;
  const rates = full ? manyKeysRates : manyKeysRates.slice(0, 1);
  const manyKeys = (suffix: string): Step[] =>
    rates.map((ratePerSecond) => ({
      kind: 'paced',
      id: `many-keys-${ratePerSecond}${suffix}`,
      // Long enough that an overloaded rate shows its backlog growing, not only its first seconds.
      events: full ? seconds * ratePerSecond : 250,
      ratePerSecond,
      ...(ratePerSecond === rate && suffix === '' ? { externalCpu: true } : {}),
    }));
  const manyKeysLabel = (ratePerSecond: number, perSocket: number): string =>
    `many keys: ${n(keys)} companies × 1 subscriber, ${n(ratePerSecond)} events/s, ${perSocket} per socket`;
  return {
    mode,
    arrival,
    repetitions,
    stallMs: 8_000,
    memoryBase: { name: 'memory-base', subscribers: full ? 500 : 50, companies: 'each', prefix: 'base' },
    warmUp: [
      {
        layout: one(100),
        perSocket: 10,
        steps: [{ kind: 'stream', id: 'warm-up', events: full ? 100 : 20, window: 4 }],
      },
      {
        layout: each(100),
        perSocket: 10,
        steps: [{ kind: 'paced', id: 'warm-up', events: full ? 500 : 100, ratePerSecond: rate }],
      },
    ],
    rounds: [
      { layout: each(keys), perSocket: 10, steps: [{ kind: 'memory', id: 'idle-memory' }], fresh: true },
      { layout: each(keys), perSocket: 1, steps: [{ kind: 'memory', id: 'idle-memory-1' }], fresh: true },
      {
        layout: each(keys),
        perSocket: 10,
        steps: [
          ...manyKeys(''),
          {
            kind: 'knee',
            id: 'knee',
            ratesPerSecond: kneeRates,
            seconds: full ? seconds : 1,
            minEvents: full ? 1_000 : 250,
            p99LimitMs: 100,
          },
          { kind: 'resync', id: 'resync' },
        ],
      },
      { layout: each(keys), perSocket: 1, steps: manyKeys('-1') },
      {
        layout: { ...one(10), name: 'noisy', extra: ['flood'] },
        perSocket: 1,
        servers: floodServers,
        steps: [
          {
            kind: 'noisy',
            id: 'noisy',
            floodEvents,
            quietRatePerSecond: 10,
            quietMinEvents: 20,
            maxMs: full ? 30_000 : 10_000,
          },
        ],
      },
      {
        layout: { ...one(floodReaders), name: 'stalled', stalled: stalledSubscriptions },
        perSocket: 1,
        servers: floodServers,
        steps: [{ kind: 'flood', id: 'stalled-flood', events: stalledEvents }],
      },
      {
        layout: one(hotLarge),
        perSocket: 1,
        steps: [{ kind: 'stream', id: 'hot-large', events: full ? 30 : 10, window: 4 }],
      },
      {
        layout: one(hotSmall),
        perSocket: 1,
        steps: [
          {
            kind: 'stream',
            id: 'hot-small',
            events: full ? 100 : 20,
            window: 4,
            hopSamples: full ? 200 : 50,
            aloneEvents: full ? 40 : 10,
          },
          { kind: 'stream', id: `checks-${checks[2]}`, events: full ? 20 : 5, window: 1 },
        ],
      },
      {
        layout: one(burstSubscribers),
        perSocket: 10,
        steps: [
          { kind: 'stream', id: `checks-${checks[1]}`, events: full ? 20 : 5, window: 1 },
          { kind: 'burst', id: 'burst', versions, spreadMs: 50 },
        ],
      },
      {
        layout: one(1),
        perSocket: 1,
        steps: [{ kind: 'stream', id: `checks-${checks[0]}`, events: full ? 20 : 5, window: 1 }],
      },
      {
        layout: { name: 'no-subscribers', subscribers: 0, companies: 'each' },
        perSocket: 1,
        servers: ['C'],
        steps: [
          {
            kind: 'queue-types',
            id: 'queue-types',
            queueTypes: ['classic', 'classic-v2', 'quorum', 'stream'],
            ratesPerSecond: full ? [500, 5_000] : [500],
            seconds: full ? 4 : 1,
          },
        ],
      },
      {
        layout: one(1),
        perSocket: 1,
        fresh: true,
        servers: ['C'],
        env: { PROJECTION_DELAY_MS: '150' },
        steps: [{ kind: 'stream', id: 'checks-lag', events: full ? 20 : 5, window: 1 }],
      },
    ],
    scenarios: [
      { id: 'hot-small', label: `hot key: 1 company, ${n(hotSmall)} subscribers, 1 per socket` },
      { id: 'hot-large', label: `hot key: 1 company, ${n(hotLarge)} subscribers, 1 per socket` },
      ...rates.map((r) => ({ id: `many-keys-${r}`, label: manyKeysLabel(r, 10) })),
      ...rates.map((r) => ({ id: `many-keys-${r}-1`, label: manyKeysLabel(r, 1) })),
      {
        id: 'knee',
        label: `knee: many keys at ${kneeRates.map(n).join(', ')} events/s, until p99 > 100 ms or a poke is lost`,
      },
      {
        id: 'noisy',
        label: `noisy neighbour: one company floods ${n(floodEvents)} events, another (${floodReaders} subscribers) writes 10/s (B: its pubsub throws past 1,024 queued events)`,
      },
      {
        id: 'stalled-flood',
        label: `flood of ${n(stalledEvents)} events while a client with ${stalledSubscriptions} subscriptions on one socket stops reading (${floodReaders} others read; B: as above)`,
      },
      {
        id: 'burst',
        label: `burst: ${n(versions)} events of one order within 50 ms, ${n(burstSubscribers)} subscribers`,
      },
      { id: 'idle-memory', label: `idle subscriptions: ${n(keys)}, 10 per socket` },
      { id: 'idle-memory-1', label: `idle subscriptions: ${n(keys)}, 1 per socket` },
      ...checks.map((count) => ({
        id: `checks-${count}`,
        label: `read-view checks: ${n(count)} subscriber${count === 1 ? '' : 's'} of one company`,
      })),
      { id: 'checks-lag', label: 'read-view checks: 1 subscriber, projection lagging 150 ms (C only)' },
      { id: 'resync', label: `resync: ${n(keys)} receivers (C spreads it over 1 s by design)` },
      {
        id: 'queue-types',
        label: "the broker floor by durable queue type (C's broker only): RabbitMQ CPU per event, confirms",
      },
    ],
  };
}
