import { systemClock } from '../common/clock.js';
import { reasonOf } from '../common/errors.js';
import { createLogThrottle, type LogThrottle } from '../common/log-throttle.js';
import type { Logger } from '../common/logger.js';
import { expectFunction, expectInteger, expectKeys, expectShortString } from '../common/validate.js';
import { WILDCARD } from '../core/registry.js';
import { Linger } from './linger.js';
import type { BindingPort, InterestOptions } from './interest-options.js';
import type { ResyncTarget } from './transient-consumer.js';
import type { SafeTransportObserver } from './transport-observer.js';

/** One registry's key, while it has receivers or lingers. */
interface KeyState {
  readonly target: ResyncTarget;
  readonly key: string;
  /** Undefined: covered only by the wide patterns (the wildcard, or refused patterns). */
  readonly patterns: readonly string[] | undefined;
}

/**
 * The bindings that follow the registries' receivers: reference-counted
 * patterns, a linger after the last receiver, a bound on their number with
 * hysteresis, and one reconciling loop per connection that binds before it
 * unbinds (so a switch to or from the wide patterns leaves no gap).
 */
export class InterestBindings {
  readonly #patternsOf: InterestOptions['patterns'];
  readonly #wide: readonly string[];
  readonly #max: number;
  readonly #resume: number;
  readonly #static: number;
  readonly #observer: SafeTransportObserver;
  readonly #refusals: LogThrottle;
  readonly #unwatch: (() => void)[] = [];
  /** Every key with receivers or lingering, by registry then key. */
  readonly #keys = new Map<ResyncTarget, Map<string, KeyState>>();
  /** Keys whose last receiver left: their binding goes when their linger ends. */
  readonly #lingering: Linger<KeyState>;
  /** Key patterns wanted, with the number of keys wanting each. */
  readonly #refs = new Map<string, number>();
  /** Keys covered only by the wide patterns (wildcards and refused ones). */
  #wideKeys = 0;
  /** Past `maxBindings`: bound to the wide patterns until back at `resumeBindings`. */
  #overflow = false;
  /** Keys opened while their patterns were not bound: their receivers get a resync poke at bind-ok. */
  readonly #waiting = new Set<KeyState>();
  /** The `prepare` of a waiting key, settled at its bind-ok (or when the queue is lost). */
  readonly #prepared = new Map<KeyState, { promise: Promise<void>; resolve: () => void }>();
  /** Confirmed on the current port. */
  readonly #bound = new Set<string>();
  #port: BindingPort | undefined;
  /** Bumped on every attach and detach: a loop of an older one stops at its next step. */
  #generation = 0;
  #running = false;
  #disposed = false;

