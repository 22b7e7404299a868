import type { BackoffOptions } from '../common/backoff.js';
import type { Clock } from '../common/clock.js';
import type { Observer, SafeObserver, SkipReason } from './observer.js';

// The gate's public contract: what a submission is, what it yields, and the options.

/** What a producer gets on each run. */
export interface ProducerContext {
  /** Aborts when the submission's budget is spent or its registry is disposed. */
  readonly signal: AbortSignal;
  /** 1 on the first run of a submission. */
  readonly attempt: number;
}

/**
 * Checks the read view. A value means "visible now: poke with this";
 * `undefined` means "not visible yet: ask again later"; a throw is a transient
 * read error, retried within the same budget.
 */
export type Producer<T> = (context: ProducerContext) => T | undefined | PromiseLike<T | undefined>;

export type SubmitResult<T> =
  | {
      readonly status: 'delivered';
      readonly value: T;
      /** Receivers the fan-out reached, including those that dropped the poke. */
      readonly receivers: number;
      readonly attempts: number;
    }
  | { readonly status: 'skipped'; readonly reason: SkipReason; readonly error?: Error };

/** The registry side of a submission, as the gate sees it. */
export interface GateClient<T> {
  readonly name: string;
  hasReceivers(keys: readonly string[]): boolean;
  /**
   * Called by the gate once `value` is visible: fans it out to the receivers
   * of `keys`; returns the receivers reached.
   */
  fanOut(keys: readonly string[], value: T): number;
}

export interface GateTask<T> {
  readonly client: GateClient<T>;
  readonly keys: readonly string[];
  readonly producer: Producer<T>;
  /** Submissions of one client with the same coalesce id replace each other while waiting. */
  readonly coalesceId?: string | undefined;
  /** When the event happened (epoch ms), for the visibility-lag metric. */
  readonly occurredAt?: number | undefined;
  /** The version the producer waits for, matched against `progress` reports (see `Registry.submit`). */
  readonly version?: number | undefined;
}

export interface GateOptions {
  /**
   * Producers running at once, across every registry the gate serves. Keep it
   * at or under the read view's connection pool. Minimum: 1.
   * @default 8
   */
  readonly concurrency?: number;
  /**
   * Submissions waiting for a worker or for their next check. A submission
   * beyond it is skipped as `overloaded`. Minimum: 1; `Infinity` lifts the bound.
   * @default 10000
   */
  readonly maxQueued?: number;
  /**
   * The whole budget of a submission, from the moment `submit` accepts it
   * (before it waits for a worker) to the fan-out: queueing, every check and
   * every backoff wait count. When it is spent the producer's signal aborts,
   * the submission is skipped as `timeout` (or `error` if the last check
   * threw) and nothing is sent. Minimum: 1.
   * @default 5000
   */
  readonly timeoutMs?: number;
  /**
   * The wait between two checks of one submission.
   * @default { minDelayMs: 10, maxDelayMs: 500, factor: 2, jitter: 0.2 }
   */
  readonly retry?: BackoffOptions;
  /**
   * While reports are not live (`progressLive`): how long a submission with
   * a `version` waits for the projection's progress report
   * (`Registry.progress`) before its first check; the report
   * ends the wait at once. Where the projection runs in this process, the
   * first check then runs right after the commit instead of finding nothing
   * just before it. Reports for older versions put the check off by this
   * much again (the projection is on its way), within the budget. 0 checks
   * at once. Minimum: 0.
   * @default 0
   */
  readonly awaitProgressMs?: number;
  /**
   * Whether progress reports arrive for every commit now, e.g. while a
   * listener for the projector's commit notifications is connected. While it
   * returns true, a submission with a `version` checks only when that version
   * is reported (or was, shortly before it came): one check per event, no
   * polling. While it returns false, the gate polls as without reports.
   * Called once per wait; keep it cheap.
   * @default () => false
   */
  readonly progressLive?: () => boolean;
  /**
   * While `progressLive()` is true: how long a submission with a `version`
   * waits for the report of that version before it checks anyway, in case
   * the report was lost. Such a check, like every check no report started, is
   * a fallback check (`Observer.fallbackCheck`). Minimum: 1.
   * @default 1000
   */
  readonly fallbackMs?: number;
  /**
   * Reported versions the gate remembers per registry (the newest per
   * coalesce id, oldest forgotten first), so that a submission arriving
   * after the report of its version (the projection and the submitting
   * consumer read the broker side by side) checks at once. Minimum: 0.
   * @default 10000
   */
  readonly reportedVersions?: number;
  /** Hooks for metrics; registries served by this gate use it too unless given their own. */
  readonly observer?: Observer;
  /** @default systemClock */
  readonly clock?: Clock;
  /** For the backoff jitter. @default Math.random */
  readonly random?: () => number;
}

export interface GateStats {
  /** Producers running now. */
  readonly running: number;
  /** Submissions waiting for a worker or for their next check. */
  readonly queued: number;
}

/**
 * The bounded worker pool that runs producers off the event path. Its
 * workers take the submissions waiting for a check round-robin across their
 * keys, so one key's burst does not hold up the others.
 */
export interface Gate {
  readonly observer: SafeObserver;
  readonly clock: Clock;
  readonly stats: GateStats;
  submit<T>(task: GateTask<T>): Promise<SubmitResult<T>>;
  /**
   * The read view now holds `version` of the thing `coalesceId` names: a
   * pending submission of `client` for it that waits for that version or an
   * older one is checked at once (or again, if its check is running); one
   * that waits for a newer version puts its next check off. Submissions
   * without a version are left alone. The version is also remembered (see
   * `reportedVersions`) for a submission that comes after its report.
   */
  progress(client: GateClient<unknown>, coalesceId: string, version: number): void;
  /** Ends every submission of `client` as `disposed` and aborts its producers. */
  cancel(client: GateClient<unknown>): void;
  /** Resolves once no submission is pending, or when `signal` aborts. */
  idle(signal?: AbortSignal): Promise<void>;
  /**
   * Resolves once fewer than `limit` submissions wait (`stats.queued`), at once
   * if they do now, or when `signal` aborts: lets an intake hold back while
   * the gate is loaded.
   */
  queuedBelow(limit: number, signal?: AbortSignal): Promise<void>;
  /** Cancels everything; later submits are skipped as `disposed`. Idempotent. */
  dispose(): void;
  [Symbol.dispose](): void;
}
