import { afterEach, describe, expect, it } from 'vitest';
import { createGate, createRegistry, GateTimeoutError, type GateOptions, type Registry } from 'pokegate';
import { deferred, type Deferred } from '../utils/deferred.js';
import { flush, ManualClock } from '../utils/manual-clock.js';
import { recordingObserver } from '../utils/recording-observer.js';

const disposables: { dispose(): void }[] = [];
afterEach(() => {
  for (const d of disposables.splice(0)) d.dispose();
});

function setup(options: GateOptions = {}) {
  const clock = new ManualClock();
  const observer = recordingObserver();
  const gate = createGate({
    clock,
    observer,
    retry: { minDelayMs: 10, maxDelayMs: 40, jitter: 0 },
    ...options,
  });
  const registry: Registry<number> = createRegistry<number>({ name: 'ordersChanged', gate });
  const receiver = registry.addReceiver('c1');
  disposables.push(registry, gate);
  return { clock, observer, gate, registry, receiver };
}

describe('Gate', () => {
  it('retries a not-yet-visible check with exponential backoff until it is visible', async () => {
    const { clock, observer, registry, receiver } = setup();
    const attempts: number[] = [];
    const result = registry.submit('c1', ({ attempt }) => {
      attempts.push(attempt);
      return attempt < 4 ? undefined : 7;
    });
    await clock.advance(10);
    await clock.advance(20);
    expect(attempts).toEqual([1, 2, 3]);
    await clock.advance(40);
    expect(await result).toEqual({ status: 'delivered', value: 7, receivers: 1, attempts: 4 });
    expect(observer.events.retry.map((e) => e.delayMs)).toEqual([10, 20, 40]);
    expect(observer.events.gateCheck.map((e) => e.outcome)).toEqual([
      'not_visible',
      'not_visible',
      'not_visible',
      'visible',
    ]);
    expect(observer.events.visible).toEqual([{ registry: 'ordersChanged', gateMs: 70 }]);
    expect((await receiver.next()).value).toBe(7);
  });

  it('caps the backoff at maxDelayMs and applies jitter below it', async () => {
    const { clock, observer, registry } = setup({
      random: () => 0.5,
      retry: { minDelayMs: 10, maxDelayMs: 25, factor: 3, jitter: 0.5 },
    });
    void registry.submit('c1', () => undefined);
    await clock.advance(1_000);
    const delays = observer.events.retry.map((e) => e.delayMs);
    expect(delays.slice(0, 3)).toEqual([7.5, 18.75, 18.75]);
  });

  it('retries a throwing check within the same budget and reports error when it is spent', async () => {
    const { clock, registry, observer } = setup({ timeoutMs: 100 });
    let runs = 0;
    const result = registry.submit('c1', () => {
      runs++;
      throw new Error('connection reset');
    });
    await clock.advance(200);
    const outcome = await result;
    expect(outcome).toMatchObject({ status: 'skipped', reason: 'error' });
    expect(outcome.status === 'skipped' && outcome.error?.message).toBe('connection reset');
    expect(runs).toBeGreaterThan(1);
    expect(observer.events.skipped).toEqual([{ registry: 'ordersChanged', reason: 'error' }]);
  });

  it('recovers after a transient throw', async () => {
    const { clock, registry } = setup();
    const result = registry.submit('c1', ({ attempt }) => {
      if (attempt === 1) throw new Error('connection reset');
      return 1;
    });
    await clock.advance(10);
    expect(await result).toMatchObject({ status: 'delivered', attempts: 2 });
  });

  it('skips as timeout and sends nothing when the change never becomes visible', async () => {
    const { clock, registry, receiver, observer } = setup({ timeoutMs: 100 });
    let signal: AbortSignal | undefined;
    const result = registry.submit('c1', (context) => {
      signal = context.signal;
      return undefined;
    });
    await clock.advance(100);
    expect(await result).toEqual({ status: 'skipped', reason: 'timeout' });
    expect(signal?.aborted).toBe(true);
    expect(signal?.reason).toBeInstanceOf(GateTimeoutError);
    expect(observer.events.delivered).toEqual([]);
    receiver.close();
    expect(await receiver.next()).toEqual({ value: undefined, done: true });
    expect(clock.pending).toBe(0);
  });

  it('aborts a producer that hangs past the budget and frees its worker', async () => {
    const { clock, registry, gate } = setup({ timeoutMs: 50, concurrency: 1 });
    let signal: AbortSignal | undefined;
    const hanging = registry.submit('c1', (context) => {
      signal = context.signal;
      return new Promise<number>(() => undefined);
    });
    const next = registry.submit('c1', () => 2);
    await clock.advance(50);
    expect(await hanging).toEqual({ status: 'skipped', reason: 'timeout' });
    expect(signal?.aborted).toBe(true);
    // The worker is free again: the queued submission ran (its own budget started at submit, too).
    expect(await next).toMatchObject({ status: 'skipped', reason: 'timeout' });
    expect(await registry.submit('c1', () => 3)).toMatchObject({ status: 'delivered', value: 3 });
    expect(gate.stats).toEqual({ running: 0, queued: 0 });
  });

  it('starts the budget at submit, so time spent queued counts', async () => {
    const { clock, registry } = setup({ timeoutMs: 100, concurrency: 1 });
    const blocker = deferred<number>();
    const first = registry.submit('c1', () => blocker.promise);
    let secondRan = false;
    const second = registry.submit('c1', () => {
      secondRan = true;
      return 2;
    });
    await clock.advance(60);
    blocker.resolve(1);
    expect(await first).toMatchObject({ status: 'delivered' });
    await clock.advance(60);
    expect(await second).toMatchObject({ status: 'delivered' });
    expect(secondRan).toBe(true);
    const third = registry.submit('c1', () => new Promise<number>(() => undefined));
    const fourth = registry.submit('c1', () => 4);
    await clock.advance(100);
    expect(await third).toMatchObject({ reason: 'timeout' });
    expect(await fourth).toMatchObject({ reason: 'timeout' });
  });

  it('never runs more producers at once than its concurrency', async () => {
    const { registry } = setup({ concurrency: 3 });
    let running = 0;
    let peak = 0;
    const gates: Deferred<number>[] = [];
    const results = Array.from({ length: 10 }, () =>
      registry.submit('c1', () => {
        running++;
        peak = Math.max(peak, running);
        const d = deferred<number>();
        gates.push(d);
        return d.promise.finally(() => running--);
      }),
    );
    for (let i = 0; i < 10; i++) {
      await flush();
      gates.shift()?.resolve(i);
    }
    await Promise.all(results);
    expect(peak).toBe(3);
  });

  it('skips as overloaded beyond maxQueued, and the queue never grows past it', async () => {
    const { registry, gate, observer } = setup({ concurrency: 1, maxQueued: 2 });
    const blocker = deferred<number>();
    const results = [registry.submit('c1', () => blocker.promise)];
    await flush();
    results.push(
      registry.submit('c1', () => 2),
      registry.submit('c1', () => 3),
    );
    expect(await registry.submit('c1', () => 4)).toEqual({ status: 'skipped', reason: 'overloaded' });
    expect(gate.stats).toEqual({ running: 1, queued: 2 });
    expect(observer.events.queueDepth.at(-1)).toEqual({ registry: 'ordersChanged', depth: 2 });
    blocker.resolve(1);
    expect((await Promise.all(results)).map((r) => r.status)).toEqual([
      'delivered',
      'delivered',
      'delivered',
    ]);
  });

  it('skips without a check when every receiver left while the submission waited', async () => {
    const { registry, receiver } = setup({ concurrency: 1 });
    const blocker = deferred<number>();
    const first = registry.submit('c1', () => blocker.promise);
    let ran = false;
    const second = registry.submit('c1', () => {
      ran = true;
      return 2;
    });
    await flush();
    receiver.close();
    blocker.resolve(1);
    expect(await first).toEqual({ status: 'skipped', reason: 'no_receivers' });
    expect(await second).toEqual({ status: 'skipped', reason: 'no_receivers' });
    expect(ran).toBe(false);
  });

  it('resolves idle() once nothing is pending', async () => {
    const { registry, gate } = setup();
    const blocker = deferred<number>();
    const result = registry.submit('c1', () => blocker.promise);
    let idle = false;
    const waiting = gate.idle().then(() => (idle = true));
    await flush();
    expect(idle).toBe(false);
    blocker.resolve(1);
    await result;
    await waiting;
    expect(idle).toBe(true);
  });

  it('resolves queuedBelow(n) once fewer than n submissions wait, or when its signal aborts', async () => {
    const { registry, gate } = setup({ concurrency: 1 });
    const blocker = deferred<number>();
    const results = ['o1', 'o2', 'o3'].map((id) =>
      registry.submit('c1', () => blocker.promise, { coalesceKey: id }),
    );
    await flush();
    expect(gate.stats).toEqual({ running: 1, queued: 2 });
    await gate.queuedBelow(3); // already below
    let below = false;
    const waiting = gate.queuedBelow(1).then(() => (below = true));
    const controller = new AbortController();
    const abandoned = gate.queuedBelow(1, controller.signal);
    controller.abort();
    await abandoned;
    await flush();
    expect(below).toBe(false);
    blocker.resolve(1);
    await Promise.all(results);
    await waiting;
    expect(gate.stats.queued).toBe(0);
  });

  it('validates its options eagerly with a TypeError naming the option', () => {
    expect(() => createGate({ concurrency: 0 })).toThrow(/`concurrency`.*got `0`/);
    expect(() => createGate({ timeoutMs: Number.NaN })).toThrow(/`timeoutMs`/);
    expect(() => createGate({ maxQueued: 1.5 })).toThrow(/`maxQueued`/);
    expect(() => createGate({ retry: { jitter: 2 } })).toThrow(/`retry.jitter`/);
    expect(() => createGate({ retry: { minDelayMs: 100, maxDelayMs: 10 } })).toThrow(/`retry.maxDelayMs`/);
    expect(() => createGate({ awaitProgressMs: -1 })).toThrow(/`awaitProgressMs`/);
    expect(() => createGate({ fallbackMs: 0 })).toThrow(/`fallbackMs`/);
    expect(() => createGate({ reportedVersions: -1 })).toThrow(/`reportedVersions`/);
    expect(() => createGate({ progressLive: true as unknown as () => boolean })).toThrow(/`progressLive`/);
    expect(() => createGate({ maxQueued: Infinity })).not.toThrow();
  });

  describe('coalescing', () => {
    it('replaces a waiting submission with the newer one: only the newest producer runs', async () => {
      const { registry, observer } = setup({ concurrency: 1 });
      const blocker = deferred<number>();
      const other = registry.submit('c1', () => blocker.promise);
      const ran: number[] = [];
      const results = [1, 2, 3].map((version) =>
        registry.submit(
          'c1',
          () => {
            ran.push(version);
            return version;
          },
          { coalesceKey: 'o1' },
        ),
      );
      blocker.resolve(0);
      await other;
      const outcomes = await Promise.all(results);
      expect(ran).toEqual([3]);
      for (const outcome of outcomes) expect(outcome).toMatchObject({ status: 'delivered', value: 3 });
      expect(observer.events.coalesced).toHaveLength(2);
    });

    it('keeps at most one more while one is running, and checks for the newest', async () => {
      const { registry } = setup();
      const running = deferred<number | undefined>();
      const ran: number[] = [];
      const submit = (version: number, result: () => number | undefined | Promise<number | undefined>) =>
        registry.submit(
          'c1',
          () => {
            ran.push(version);
            return result();
          },
          { coalesceKey: 'o1' },
        );
      const first = submit(1, () => running.promise);
      await flush();
      const later = [2, 3, 4, 5].map((version) => submit(version, () => version));
      await flush();
      expect(ran).toEqual([1]);
      running.resolve(1);
      expect(await first).toMatchObject({ value: 1 });
      for (const outcome of await Promise.all(later)) expect(outcome).toMatchObject({ value: 5 });
      expect(ran).toEqual([1, 5]);
    });

    it('lets a check that found nothing adopt the newer submission parked behind it', async () => {
      const { registry, clock } = setup();
      const check = deferred<number | undefined>();
      const ran: number[] = [];
      const first = registry.submit(
        'c1',
        () => {
          ran.push(1);
          return check.promise;
        },
        { coalesceKey: 'o1' },
      );
      await flush();
      const second = registry.submit(
        'c1',
        () => {
          ran.push(2);
          return 2;
        },
        { coalesceKey: 'o1' },
      );
      check.resolve(undefined);
      await clock.advance(10);
      expect(await first).toMatchObject({ value: 2, attempts: 2 });
      expect(await second).toMatchObject({ value: 2 });
      expect(ran).toEqual([1, 2]);
    });

    it('keeps submissions for other keys or coalesce keys apart', async () => {
      const { registry } = setup({ concurrency: 1 });
      registry.addReceiver('c2');
      const blocker = deferred<number>();
      const head = registry.submit('c1', () => blocker.promise);
      const a = registry.submit('c1', () => 1, { coalesceKey: 'o1' });
      const b = registry.submit('c2', () => 2, { coalesceKey: 'o1' });
      const c = registry.submit('c1', () => 3, { coalesceKey: 'o2' });
      blocker.resolve(0);
      await head;
      expect((await Promise.all([a, b, c])).map((r) => r.status === 'delivered' && r.value)).toEqual([
        1, 2, 3,
      ]);
    });
  });

  describe('progress reports', () => {
    /** A read view whose version the test sets, checked by every producer. */
    function readView() {
      let version = 0;
      let checks = 0;
      return {
        set: (v: number) => {
          version = v;
        },
        get checks() {
          return checks;
        },
        producer: (wanted: number) => (): number | undefined => {
          checks++;
          return version >= wanted ? version : undefined;
        },
      };
    }

    it('checks a waiting submission the moment its version is reported, not at its next poll', async () => {
      const { registry, clock } = setup({ retry: { minDelayMs: 100, maxDelayMs: 100, jitter: 0 } });
      const view = readView();
      const result = registry.submit('c1', view.producer(1), { coalesceKey: 'o1', version: 1 });
      await flush();
      expect(view.checks).toBe(1); // not visible yet: backing off for 100 ms
      view.set(1);
      registry.progress('c1', 'o1', 1);
      expect(await result).toMatchObject({ status: 'delivered', value: 1, attempts: 2 });
      expect(clock.pending).toBe(0);
    });

    it('waits for the report before the first check with awaitProgressMs, so one check suffices', async () => {
      const { registry, observer } = setup({ awaitProgressMs: 50 });
      const view = readView();
      const result = registry.submit('c1', view.producer(1), { coalesceKey: 'o1', version: 1 });
      await flush();
      expect(view.checks).toBe(0);
      view.set(1);
      registry.progress('c1', 'o1', 1);
      expect(await result).toMatchObject({ status: 'delivered', attempts: 1 });
      expect(observer.events.gateCheck.map((e) => e.outcome)).toEqual(['visible']);
    });

    it('checks after awaitProgressMs when no report comes (the projection runs elsewhere)', async () => {
      const { registry, clock } = setup({ awaitProgressMs: 50 });
      const view = readView();
      view.set(1);
      const result = registry.submit('c1', view.producer(1), { coalesceKey: 'o1', version: 1 });
      await clock.advance(49);
      expect(view.checks).toBe(0);
      await clock.advance(1);
      expect(await result).toMatchObject({ status: 'delivered', attempts: 1 });
    });

    it('puts the check off while older versions are reported, then checks once for the newest', async () => {
      const { registry, clock } = setup({ awaitProgressMs: 20 });
      const view = readView();
      const results = [1, 2, 3, 4, 5].map((version) =>
        registry.submit('c1', view.producer(version), { coalesceKey: 'o1', version }),
      );
      for (let version = 1; version <= 4; version++) {
        await clock.advance(15); // the projection applies one version every 15 ms
        view.set(version);
        registry.progress('c1', 'o1', version);
      }
      expect(view.checks).toBe(0);
      await clock.advance(15);
      view.set(5);
      registry.progress('c1', 'o1', 5);
      for (const outcome of await Promise.all(results)) expect(outcome).toMatchObject({ value: 5 });
      expect(view.checks).toBe(1);
    });

    it('checks again at once when the version was reported while a check was reading', async () => {
      const { registry } = setup({ retry: { minDelayMs: 1_000, maxDelayMs: 1_000, jitter: 0 } });
      const reading = deferred<number | undefined>();
      let checks = 0;
      const result = registry.submit('c1', () => (++checks === 1 ? reading.promise : 1), {
        coalesceKey: 'o1',
        version: 1,
      });
      await flush();
      registry.progress('c1', 'o1', 1); // committed after the check read
      reading.resolve(undefined);
      expect(await result).toMatchObject({ status: 'delivered', attempts: 2 });
    });

    it('leaves submissions without a version, or for other keys, alone', async () => {
      const { registry, clock } = setup({ awaitProgressMs: 50 });
      registry.addReceiver('c2');
      const view = readView();
      view.set(1);
      const plain = registry.submit('c1', view.producer(1), { coalesceKey: 'o1' });
      const other = registry.submit('c2', view.producer(1), { coalesceKey: 'o1', version: 1 });
      registry.progress('c1', 'o1', 1);
      expect(await plain).toMatchObject({ status: 'delivered', attempts: 1 }); // checked at once, as ever
      await flush();
      expect(view.checks).toBe(1);
      await clock.advance(50);
      expect(await other).toMatchObject({ status: 'delivered', attempts: 1 });
    });

    it('leaves no timer behind when disposed while it waits for a report', async () => {
      const { registry, gate, clock } = setup({ awaitProgressMs: 50 });
      const pending = registry.submit('c1', () => 1, { coalesceKey: 'o1', version: 1 });
      await flush();
      gate.dispose();
      expect(await pending).toEqual({ status: 'skipped', reason: 'disposed' });
      expect(clock.pending).toBe(0);
    });
  });

  describe('live commit reports', () => {
    /** A read view at `version`, counting its checks. */
    function view(initial = 0) {
      const state = { version: initial, checks: 0 };
      const producer = (wanted: number) => (): number | undefined => {
        state.checks++;
        return state.version >= wanted ? state.version : undefined;
      };
      return { state, producer };
    }

    it('checks once, when the report of its version wakes it, and never polls', async () => {
      const { registry, clock, observer } = setup({ progressLive: () => true, fallbackMs: 1_000 });
      const { state, producer } = view();
      const result = registry.submit('c1', producer(1), { coalesceKey: 'o1', version: 1 });
      await clock.advance(999);
      expect(state.checks).toBe(0);
      state.version = 1;
      registry.progress('c1', 'o1', 1);
      expect(await result).toMatchObject({ status: 'delivered', attempts: 1 });
      expect(state.checks).toBe(1);
      expect(observer.events.fallbackCheck).toEqual([]);
      expect(clock.pending).toBe(0);
    });

    it('checks at once a submission whose version was reported before it came', async () => {
      const { registry, observer } = setup({ progressLive: () => true });
      const { state, producer } = view(2);
      registry.progress('c1', 'o1', 2);
      const result = registry.submit('c1', producer(1), { coalesceKey: 'o1', version: 1 });
      expect(await result).toMatchObject({ status: 'delivered', attempts: 1 });
      expect(state.checks).toBe(1);
      expect(observer.events.fallbackCheck).toEqual([]);
    });

    it('remembers only the newest reported versions, up to reportedVersions', async () => {
      const { registry, clock, observer } = setup({ progressLive: () => true, reportedVersions: 1 });
      const { producer } = view(1);
      registry.progress('c1', 'o1', 1);
      registry.progress('c1', 'o2', 1); // forgets o1's report
      const forgotten = registry.submit('c1', producer(1), { coalesceKey: 'o1', version: 1 });
      const remembered = registry.submit('c1', producer(1), { coalesceKey: 'o2', version: 1 });
      expect(await remembered).toMatchObject({ status: 'delivered', attempts: 1 });
      await clock.advance(1_000);
      expect(await forgotten).toMatchObject({ status: 'delivered', attempts: 1 });
      expect(observer.events.fallbackCheck).toEqual([{ registry: 'ordersChanged', attempt: 1 }]);
    });

    it('checks after fallbackMs when the report never comes, counted as a fallback check', async () => {
      const { registry, clock, observer } = setup({ progressLive: () => true, fallbackMs: 500 });
      const { state, producer } = view();
      const result = registry.submit('c1', producer(1), { coalesceKey: 'o1', version: 1 });
      await clock.advance(500);
      expect(state.checks).toBe(1); // not visible yet: waits for the report again
      state.version = 1;
      await clock.advance(500);
      expect(await result).toMatchObject({ status: 'delivered', attempts: 2 });
      expect(observer.events.fallbackCheck).toEqual([
        { registry: 'ordersChanged', attempt: 1 },
        { registry: 'ordersChanged', attempt: 2 },
      ]);
    });

    it('waits for the report to the end of its budget when the fallback is longer than the budget', async () => {
      let live = false;
      const { registry, clock } = setup({ progressLive: () => live, fallbackMs: 60_000, timeoutMs: 5_000 });
      const { state, producer } = view();
      const result = registry.submit('c1', producer(1), { coalesceKey: 'o1', version: 1 });
      await clock.advance(10); // polled while the listener was not live: not visible yet
      expect(state.checks).toBeGreaterThan(0);
      live = true;
      await clock.advance(140);
      state.version = 1;
      registry.progress('c1', 'o1', 1);
      expect(await result).toMatchObject({ status: 'delivered', value: 1 });
    });

    it('polls with backoff, each poll counted as a fallback check, while reports are not live', async () => {
      let live = false;
      const { registry, clock, observer } = setup({ progressLive: () => live });
      const { state, producer } = view();
      const polled = registry.submit('c1', producer(1), { coalesceKey: 'o1', version: 1 });
      await clock.advance(10 + 20);
      state.version = 1;
      await clock.advance(40);
      expect(await polled).toMatchObject({ status: 'delivered', attempts: 4 });
      expect(observer.events.fallbackCheck).toHaveLength(4);
      live = true;
      const notified = registry.submit('c1', producer(2), { coalesceKey: 'o1', version: 2 });
      await flush();
      state.version = 2;
      registry.progress('c1', 'o1', 2);
      expect(await notified).toMatchObject({ status: 'delivered', attempts: 1 });
      expect(observer.events.fallbackCheck).toHaveLength(4);
    });
  });

  describe('fairness across keys', () => {
    it("runs a quiet key's check before the backlog of a flooding key", async () => {
      const { registry } = setup({ concurrency: 1 });
      registry.addReceiver('quiet');
      const order: string[] = [];
      const blocker = deferred<number>();
      const head = registry.submit('c1', () => blocker.promise);
      const flood = Array.from({ length: 100 }, (_, index) =>
        registry.submit('c1', () => {
          order.push(`c1:${index}`);
          return index;
        }),
      );
      const quiet = registry.submit('quiet', () => {
        order.push('quiet');
        return 1;
      });
      blocker.resolve(0);
      await Promise.all([head, quiet, ...flood]);
      // The flood's first check was already queued when the quiet one came; the quiet one is next.
      expect(order.indexOf('quiet')).toBe(1);
      expect(order.filter((entry) => entry !== 'quiet')).toEqual(flood.map((_, index) => `c1:${index}`));
    });
  });

  it('ends everything as disposed on dispose and skips later submits', async () => {
    const { registry, gate, clock } = setup();
    const pending = registry.submit('c1', () => undefined);
    await flush();
    gate.dispose();
    gate.dispose();
    expect(await pending).toEqual({ status: 'skipped', reason: 'disposed' });
    expect(await registry.submit('c1', () => 1)).toEqual({ status: 'skipped', reason: 'disposed' });
    expect(clock.pending).toBe(0);
  });
});