  constructor(
    options: InterestOptions,
    context: {
      readonly targets: readonly ResyncTarget[];
      readonly bindingKeys: readonly string[];
      readonly observer: SafeTransportObserver;
      readonly logger: Logger;
    },
  ) {
    const { patterns, wide, lingerMs = 30_000, maxBindings = 1_000, clock = systemClock } = options;
    this.#patternsOf = expectFunction('interest.patterns', patterns);
    this.#wide = expectKeys('interest.wide', wide);
    const linger = expectInteger('interest.lingerMs', lingerMs, 0);
    this.#max = expectInteger('interest.maxBindings', maxBindings, 1);
    const resume = options.resumeBindings ?? Math.floor((this.#max * 3) / 4);
    this.#resume = expectInteger('interest.resumeBindings', resume, 0);
    if (this.#resume > this.#max) {
      throw new TypeError(
        `Expected \`interest.resumeBindings\` to be at most \`maxBindings\` (${this.#max}), got ${resume}`,
      );
    }
    this.#lingering = new Linger(linger, clock, (gone) => {
      this.#expire(gone);
    });
    this.#static = context.bindingKeys.length;
    this.#observer = context.observer;
    this.#refusals = createLogThrottle({ logger: context.logger });
    for (const target of context.targets) {
      this.#keys.set(target, new Map());
      this.#unwatch.push(
        target.registry.watchKeys({
          added: (key) => {
            this.#added(target, key);
          },
          removed: (key) => {
            this.#removed(target, key);
          },
          prepare: (key) => this.#prepare(target, key),
        }),
      );
    }
  }

  /** The key patterns wanted now (bound, or bound instead by the wide ones). */
  get wanted(): number {
    return this.#refs.size;
  }

  /** The bindings of the queue now, its binding keys included: `pokegate_interest_bindings`. */
  get bindings(): number {
    return this.#port === undefined ? 0 : this.#static + this.#bound.size;
  }

  /**
   * A new queue (every (re)connect): binds what is wanted now, and resolves
   * once the broker confirmed it all. Keys added meanwhile are bound too.
   */
  async attach(port: BindingPort): Promise<void> {
    this.#detach();
    this.#port = port;
    const generation = this.#generation;
    this.#running = true;
    await this.#reconcile(generation, port, true);
    this.#report();
  }

  /**
   * The consumer consumes on the new queue and has resynced every receiver:
   * no key bound by now waits any longer.
   */
  connected(): void {
    for (const state of this.#waiting) if (this.#covered(state)) this.#unwait(state);
  }

  /** The queue is gone with its connection: nothing is bound until the next attach. */
  detach(): void {
    this.#detach();
    this.#observer.bindings({ bindings: 0 });
  }

  /** Stops watching the registries and the linger timer. Idempotent. */
  dispose(): void {
    if (this.#disposed) return;
    this.#disposed = true;
    this.#detach();
    for (const unwatch of this.#unwatch.splice(0)) unwatch();
    this.#lingering.dispose();
    this.#refusals.dispose();
  }

  #detach(): void {
    this.#generation++;
    this.#port = undefined;
    this.#running = false;
    this.#bound.clear();
    // Not consuming now: the resync after the next connect covers whoever was preparing.
    for (const { resolve } of this.#prepared.values()) resolve();
    this.#prepared.clear();
  }

  /**
   * Binds `key` ahead of its first receiver and resolves at bind-ok, so the
   * receiver opened then misses nothing published from then on (what was
   * published while it waited is its resolver's to cover, with a resync poke
   * of its own). Until a receiver comes the key lingers, as if its last one
   * had just left.
   */
  #prepare(target: ResyncTarget, key: string): Promise<void> | undefined {
    if (this.#port === undefined || this.#disposed) return undefined;
    const keys = this.#keys.get(target) as Map<string, KeyState>;
    let state = keys.get(key);
    if (state === undefined) {
      this.#added(target, key);
      this.#removed(target, key);
      state = keys.get(key);
    }
    if (state === undefined || !this.#waiting.has(state)) return undefined;
    let prepared = this.#prepared.get(state);
    if (prepared === undefined) {
      let resolve = (): void => undefined;
      const promise = new Promise<void>((settle) => (resolve = settle));
      prepared = { promise, resolve };
      this.#prepared.set(state, prepared);
    }
    return prepared.promise;
  }

  #added(target: ResyncTarget, key: string): void {
    const keys = this.#keys.get(target) as Map<string, KeyState>;
    const known = keys.get(key);
    if (known !== undefined) {
      // Back within the linger: its binding never went.
      this.#lingering.takeBack(known);
      return;
    }
    const patterns = key === WILDCARD ? undefined : this.#patternsFor(target, key);
    const state: KeyState = { target, key, patterns };
    keys.set(key, state);
    if (patterns === undefined) this.#wideKeys++;
    else for (const pattern of patterns) this.#refs.set(pattern, (this.#refs.get(pattern) ?? 0) + 1);
    this.#checkOverflow();
    if (!this.#covered(state)) this.#waiting.add(state);
    this.#schedule();
  }

  #removed(target: ResyncTarget, key: string): void {
    const state = this.#keys.get(target)?.get(key);
    if (state === undefined || this.#disposed) return;
    this.#lingering.letGo(state);
  }

  /** The key's patterns, validated; undefined (the wide patterns cover it) when refused. */
  #patternsFor(target: ResyncTarget, key: string): readonly string[] | undefined {
    const registry = target.registry.name;
    try {
      const patterns = this.#patternsOf(key, registry);
      if (!Array.isArray(patterns) || patterns.length === 0) {
        throw new TypeError('Expected a non-empty array of patterns');
      }
      return patterns.map((pattern: unknown, i) => expectShortString(`patterns[${i}]`, pattern));
    } catch (error) {
      const reason = reasonOf(error);
      this.#observer.interestRefused({ registry, reason });
      this.#refusals.warn(
        `patterns:${registry}`,
        { registry, reason },
        "a key's binding patterns were refused; the wide patterns cover it",
      );
      return undefined;
    }
  }

  #checkOverflow(): void {
    if (!this.#overflow && this.#refs.size > this.#max) this.#overflow = true;
    else if (this.#overflow && this.#refs.size <= this.#resume) this.#overflow = false;
  }

  #wideWanted(): boolean {
    return this.#overflow || this.#wideKeys > 0;
  }

  #wants(pattern: string): boolean {
    return this.#wideWanted() ? this.#wide.includes(pattern) : this.#refs.has(pattern);
  }

  #covered(state: KeyState): boolean {
    if (this.#wide.every((pattern) => this.#bound.has(pattern))) return true;
    return state.patterns?.every((pattern) => this.#bound.has(pattern)) ?? false;
  }

  #schedule(): void {
    const port = this.#port;
    if (port === undefined || this.#running || this.#disposed) return;
    this.#running = true;
    void this.#reconcile(this.#generation, port, false).catch(() => undefined);
  }

  /**
   * Binds what is wanted and not bound, then unbinds what is bound and no
   * longer wanted, until both agree; each step awaits the broker. Stops when
   * a newer attach or a detach took over. `setup` rejects on a failure (the
   * connection's setup then fails and recovery retries); afterwards a failed
   * step is logged and left to the connection's recovery.
   */
  async #reconcile(generation: number, port: BindingPort, setup: boolean): Promise<void> {
    const current = (): boolean => generation === this.#generation;
    try {
      for (;;) {
        const wanted = this.#wideWanted() ? this.#wide : [...this.#refs.keys()];
        const toBind = wanted.filter((pattern) => !this.#bound.has(pattern));
        for (const pattern of toBind) {
          if (!this.#wants(pattern) || this.#bound.has(pattern)) continue;
          await port.bind(pattern);
          if (!current()) return;
          this.#bound.add(pattern);
          if (!setup) this.#release();
          this.#report();
        }
        const toUnbind = [...this.#bound].filter((pattern) => !this.#wants(pattern));
        for (const pattern of toUnbind) {
          if (this.#wants(pattern)) continue;
          // Not bound from now on: a key that wants it again meanwhile waits for its bind-ok.
          this.#bound.delete(pattern);
          await port.unbind(pattern);
          if (!current()) return;
          this.#report();
        }
        if (toBind.length === 0 && toUnbind.length === 0) return;
      }
    } catch (error) {
      if (setup) throw error;
      if (current()) this.#refusals.warn('bind', { reason: reasonOf(error) }, 'binding failed');
    } finally {
      // Synchronously after the last check: a key added from now on schedules a new loop.
      if (current()) this.#running = false;
    }
  }

  /** The keys that waited for a binding and are covered now get their one resync poke. */
  #release(): void {
    for (const state of this.#waiting) {
      if (!this.#covered(state)) continue;
      this.#unwait(state);
      state.target.registry.resyncKeys([state.key], state.target.poke);
    }
  }

  /** The key waits no longer: its `prepare` resolves. */
  #unwait(state: KeyState): void {
    this.#waiting.delete(state);
    this.#prepared.get(state)?.resolve();
    this.#prepared.delete(state);
  }

  #report(): void {
    this.#observer.bindings({ bindings: this.#static + this.#bound.size });
  }

  #expire(gone: readonly KeyState[]): void {
    for (const state of gone) this.#forget(state);
    this.#checkOverflow();
    this.#schedule();
  }

  #forget(state: KeyState): void {
    this.#keys.get(state.target)?.delete(state.key);
    this.#unwait(state);
    if (state.patterns === undefined) {
      this.#wideKeys--;
      return;
    }
    for (const pattern of state.patterns) {
      const refs = (this.#refs.get(pattern) ?? 1) - 1;
      if (refs === 0) this.#refs.delete(pattern);
      else this.#refs.set(pattern, refs);
    }
  }
}
