import PQueue from 'p-queue';
import { createBackoff, type Backoff } from './backoff.js';
import { systemClock, type Clock } from './clock.js';
import { CoalesceSlots } from './coalesce-slots.js';
import { DisposedError, GateTimeoutError, toError } from './errors.js';
import { FairQueue, type FairQueueOptions } from './fair-queue.js';
import type {
  Gate,
  GateClient,
  GateOptions,
  GateStats,
  GateTask,
  Producer,
  SubmitResult,
} from './gate-types.js';
import { toSafeObserver, type SafeObserver } from './observer.js';
import { raceProducer, type Race } from './producer-race.js';
import { ReportedVersions } from './reported-versions.js';
import { expectCount, expectInteger, expectNumber } from './validate.js';

// The public contract lives in its own file; importers keep importing it from here.
export type * from './gate-types.js';

type Phase = 'queued' | 'running' | 'sleeping' | 'done';

interface Job {
  readonly client: GateClient<unknown>;
  readonly keys: readonly string[];
  /** The fair queue's key: submissions of one registry key take turns with other keys'. */
  readonly fairKey: string;
  producer: Producer<unknown>;
  readonly coalesceId: string | undefined;
  occurredAt: number | undefined;
  /** The version its producer waits for; undefined when any merged submission had none. */
  version: number | undefined;
  /** The newest version reported while its check ran: that check may have read just before the commit. */
  reported: number;
  /** Whether a report started (or will start) the next check; otherwise it is a fallback check. */
  notified: boolean;
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

type Resolve = (result: SubmitResult<unknown>) => void;

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
  readonly #awaitProgressMs: number;
  readonly #fallbackMs: number;
  readonly #reportedVersions: number;
  readonly #progressLive: () => boolean;
  readonly #backoff: Backoff;
  readonly #clients = new Map<GateClient<unknown>, ClientState>();
  readonly #slots = new CoalesceSlots<Job>();
  readonly #reported = new WeakMap<GateClient<unknown>, ReportedVersions>();
  #pending = 0;
  #queued = 0;
  #running = 0;
  #idleWaiters: (() => void)[] = [];
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
      clock,
      random,
    } = options;
    expectInteger('concurrency', concurrency, 1);
    this.#maxQueued = expectCount('maxQueued', maxQueued, 1);
    this.#timeoutMs = expectNumber('timeoutMs', timeoutMs, 1);
    this.#awaitProgressMs = expectNumber('awaitProgressMs', awaitProgressMs, 0);
    this.#fallbackMs = expectNumber('fallbackMs', fallbackMs, 1);
    this.#reportedVersions = expectInteger('reportedVersions', reportedVersions, 0);
    if (typeof progressLive !== 'function') {
      throw new TypeError(`Expected \`progressLive\` to be a function, got ${typeof progressLive}`);
    }
    this.#progressLive = progressLive;
    this.#backoff = createBackoff(retry, random);
    this.#queue = new PQueue({ concurrency, queueClass: FairQueue });
    this.observer = toSafeObserver(observer);
    this.clock = clock ?? systemClock;
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
    const job: Job = {
      client,
      keys: task.keys,
      fairKey: `${client.name}\u0000${task.keys.join('\u0000')}`,
      producer: task.producer,
      coalesceId,
      occurredAt: task.occurredAt,
      version: task.version,
      reported: -Infinity,
      notified: false,
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
    if (place === 'park') {
      // The active job is inside its producer: park this one until that check ends.
      this.#slots.park(job);
      return result;
    }
    this.#slots.open(job);
    const delayMs = this.#firstWaitMs(job);
    if (delayMs > 0) {
      job.phase = 'sleeping';
      void this.#wait(job, delayMs);
    } else {
      this.#enqueue(job);
    }
    return result;
  }

  progress(client: GateClient<unknown>, coalesceId: string, version: number): void {
    this.#remembered(client).report(coalesceId, version);
    const job = this.#slots.active(client, coalesceId);
    if (job === undefined || job.version === undefined) return;
    if (job.phase === 'running') job.reported = Math.max(job.reported, version);
    else if (job.phase === 'sleeping') job.wake?.abort(version >= job.version ? 'visible' : 'postpone');
    // queued: its check is on its way and will see the commit.
    // A parked job is adopted by the active one, which keeps what was reported during its check.
  }

  /**
   * How long a new versioned submission waits before its first check: none
   * when its version was reported already; otherwise until the report, at
   * most the fallback interval (reports live) or `awaitProgressMs`.
   */
  #firstWaitMs(job: Job): number {
    if (job.version === undefined || job.coalesceId === undefined) return 0;
    if (this.#wasReported(job)) return 0;
    return this.#progressLive() ? this.#fallbackMs : this.#awaitProgressMs;
  }

  /** Whether the version `job` waits for was reported before the job asked for it: its check is notified. */
  #wasReported(job: Job): boolean {
    const { version, coalesceId } = job;
    if (version === undefined || coalesceId === undefined) return false;
    const reported = this.#reported.get(job.client)?.has(coalesceId, version) === true;
    if (reported) job.notified = true;
    return reported;
  }

  #remembered(client: GateClient<unknown>): ReportedVersions {
    let versions = this.#reported.get(client);
    if (versions === undefined) {
      versions = new ReportedVersions(this.#reportedVersions);
      this.#reported.set(client, versions);
    }
    return versions;
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
    // The newer version may have been reported while the job waited for the older one.
    if (job.phase === 'sleeping' && this.#wasReported(job)) job.wake?.abort('visible');
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
      this.#deliver(job, race.value);
      return;
    }
    const adopted = this.#adoptNext(job, state);
    await this.#retry(job, state, adopted);
  }

  async #retry(job: Job, state: ClientState, adopted: boolean): Promise<void> {
    // Reported while the check ran (it may have read just before the commit),
    // or an adopted newer version reported before it came: check again now.
    const reported =
      job.version !== undefined && (job.reported >= job.version || (adopted && this.#wasReported(job)));
    const delayMs = reported ? 0 : this.#retryDelayMs(job);
    if (this.clock.now() + delayMs >= job.deadline) {
      this.#giveUp(job);
      return;
    }
    this.observer.retry({ registry: job.client.name, attempt: job.attempt, delayMs });
    this.#addQueued(state, 1);
    if (reported) {
      job.notified = true;
      job.phase = 'queued';
      this.#enqueue(job);
      return;
    }
    job.phase = 'sleeping';
    await this.#wait(job, delayMs);
  }

  /** With live reports a versioned job waits for its report (or the fallback); otherwise it backs off. */
  #retryDelayMs(job: Job): number {
    const waitsForReport = job.version !== undefined && job.coalesceId !== undefined && this.#progressLive();
    return waitsForReport ? this.#fallbackMs : this.#backoff(job.attempt);
  }

  /**
   * Waits `delayMs` in the `sleeping` phase, holding no worker, then queues
   * the next check behind fresh work. A progress report for the awaited
   * version ends the wait at once (a notified check); one for an older
   * version starts it over, never past the budget.
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
      if (elapsed) break;
      if (wake.signal.reason === 'visible') {
        job.notified = true;
        break;
      }
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
    // The parked job, if any, becomes active.
    const next = this.#slots.release(job);
    if (next !== undefined) this.#enqueue(next);
    if (result.status === 'skipped') this.observer.skipped({ registry: client.name, reason: result.reason });
    for (const resolve of job.resolvers) resolve(result);
    if (--this.#pending === 0) {
      const waiters = this.#idleWaiters;
      this.#idleWaiters = [];
      for (const wake of waiters) wake();
    }
  }

  /** Not visible yet, and a newer submission is parked: check for the newer one from now on. */
  #adoptNext(job: Job, state: ClientState): boolean {
    const next = this.#slots.takeNext(job);
    if (next === undefined) return false;
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
  }
}
