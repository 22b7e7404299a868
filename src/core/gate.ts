import PQueue from 'p-queue';
import { createBackoff } from '../common/backoff.js';
import { CheckSchedule } from './check-schedule.js';
import { systemClock, type Clock } from '../common/clock.js';
import { CoalesceSlots } from './coalesce-slots.js';
import { DisposedError, GateTimeoutError, toError } from '../common/errors.js';
import { FairQueue, type FairQueueOptions } from './fair-queue.js';
import { createGateWaiters } from './gate-waiters.js';
import { createJob, takeOver, type Job, type Phase, type Resolve } from './gate-job.js';
import type { Gate, GateClient, GateOptions, GateStats, GateTask, SubmitResult } from './gate-types.js';
import { toSafeObserver, type SafeObserver } from './observer.js';
import { raceProducer, type Race } from './producer-race.js';
import { expectCount, expectFunction, expectInteger, expectNumber } from '../common/validate.js';

// The public contract lives in its own file; importers keep importing it from here.
export type * from './gate-types.js';

/** Per client: its pending jobs (for cancel) and how many of them wait. */
interface ClientState {
  readonly name: string;
  readonly jobs: Set<Job>;
  queued: number;
}

const skippedDisposed = Promise.resolve({ status: 'skipped', reason: 'disposed' } as const);
const skippedOverloaded = Promise.resolve({ status: 'skipped', reason: 'overloaded' } as const);
const notLive = (): boolean => false;

function isPromiseLike<T>(value: T | PromiseLike<T>): value is PromiseLike<T> {
  return typeof (value as { then?: unknown } | undefined)?.then === 'function';
}

export function createGate(options: GateOptions = {}): Gate {
  return new GateImpl(options);
}

class GateImpl implements Gate {
  readonly observer: SafeObserver;
  readonly clock: Clock;
  readonly #queue: PQueue<FairQueue, FairQueueOptions>;
  readonly #maxQueued: number;
  readonly #timeoutMs: number;
  readonly #schedule: CheckSchedule;
  readonly #clients = new Map<GateClient<unknown>, ClientState>();
  readonly #slots = new CoalesceSlots<Job>();
  #pending = 0;
  #queued = 0;
  #running = 0;
  /** The callers of `idle()` and `queuedBelow()`, woken as `#pending` and `#queued` drop. */
  readonly #waiters = createGateWaiters();
  #disposed = false;

