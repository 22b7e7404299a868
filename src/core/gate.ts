import PQueue from 'p-queue';
import { createBackoff, type Backoff, type BackoffOptions } from './backoff.js';
import { systemClock, type Clock } from './clock.js';
import { DisposedError, GateTimeoutError, toError } from './errors.js';
import { toSafeObserver, type Observer, type SafeObserver, type SkipReason } from './observer.js';
import { expectCount, expectInteger, expectNumber } from './validate.js';

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
  /** Fans `value` out; returns the receivers reached. */
  deliver(keys: readonly string[], value: T): number;
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
  /** The wait between two checks of one submission. */
  readonly retry?: BackoffOptions;
  /**
   * How long a submission with a `version` waits for the projection's
   * progress report (`Registry.progress`) before its first check; the report
   * ends the wait at once. Where the projection runs in this process, the
   * first check then runs right after the commit instead of finding nothing
   * just before it. Reports for older versions put the check off by this
   * much again (the projection is on its way), within the budget. 0 checks
   * at once. Minimum: 0.
   * @default 0
   */
  readonly awaitProgressMs?: number;
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

/** The bounded worker pool that runs producers off the delivery path. */
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
   * without a version are left alone.
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

type Phase = 'queued' | 'running' | 'sleeping' | 'done';

interface Job {
  readonly client: GateClient<unknown>;
  readonly keys: readonly string[];
  producer: Producer<unknown>;
  readonly coalesceId: string | undefined;
  occurredAt: number | undefined;
  /** The version its producer waits for; undefined when any merged submission had none. */
  version: number | undefined;
  /** The newest version reported while its check ran: that check may have read just before the commit. */
  reported: number;
  /** Ends the current wait (backoff or first wait) early: `visible`, `postpone`, or the job's end. */
  wake: AbortController | undefined;
  submittedAt: number;
  deadline: number;
  attempt: number;
  phase: Phase;
  lastError: Error | undefined;
  readonly controller: AbortController;
  /** Ends the producer race of the running attempt early (dispose). */
  interrupt: (() => void) | undefined;
  readonly resolvers: Resolve[];
}

/** Per client: its pending jobs (for cancel) and how many of them wait. */
interface ClientState {
  readonly name: string;
  readonly jobs: Set<Job>;
  queued: number;
}

/**
 * Per coalesce id: the `active` job (waiting for a worker, checking, or
 * backing off) and, only while `active` is inside its producer, the `next`
 * one parked behind it. Newer submits merge into whichever of the two is not
 * executing, so a burst costs a couple of checks, not one per event.
 */
interface Slot {
  active: Job;
  next: Job | undefined;
}

type Resolve = (result: SubmitResult<unknown>) => void;

type Race = { readonly value: unknown } | { readonly error: unknown } | 'timeout' | 'interrupted';

const skippedDisposed = Promise.resolve({ status: 'skipped', reason: 'disposed' } as const);
const skippedOverloaded = Promise.resolve({ status: 'skipped', reason: 'overloaded' } as const);

function isPromiseLike<T>(value: T | PromiseLike<T>): value is PromiseLike<T> {
  return typeof (value as { then?: unknown } | undefined)?.then === 'function';
}

export function createGate(options: GateOptions = {}): Gate {
  return new GateImpl(options);
}

class GateImpl implements Gate {
  readonly observer: SafeObserver;
  readonly clock: Clock;
  readonly #queue: PQueue;
  readonly #maxQueued: number;
  readonly #timeoutMs: number;
  readonly #awaitProgressMs: number;
  readonly #backoff: Backoff;
  readonly #clients = new Map<GateClient<unknown>, ClientState>();
  /** Keyed by client, then coalesce id: ids are only unique within a client. */
  readonly #slots = new Map<GateClient<unknown>, Map<string, Slot>>();
  #pending = 0;
  #queued = 0;
  #running = 0;
  #idleWaiters: (() => void)[] = [];
  #belowWaiters: { readonly limit: number; readonly done: () => void }[] = [];
  #disposed = false;

  constructor(options: GateOptions) {
    const {
      concurrency = 8,
      maxQueued = 10_000,
      timeoutMs = 5_000,
      retry,
      awaitProgressMs = 0,
      observer,
      clock,
      random,
    } = options;
    expectInteger('concurrency', concurrency, 1);
    this.#maxQueued = expectCount('maxQueued', maxQueued, 1);
    this.#timeoutMs = expectNumber('timeoutMs', timeoutMs, 1);
    this.#awaitProgressMs = expectNumber('awaitProgressMs', awaitProgressMs, 0);
    this.#backoff = createBackoff(retry, random);
    this.#queue = new PQueue({ concurrency });
    this.observer = toSafeObserver(observer);
    this.clock = clock ?? systemClock;
  }

