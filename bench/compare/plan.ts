// The side-by-side benchmark's scenarios, their sizes (full and quick), and
// the targets of the issue, as checks on the medians of one run.
import type { Layout } from './workload.js';

export type ServerId = 'A' | 'B' | 'C';

export const serverLabels: Record<ServerId, string> = {
  A: 'A raw ws',
  B: 'B yoga pubsub',
  C: 'C pokegate',
};

export type Step =
  | { readonly kind: 'memory'; readonly id: string }
  | { readonly kind: 'stream'; readonly id: string; readonly events: number; readonly window: number }
  | { readonly kind: 'paced'; readonly id: string; readonly events: number; readonly ratePerSecond: number }
  | { readonly kind: 'burst'; readonly id: string; readonly versions: number; readonly spreadMs: number }
  | { readonly kind: 'resync'; readonly id: string };

/** Subscribers opened once, then every step run on them. */
export interface Round {
  readonly layout: Layout;
  readonly steps: readonly Step[];
  /**
   * Runs on a new process of each server, stopped after the round: memory is
   * only comparable in a process that has not grown its heap for other work.
   */
  readonly fresh?: boolean;
}

export interface Plan {
  readonly mode: 'full' | 'quick';
  /** Alternating rounds: each repetition runs every server, in a rotating order. */
  readonly repetitions: number;
  /** Subscriptions per load-generator socket (pokegate allows 50). */
  readonly perSocket: number;
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

export function createPlan(mode: 'full' | 'quick'): Plan {
  const full = mode === 'full';
  const hotSmall = full ? 1_000 : 100;
  const hotLarge = full ? 5_000 : 300;
  const keys = full ? 5_000 : 300;
  const burstSubscribers = full ? 100 : 10;
  const versions = full ? 1_000 : 200;
  /** Read-view checks are counted on the layouts the other scenarios open anyway. */
  const checks = [1, burstSubscribers, hotSmall] as const;
  const rate = 500;
  return {
    mode,
    repetitions: full ? 3 : 1,
    perSocket: 10,
    stallMs: 8_000,
    memoryBase: { name: 'memory-base', subscribers: full ? 500 : 50, companies: 'each', prefix: 'base' },
    warmUp: [
      { layout: one(100), steps: [{ kind: 'stream', id: 'warm-up', events: full ? 100 : 20, window: 4 }] },
      {
        layout: each(100),
        steps: [{ kind: 'paced', id: 'warm-up', events: full ? 500 : 100, ratePerSecond: rate }],
      },
    ],
    rounds: [
      { layout: each(keys), steps: [{ kind: 'memory', id: 'idle-memory' }], fresh: true },
      {
        layout: each(keys),
        steps: [
          { kind: 'paced', id: 'many-keys', events: full ? 2_500 : 250, ratePerSecond: rate },
          { kind: 'resync', id: 'resync' },
        ],
      },
      {
        layout: one(hotLarge),
        steps: [{ kind: 'stream', id: 'hot-large', events: full ? 30 : 10, window: 4 }],
      },
      {
        layout: one(hotSmall),
        steps: [
          { kind: 'stream', id: 'hot-small', events: full ? 100 : 20, window: 4 },
          { kind: 'stream', id: `checks-${checks[2]}`, events: full ? 20 : 5, window: 1 },
        ],
      },
      {
        layout: one(burstSubscribers),
        steps: [
          { kind: 'stream', id: `checks-${checks[1]}`, events: full ? 20 : 5, window: 1 },
          { kind: 'burst', id: 'burst', versions, spreadMs: 50 },
        ],
      },
      {
        layout: one(1),
        steps: [{ kind: 'stream', id: `checks-${checks[0]}`, events: full ? 20 : 5, window: 1 }],
      },
    ],
    scenarios: [
      { id: 'hot-small', label: `hot key: 1 company, ${n(hotSmall)} subscribers` },
      { id: 'hot-large', label: `hot key: 1 company, ${n(hotLarge)} subscribers` },
      {
        id: 'many-keys',
        label: `many keys: ${n(keys)} subscribers on ${n(keys)} companies, ${rate} events/s`,
      },
      {
        id: 'burst',
        label: `burst: ${n(versions)} events of one order within 50 ms, ${n(burstSubscribers)} subscribers`,
      },
      { id: 'idle-memory', label: `idle subscriptions: ${n(keys)}` },
      ...checks.map((count) => ({
        id: `checks-${count}`,
        label: `read-view checks: ${n(count)} subscriber${count === 1 ? '' : 's'} of one company`,
      })),
      { id: 'resync', label: `resync: ${n(keys)} receivers (C spreads it over 1 s by design)` },
    ],
  };
}