  constructor(options: GateOptions) {
    const {
      concurrency = 8,
      maxQueued = 10_000,
      timeoutMs = 5_000,
      retry,
      awaitProgressMs = 0,
      progressLive = notLive,
      fallbackMs = 1_000,
      reportedVersions = 10_000,
      observer,
      clock = systemClock,
      random,
    } = options;
    expectInteger('concurrency', concurrency, 1);
    this.#maxQueued = expectCount('maxQueued', maxQueued, 1);
    this.#timeoutMs = expectNumber('timeoutMs', timeoutMs, 1);
    expectFunction('progressLive', progressLive);
    this.#schedule = new CheckSchedule({
      awaitProgressMs: expectNumber('awaitProgressMs', awaitProgressMs, 0),
      fallbackMs: expectNumber('fallbackMs', fallbackMs, 1),
      reportedVersions: expectInteger('reportedVersions', reportedVersions, 0),
      progressLive,
      backoff: createBackoff(retry, random),
      clock,
    });
    this.#queue = new PQueue({ concurrency, queueClass: FairQueue });
    this.observer = toSafeObserver(observer);
    this.clock = clock;
  }

  get stats(): GateStats {
    return { running: this.#running, queued: this.#queued };
  }

  submit<T>(task: GateTask<T>): Promise<SubmitResult<T>> {
    const { client, coalesceId } = task;
    if (this.#disposed) {
      this.observer.skipped({ registry: client.name, reason: 'disposed' });
      return skippedDisposed;
    }
    const now = this.clock.now();
    const place = coalesceId === undefined ? 'open' : this.#slots.place(client, coalesceId);
    if (typeof place === 'object') return this.#merge(place.merge, task, now);
    if (this.#queued >= this.#maxQueued) {
      this.observer.skipped({ registry: client.name, reason: 'overloaded' });
      return skippedOverloaded;
    }
    const job = createJob(task, now, this.#timeoutMs);
    const result = new Promise<SubmitResult<T>>((resolve) => job.resolvers.push(resolve as Resolve));
    const state = this.#state(client);
    state.jobs.add(job);
    this.#pending++;
    this.#addQueued(state, 1);
    if (place === 'park') {
      // The active job is inside its producer: park this one until that check ends.
      this.#slots.park(job);
      return result;
    }
    this.#slots.open(job);
    const delayMs = this.#schedule.firstWaitMs(job);
    if (delayMs > 0) {
      job.phase = 'sleeping';
      void this.#sleep(job, delayMs);
    } else {
      this.#enqueue(job);
    }
    return result;
  }

  progress(client: GateClient<unknown>, coalesceId: string, version: number): void {
    this.#schedule.report(client, coalesceId, version);
    const job = this.#slots.active(client, coalesceId);
    if (job === undefined || job.version === undefined) return;
    if (job.phase === 'running') job.reported = Math.max(job.reported, version);
    else if (job.phase === 'sleeping') job.wake?.abort(version >= job.version ? 'visible' : 'postpone');
    // queued: its check is on its way and will see the commit.
    // A parked job is adopted by the active one, which keeps what was reported during its check.
  }

  /** A newer submission of the same thing takes over `job`: its producer and budget, the older's place. */
  #merge<T>(job: Job, task: GateTask<T>, now: number): Promise<SubmitResult<T>> {
    takeOver(job, { ...task, submittedAt: now, deadline: now + this.#timeoutMs });
    this.observer.coalesced({ registry: job.client.name });
    // The newer version may have been reported while the job waited for the older one.
    if (job.phase === 'sleeping' && this.#schedule.wasReported(job)) job.wake?.abort('visible');
    return new Promise((resolve) => job.resolvers.push(resolve as Resolve));
  }

  cancel(client: GateClient<unknown>): void {
    const state = this.#clients.get(client);
    if (state === undefined) return;
    for (const job of [...state.jobs]) this.#abort(job, new DisposedError(`Registry "${client.name}"`));
  }

  idle(signal?: AbortSignal): Promise<void> {
    if (this.#pending === 0 || signal?.aborted) return Promise.resolve();
    return this.#waiters.untilIdle(signal);
  }

  queuedBelow(limit: number, signal?: AbortSignal): Promise<void> {
    if (this.#queued < limit || signal?.aborted) return Promise.resolve();
    return this.#waiters.untilBelow(limit, signal);
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
    void this.#queue.add(() => this.#attempt(job), { key: job.fairKey });
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
    const registry = client.name;
    if (job.version !== undefined && !job.notified) this.observer.fallbackCheck({ registry, attempt });
    job.notified = false;
    job.reported = -Infinity;
    this.#running++;
    let race: Race;
    try {
      const result = job.producer({ signal: job.controller.signal, attempt });
      race = isPromiseLike(result)
        ? await raceProducer(result, job.deadline, this.clock, (interrupt) => {
            job.interrupt = interrupt;
          })
        : { value: result };
    } catch (error) {
      race = { error };
    } finally {
      this.#running--;
    }
    // Cancelled while the producer ran: the job is already finished.
    if ((job.phase as Phase) === 'done' || race === 'interrupted') return;
    const durationMs = this.clock.now() - start;
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
      this.#fanOut(job, race.value);
      return;
    }
    const adopted = this.#adoptNext(job, state);
    await this.#retry(job, state, adopted);
  }

  async #retry(job: Job, state: ClientState, adopted: boolean): Promise<void> {
    const delayMs = this.#schedule.retryDelayMs(job, adopted);
    if (this.clock.now() + delayMs >= job.deadline) {
      this.#giveUp(job);
      return;
    }
    this.observer.retry({ registry: job.client.name, attempt: job.attempt, delayMs });
    this.#addQueued(state, 1);
    if (job.notified) {
      // Reported while the check read, or before an adopted submission came: check again now.
      job.phase = 'queued';
      this.#enqueue(job);
      return;
    }
    job.phase = 'sleeping';
    await this.#sleep(job, delayMs);
  }

  /** Waits for the next check holding no worker, then queues it behind fresh work. */
  async #sleep(job: Job, delayMs: number): Promise<void> {
    if (!(await this.#schedule.sleep(job, delayMs))) return;
    job.phase = 'queued';
    this.#enqueue(job);
  }

  #fanOut(job: Job, value: unknown): void {
    const registry = job.client.name;
    const now = this.clock.now();
    const gateMs = now - job.submittedAt;
    this.observer.visible(
      job.occurredAt === undefined ? { registry, gateMs } : { registry, gateMs, lagMs: now - job.occurredAt },
    );
    const receivers = job.client.fanOut(job.keys, value);
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
    // The parked job, if any, becomes active.
    const next = this.#slots.release(job);
    if (next !== undefined) this.#enqueue(next);
    if (result.status === 'skipped') this.observer.skipped({ registry: client.name, reason: result.reason });
    for (const resolve of job.resolvers) resolve(result);
    if (--this.#pending === 0) this.#waiters.drained();
  }

  /** Not visible yet, and a newer submission is parked: check for the newer one from now on. */
  #adoptNext(job: Job, state: ClientState): boolean {
    const next = this.#slots.takeNext(job);
    if (next === undefined) return false;
    takeOver(job, next);
    job.resolvers.push(...next.resolvers);
    next.phase = 'done';
    this.#addQueued(state, -1);
    state.jobs.delete(next);
    this.#pending--;
    return true;
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
    if (delta < 0) this.#waiters.queuedNow(this.#queued);
  }
}