  get stats(): GateStats {
    return { running: this.#running, queued: this.#queued };
  }

  submit<T>(task: GateTask<T>): Promise<SubmitResult<T>> {
    const { client } = task;
    if (this.#disposed) {
      this.observer.skipped({ registry: client.name, reason: 'disposed' });
      return skippedDisposed;
    }
    const now = this.clock.now();
    const slot = task.coalesceId === undefined ? undefined : this.#slots.get(client)?.get(task.coalesceId);
    if (slot !== undefined) {
      const target = slot.active.phase === 'running' ? slot.next : slot.active;
      if (target !== undefined) return this.#merge(target, task, now);
    }
    if (this.#queued >= this.#maxQueued) {
      this.observer.skipped({ registry: client.name, reason: 'overloaded' });
      return skippedOverloaded;
    }
    const job: Job = {
      client,
      keys: task.keys,
      producer: task.producer,
      coalesceId: task.coalesceId,
      occurredAt: task.occurredAt,
      version: task.version,
      reported: -Infinity,
      wake: undefined,
      submittedAt: now,
      deadline: now + this.#timeoutMs,
      attempt: 0,
      phase: 'queued',
      lastError: undefined,
      controller: new AbortController(),
      interrupt: undefined,
      resolvers: [],
    };
    const result = new Promise<SubmitResult<T>>((resolve) => job.resolvers.push(resolve as Resolve));
    const state = this.#state(client);
    state.jobs.add(job);
    this.#pending++;
    this.#addQueued(state, 1);
    if (slot !== undefined) {
      // The active job is inside its producer: park this one until that check ends.
      slot.next = job;
    } else {
      if (task.coalesceId !== undefined) this.#setSlot(job, task.coalesceId);
      if (this.#awaitProgressMs > 0 && job.version !== undefined && job.coalesceId !== undefined) {
        job.phase = 'sleeping';
        void this.#wait(job, this.#awaitProgressMs);
      } else {
        this.#enqueue(job);
      }
    }
    return result;
  }

  progress(client: GateClient<unknown>, coalesceId: string, version: number): void {
    const slot = this.#slots.get(client)?.get(coalesceId);
    if (slot === undefined) return;
    this.#progressed(slot.active, version);
    // A parked job is adopted by the active one, which keeps what was reported during its check.
  }

  #progressed(job: Job, version: number): void {
    if (job.version === undefined) return;
    if (job.phase === 'running') job.reported = Math.max(job.reported, version);
    else if (job.phase === 'sleeping') job.wake?.abort(version >= job.version ? 'visible' : 'postpone');
    // queued: its check is on its way and will see the commit
  }

  /** A newer submission of the same thing takes over `job`: its producer and budget, the older's place. */
  #merge<T>(job: Job, task: GateTask<T>, now: number): Promise<SubmitResult<T>> {
    job.producer = task.producer;
    job.version = task.version === undefined ? undefined : Math.max(job.version ?? -Infinity, task.version);
    job.submittedAt = now;
    job.deadline = now + this.#timeoutMs;
    if (task.occurredAt !== undefined) {
      job.occurredAt = Math.min(job.occurredAt ?? task.occurredAt, task.occurredAt);
    }
    this.observer.coalesced({ registry: job.client.name });
    return new Promise((resolve) => job.resolvers.push(resolve as Resolve));
  }

  cancel(client: GateClient<unknown>): void {
    const state = this.#clients.get(client);
    if (state === undefined) return;
    for (const job of [...state.jobs]) this.#abort(job, new DisposedError(`Registry "${client.name}"`));
  }

  idle(signal?: AbortSignal): Promise<void> {
    if (this.#pending === 0 || signal?.aborted) return Promise.resolve();
    return new Promise((resolve) => {
      const done = (): void => {
        signal?.removeEventListener('abort', done);
        resolve();
      };
      signal?.addEventListener('abort', done, { once: true });
      this.#idleWaiters.push(done);
    });
  }

  queuedBelow(limit: number, signal?: AbortSignal): Promise<void> {
    if (this.#queued < limit || signal?.aborted) return Promise.resolve();
    return new Promise((resolve) => {
      const waiter = {
        limit,
        done: (): void => {
          signal?.removeEventListener('abort', waiter.done);
          this.#belowWaiters = this.#belowWaiters.filter((other) => other !== waiter);
          resolve();
        },
      };
      signal?.addEventListener('abort', waiter.done, { once: true });
      this.#belowWaiters.push(waiter);
    });
  }

  dispose(): void {
    if (this.#disposed) return;
    this.#disposed = true;
    for (const client of [...this.#clients.keys()]) this.cancel(client);
    this.#queue.clear();
  }

  [Symbol.dispose](): void {
    this.dispose();
  }

  #enqueue(job: Job): void {
    // #attempt never rejects: every outcome resolves the job.
    void this.#queue.add(() => this.#attempt(job));
  }

  async #attempt(job: Job): Promise<void> {
    if (job.phase === 'done') return;
    const { client } = job;
    const state = this.#state(client);
    this.#addQueued(state, -1);
    job.phase = 'running';
    const start = this.clock.now();
    if (start >= job.deadline) {
      this.#giveUp(job);
      return;
    }
    if (!client.hasReceivers(job.keys)) {
      this.#finish(job, { status: 'skipped', reason: 'no_receivers' });
      return;
    }
    const attempt = ++job.attempt;
    job.reported = -Infinity;
    this.#running++;
    let race: Race;
    try {
      const result = job.producer({ signal: job.controller.signal, attempt });
      race = isPromiseLike(result) ? await this.#race(job, result) : { value: result };
    } catch (error) {
      race = { error };
    } finally {
      this.#running--;
    }
    // Cancelled while the producer ran: the job is already finished.
    if ((job.phase as Phase) === 'done' || race === 'interrupted') return;
    const durationMs = this.clock.now() - start;
    const registry = client.name;
    if (race === 'timeout') {
      this.observer.gateCheck({ registry, attempt, durationMs, outcome: 'not_visible' });
      this.#giveUp(job);
      return;
    }
    if ('error' in race) {
      job.lastError = toError(race.error);
      this.observer.gateCheck({ registry, attempt, durationMs, outcome: 'error', error: job.lastError });
    } else if (race.value === undefined) {
      job.lastError = undefined;
      this.observer.gateCheck({ registry, attempt, durationMs, outcome: 'not_visible' });
    } else {
      this.observer.gateCheck({ registry, attempt, durationMs, outcome: 'visible' });
      this.#deliver(job, race.value);
      return;
    }
    this.#adoptNext(job, state);
    await this.#retry(job, state);
  }

  /** Races an async producer against the rest of the budget and against cancellation. */
  #race(job: Job, result: PromiseLike<unknown>): Promise<Race> {
    const timer = new AbortController();
    return new Promise<Race>((resolve) => {
      job.interrupt = () => {
        resolve('interrupted');
      };
      void this.clock.sleep(job.deadline - this.clock.now(), timer.signal).then((elapsed) => {
        if (elapsed) resolve('timeout');
      });
      result.then(
        (value) => {
          resolve({ value });
        },
        (error: unknown) => {
          resolve({ error });
        },
      );
    }).finally(() => {
      job.interrupt = undefined;
      // With a reason: `abort()` alone builds a DOMException, stack and all, once per check.
      timer.abort('settled');
    });
  }

  async #retry(job: Job, state: ClientState): Promise<void> {
    // The projection reported the version while the check ran: the check may have read just before it.
    const reported = job.version !== undefined && job.reported >= job.version;
    const delayMs = reported ? 0 : this.#backoff(job.attempt);
    if (this.clock.now() + delayMs >= job.deadline) {
      this.#giveUp(job);
      return;
    }
    this.observer.retry({ registry: job.client.name, attempt: job.attempt, delayMs });
    this.#addQueued(state, 1);
    if (reported) {
      job.phase = 'queued';
      this.#enqueue(job);
      return;
    }
    job.phase = 'sleeping';
    await this.#wait(job, delayMs);
  }

  /**
   * Waits `delayMs` in the `sleeping` phase, holding no worker, then queues
   * the next check behind fresh work. A progress report for the awaited
   * version ends the wait at once; one for an older version starts it over,
   * never past the budget.
   */
  async #wait(job: Job, delayMs: number): Promise<void> {
    for (;;) {
      const wake = new AbortController();
      job.wake = wake;
      const ms = Math.max(0, Math.min(delayMs, job.deadline - this.clock.now() - 1));
      const elapsed = await this.clock.sleep(ms, wake.signal);
      if (job.wake === wake) job.wake = undefined;
      // Finished meanwhile (timeout, dispose, merged away): nothing more to do.
      if (job.phase !== 'sleeping') return;
      if (elapsed || wake.signal.reason === 'visible') break;
    }
    job.phase = 'queued';
    this.#enqueue(job);
  }

  #deliver(job: Job, value: unknown): void {
    const registry = job.client.name;
    const now = this.clock.now();
    const gateMs = now - job.submittedAt;
    this.observer.visible(
      job.occurredAt === undefined ? { registry, gateMs } : { registry, gateMs, lagMs: now - job.occurredAt },
    );
    const receivers = job.client.deliver(job.keys, value);
    this.#finish(
      job,
      receivers === 0
        ? { status: 'skipped', reason: 'no_receivers' }
        : { status: 'delivered', value, receivers, attempts: job.attempt },
    );
  }

  /** The budget is spent: `error` if the last check threw, `timeout` otherwise. */
  #giveUp(job: Job): void {
    job.controller.abort(new GateTimeoutError(this.#timeoutMs, job.attempt));
    const error = job.lastError;
    this.#finish(
      job,
      error === undefined
        ? { status: 'skipped', reason: 'timeout' }
        : { status: 'skipped', reason: 'error', error },
    );
  }

  #abort(job: Job, reason: Error): void {
    if (job.phase === 'done') return;
    job.controller.abort(reason);
    job.interrupt?.();
    this.#finish(job, { status: 'skipped', reason: 'disposed' });
  }

  #finish(job: Job, result: SubmitResult<unknown>): void {
    if (job.phase === 'done') return;
    const { client } = job;
    const state = this.#state(client);
    if (job.phase === 'queued' || job.phase === 'sleeping') this.#addQueued(state, -1);
    job.phase = 'done';
    job.wake?.abort('done');
    state.jobs.delete(job);
    if (state.jobs.size === 0 && state.queued === 0) this.#clients.delete(client);
    if (job.coalesceId !== undefined) this.#releaseSlot(job);
    if (result.status === 'skipped') this.observer.skipped({ registry: client.name, reason: result.reason });
    for (const resolve of job.resolvers) resolve(result);
    if (--this.#pending === 0) {
      const waiters = this.#idleWaiters;
      this.#idleWaiters = [];
      for (const wake of waiters) wake();
    }
  }

  /** Not visible yet, and a newer submission is parked: check for the newer one from now on. */
  #adoptNext(job: Job, state: ClientState): void {
    if (job.coalesceId === undefined) return;
    const slot = this.#slots.get(job.client)?.get(job.coalesceId);
    const next = slot?.next;
    if (slot === undefined || next === undefined) return;
    slot.next = undefined;
    job.producer = next.producer;
    job.version = next.version;
    job.submittedAt = next.submittedAt;
    job.deadline = next.deadline;
    if (next.occurredAt !== undefined)
      job.occurredAt = Math.min(job.occurredAt ?? next.occurredAt, next.occurredAt);
    job.resolvers.push(...next.resolvers);
    next.phase = 'done';
    this.#addQueued(state, -1);
    state.jobs.delete(next);
    this.#pending--;
  }

  #setSlot(job: Job, id: string): void {
    let slots = this.#slots.get(job.client);
    if (slots === undefined) {
      slots = new Map();
      this.#slots.set(job.client, slots);
    }
    slots.set(id, { active: job, next: undefined });
  }

  /** `job` has ended: the parked job, if any, becomes active. */
  #releaseSlot(job: Job): void {
    const slots = this.#slots.get(job.client);
    const id = job.coalesceId;
    if (slots === undefined || id === undefined) return;
    const slot = slots.get(id);
    if (slot === undefined) return;
    if (slot.next === job) {
      slot.next = undefined;
      return;
    }
    if (slot.active !== job) return;
    const next = slot.next;
    if (next !== undefined && next.phase !== 'done') {
      slot.active = next;
      slot.next = undefined;
      this.#enqueue(next);
      return;
    }
    slots.delete(id);
    if (slots.size === 0) this.#slots.delete(job.client);
  }

  #state(client: GateClient<unknown>): ClientState {
    let state = this.#clients.get(client);
    if (state === undefined) {
      state = { name: client.name, jobs: new Set(), queued: 0 };
      this.#clients.set(client, state);
    }
    return state;
  }

  #addQueued(state: ClientState, delta: number): void {
    state.queued += delta;
    this.#queued += delta;
    this.observer.queueDepth({ registry: state.name, depth: state.queued });
    if (delta < 0 && this.#belowWaiters.length > 0) {
      for (const waiter of this.#belowWaiters) if (this.#queued < waiter.limit) waiter.done();
    }
  }
}
