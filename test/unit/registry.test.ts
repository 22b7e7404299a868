import { afterEach, describe, expect, it } from 'vitest';
import { createGate, createRegistry, RegistryDisposedError, type Gate, type Registry } from 'pokegate';
import { deferred } from '../utils/deferred.js';
import { flush, ManualClock } from '../utils/manual-clock.js';
import { recordingObserver } from '../utils/recording-observer.js';

interface Poke {
  readonly id: string;
  readonly version: number;
}

const disposables: { dispose(): void }[] = [];
afterEach(() => {
  for (const d of disposables.splice(0)) d.dispose();
});

function setup(
  options: { bufferSize?: number; resyncWindowMs?: number; equals?: (a: Poke, b: Poke) => boolean } = {},
) {
  const clock = new ManualClock();
  const observer = recordingObserver();
  const gate: Gate = createGate({ clock, observer, retry: { jitter: 0 } });
  const registry: Registry<Poke> = createRegistry<Poke>({ name: 'ordersChanged', gate, ...options });
  disposables.push(registry, gate);
  return { clock, observer, gate, registry };
}

/** Takes whatever is already waiting in the receiver, without waiting for more. */
async function drain<T>(iterator: AsyncIterator<T>, count: number): Promise<T[]> {
  const values: T[] = [];
  for (let i = 0; i < count; i++) {
    const result = await iterator.next();
    if (result.done === true) break;
    values.push(result.value);
  }
  return values;
}

describe('Registry', () => {
  it('pokes every receiver of the key once for one submit', async () => {
    const { registry } = setup();
    const receivers = Array.from({ length: 5 }, () => registry.addReceiver('c1'));
    const other = registry.addReceiver('c2');
    const result = await registry.submit('c1', () => ({ id: 'o1', version: 1 }));
    expect(result).toEqual({
      status: 'delivered',
      value: { id: 'o1', version: 1 },
      receivers: 5,
      attempts: 1,
    });
    for (const receiver of receivers)
      expect(await receiver.next()).toEqual({ value: { id: 'o1', version: 1 }, done: false });
    other.close();
    expect(await other.next()).toEqual({ value: undefined, done: true });
  });

  it('runs the producer once per submit whatever the number of receivers', async () => {
    const { registry } = setup();
    for (let i = 0; i < 100; i++) registry.addReceiver('c1');
    let runs = 0;
    await registry.submit('c1', () => {
      runs++;
      return { id: 'o1', version: 1 };
    });
    expect(runs).toBe(1);
  });

  it('never runs the producer for keys with no receiver, and counts the skip', async () => {
    const { registry, observer } = setup();
    registry.addReceiver('c2');
    let runs = 0;
    const result = await registry.submit('c1', () => {
      runs++;
      return { id: 'o1', version: 1 };
    });
    expect(result).toEqual({ status: 'skipped', reason: 'no_receivers' });
    expect(runs).toBe(0);
    expect(observer.events.skipped).toEqual([{ registry: 'ordersChanged', reason: 'no_receivers' }]);
  });

  it('pokes the keys an addressed producer finds, and the wildcard, once the change is visible', async () => {
    const { registry, clock } = setup();
    const [member, other, all] = [
      registry.addReceiver('u1'),
      registry.addReceiver('u2'),
      registry.addReceiver('*'),
    ];
    let checks = 0;
    const result = registry.submitAddressed(() =>
      ++checks < 2 ? undefined : { keys: ['u1', 'u3'], value: { id: 'c1', version: 1 } },
    );
    await flush();
    await clock.advance(1_000);
    expect(await result).toEqual({
      status: 'delivered',
      value: { keys: ['u1', 'u3'], value: { id: 'c1', version: 1 } },
      receivers: 2,
      attempts: 2,
    });
    expect(await member.next()).toEqual({ value: { id: 'c1', version: 1 }, done: false });
    expect(await all.next()).toEqual({ value: { id: 'c1', version: 1 }, done: false });
    other.close();
    expect(await other.next()).toEqual({ value: undefined, done: true });
  });

  it('never runs an addressed producer with no receiver open, and skips one that returns no key list', async () => {
    const { registry, clock } = setup();
    let runs = 0;
    expect(
      await registry.submitAddressed(() => {
        runs++;
        return { keys: ['u1'], value: { id: 'c1', version: 1 } };
      }),
    ).toEqual({ status: 'skipped', reason: 'no_receivers' });
    expect(runs).toBe(0);
    registry.addReceiver('u1');
    const bad = registry.submitAddressed(() => ({ keys: 'u1', value: { id: 'c1', version: 1 } }) as never);
    await flush();
    await clock.advance(10_000);
    const outcome = await bad;
    expect(outcome).toMatchObject({ status: 'skipped', reason: 'error' });
    expect(outcome.status === 'skipped' && outcome.error).toBeInstanceOf(TypeError);
  });

  it('drops for a full receiver without blocking the others', async () => {
    const { registry, observer } = setup({ bufferSize: 2 });
    const slow = registry.addReceiver('c1');
    const fast = registry.addReceiver('c1');
    const seen: number[] = [];
    const consuming = (async () => {
      for await (const poke of fast) {
        seen.push(poke.version);
        if (poke.version === 5) break;
      }
    })();
    for (let version = 1; version <= 5; version++) {
      await registry.submit('c1', () => ({ id: 'o1', version }));
      await flush();
    }
    await consuming;
    expect(seen).toEqual([1, 2, 3, 4, 5]);
    expect(await drain(slow, 2)).toEqual([
      { id: 'o1', version: 1 },
      { id: 'o1', version: 2 },
    ]);
    const drops = observer.events.dropped.filter((e) => e.reason === 'buffer_full');
    expect(drops.reduce((sum, e) => sum + e.count, 0)).toBe(3);
    expect(fast.closed).toBe(true);
  });

  it('does not queue a poke equal to one already waiting', async () => {
    const { registry, observer } = setup();
    const receiver = registry.addReceiver('c1');
    await registry.submit('c1', () => ({ id: 'o1', version: 1 }));
    await registry.submit('c1', () => ({ id: 'o1', version: 1 }));
    await registry.submit('c1', () => ({ id: 'o1', version: 2 }));
    expect(observer.events.dropped).toEqual([{ registry: 'ordersChanged', reason: 'duplicate', count: 1 }]);
    receiver.close();
    // A closed receiver completes at once: what was still buffered is discarded with it.
    expect(await receiver.next()).toEqual({ value: undefined, done: true });
  });

  it('hands a poke straight to a waiting next()', async () => {
    const { registry } = setup();
    const receiver = registry.addReceiver('c1');
    const next = receiver.next();
    await registry.submit('c1', () => ({ id: 'o1', version: 1 }));
    expect(await next).toEqual({ value: { id: 'o1', version: 1 }, done: false });
  });

  describe('sink', () => {
    it('hands pokes to the sink during the fan-out while the consumer idles in next()', async () => {
      const { registry } = setup();
      const receiver = registry.addReceiver('c1');
      const taken: Poke[] = [];
      receiver.setSink((poke) => taken.push(poke) > 0);
      const next = receiver.next();
      await registry.submit('c1', () => ({ id: 'o1', version: 1 }));
      await registry.submit('c1', () => ({ id: 'o1', version: 2 }));
      expect(taken).toEqual([
        { id: 'o1', version: 1 },
        { id: 'o1', version: 2 },
      ]);
      receiver.close();
      expect(await next).toEqual({ value: undefined, done: true });
    });

    it('sends a refused poke, and every poke after it until the consumer idles again, through next()', async () => {
      const { registry } = setup();
      const receiver = registry.addReceiver('c1');
      const taken: number[] = [];
      let accept = false;
      receiver.setSink((poke) => accept && taken.push(poke.version) > 0);
      const first = receiver.next();
      await registry.submit('c1', () => ({ id: 'o1', version: 1 })); // refused: to the waiting next()
      accept = true;
      await registry.submit('c1', () => ({ id: 'o1', version: 2 })); // nobody waits: buffered, in order
      expect((await first).value).toEqual({ id: 'o1', version: 1 });
      expect((await receiver.next()).value).toEqual({ id: 'o1', version: 2 });
      const idle = receiver.next();
      await registry.submit('c1', () => ({ id: 'o1', version: 3 }));
      expect(taken).toEqual([3]);
      receiver.close();
      expect(await idle).toEqual({ value: undefined, done: true });
    });

    it('treats a sink that throws as one that refuses, and stops using a detached one', async () => {
      const { registry } = setup();
      const receiver = registry.addReceiver('c1');
      const detach = receiver.setSink(() => {
        throw new Error('broken transport');
      });
      const first = receiver.next();
      await registry.submit('c1', () => ({ id: 'o1', version: 1 }));
      expect((await first).value).toEqual({ id: 'o1', version: 1 });
      let calls = 0;
      receiver.setSink(() => ++calls > 0);
      detach(); // the first sink's detach leaves the second one in place
      const second = receiver.next();
      await registry.submit('c1', () => ({ id: 'o1', version: 2 }));
      expect(calls).toBe(1);
      receiver.close();
      expect(await second).toEqual({ value: undefined, done: true });
    });
  });

  it('forgets a key with its only receiver, and keeps a key while one of several is open', async () => {
    const { registry } = setup();
    const only = registry.addReceiver('c1');
    const [a, b] = [registry.addReceiver('c2'), registry.addReceiver('c2')];
    only.close();
    a.close();
    expect([...registry.keys()]).toEqual(['c2']);
    expect(await registry.submit('c2', () => ({ id: 'o1', version: 1 }))).toMatchObject({ receivers: 1 });
    expect((await b.next()).value).toEqual({ id: 'o1', version: 1 });
    b.close();
    expect([...registry.keys()]).toEqual([]);
    const again = registry.addReceiver('c2');
    expect(await registry.submit('c2', () => ({ id: 'o2', version: 1 }))).toMatchObject({ receivers: 1 });
    expect((await again.next()).value).toEqual({ id: 'o2', version: 1 });
  });

  it('serves concurrent next() calls in order without handing out a poke twice', async () => {
    const { registry } = setup();
    const receiver = registry.addReceiver('c1');
    const first = receiver.next();
    const second = receiver.next();
    await registry.submit('c1', () => ({ id: 'o1', version: 1 }));
    await registry.submit('c1', () => ({ id: 'o1', version: 2 }));
    expect((await first).value).toEqual({ id: 'o1', version: 1 });
    expect((await second).value).toEqual({ id: 'o1', version: 2 });
  });

  it('cleans up on return(), idempotently, and forgets empty keys', async () => {
    const { registry, observer } = setup();
    const a = registry.addReceiver('c1');
    const b = registry.addReceiver(['c1', 'u1']);
    expect(registry.size).toBe(2);
    expect([...registry.keys()].sort()).toEqual(['c1', 'u1']);
    expect(await a.return()).toEqual({ value: undefined, done: true });
    a.close();
    await a.return();
    expect(registry.size).toBe(1);
    b.close();
    expect(registry.size).toBe(0);
    expect([...registry.keys()]).toEqual([]);
    expect(registry.hasReceivers(['c1', 'u1'])).toBe(false);
    expect(observer.events.receivers.map((e) => e.open)).toEqual([1, 2, 1, 0]);
  });

  it('completes a waiting next() when the receiver closes', async () => {
    const { registry } = setup();
    const receiver = registry.addReceiver('c1');
    const next = receiver.next();
    receiver.close();
    expect(await next).toEqual({ value: undefined, done: true });
  });

  it('closes the receiver when its signal aborts', async () => {
    const { registry } = setup();
    const controller = new AbortController();
    const receiver = registry.addReceiver('c1', { signal: controller.signal });
    const next = receiver.next();
    controller.abort();
    expect(await next).toEqual({ value: undefined, done: true });
    expect(registry.size).toBe(0);
    const late = registry.addReceiver('c1', { signal: controller.signal });
    expect(late.closed).toBe(true);
    expect(registry.size).toBe(0);
  });

  it('hands a receiver its `first` value before anything submitted, and to no other receiver', async () => {
    const { registry } = setup();
    const other = registry.addReceiver('c1');
    const receiver = registry.addReceiver('c1', { first: { id: 'resync', version: 0 } });
    await registry.submit('c1', () => ({ id: 'o1', version: 1 }));
    expect(await drain(receiver, 2)).toEqual([
      { id: 'resync', version: 0 },
      { id: 'o1', version: 1 },
    ]);
    expect(await other.next()).toEqual({ value: { id: 'o1', version: 1 }, done: false });
    const aborted = registry.addReceiver('c1', {
      signal: AbortSignal.abort(),
      first: { id: 'x', version: 0 },
    });
    expect(await aborted.next()).toEqual({ value: undefined, done: true });
  });

  it('says from prepare whether it waited for a watcher, and false with none', async () => {
    const { registry } = setup();
    expect(await registry.prepare('c1')).toBe(false);
    const bound = deferred();
    const stop = registry.watchKeys({
      added: () => undefined,
      removed: () => undefined,
      prepare: (key) => (key === 'new' ? bound.promise : undefined),
    });
    expect(await registry.prepare('old')).toBe(false);
    const waiting = registry.prepare(['old', 'new']);
    let settled = false;
    void waiting.then(() => (settled = true));
    await flush();
    expect(settled).toBe(false);
    bound.resolve();
    expect(await waiting).toBe(true);
    stop();
  });

  it('ends a for-await loop in a graphql-js style consumer on return()', async () => {
    const { registry } = setup();
    const receiver = registry.addReceiver('c1');
    const got = deferred<Poke>();
    const loop = (async () => {
      for await (const poke of receiver) {
        got.resolve(poke);
        break; // calls return()
      }
    })();
    await registry.submit('c1', () => ({ id: 'o1', version: 1 }));
    expect(await got.promise).toEqual({ id: 'o1', version: 1 });
    await loop;
    expect(registry.size).toBe(0);
  });

  it('lets a receiver close during a fan-out without throwing or leaking', async () => {
    const receivers: { close(): void }[] = [];
    let closedDuringFanOut = false;
    const { registry } = setup({
      // equals runs inside the fan-out: use it to close another receiver mid-iteration.
      equals: (a, b) => {
        if (!closedDuringFanOut) {
          closedDuringFanOut = true;
          for (const r of receivers) r.close();
        }
        return a.version === b.version;
      },
    });
    const first = registry.addReceiver('c1');
    await registry.submit('c1', () => ({ id: 'o1', version: 1 }));
    receivers.push(...Array.from({ length: 3 }, () => registry.addReceiver('c1')));
    const result = await registry.submit('c1', () => ({ id: 'o1', version: 2 }));
    expect(result.status).toBe('delivered');
    expect(closedDuringFanOut).toBe(true);
    expect(registry.size).toBe(1);
    expect(await drain(first, 2)).toEqual([
      { id: 'o1', version: 1 },
      { id: 'o1', version: 2 },
    ]);
  });

  it('gives the wildcard receiver everything, and a multi-key submit reaches each receiver once', async () => {
    const { registry } = setup();
    const admin = registry.addReceiver('*');
    const company = registry.addReceiver('c1');
    const user = registry.addReceiver('u1');
    const both = registry.addReceiver(['c1', 'u1']);
    const result = await registry.submit(['c1', 'u1', '*'], () => ({ id: 'o1', version: 1 }));
    expect(result).toMatchObject({ status: 'delivered', receivers: 4 });
    await registry.submit('c9', () => ({ id: 'o9', version: 1 }));
    expect(await drain(admin, 2)).toEqual([
      { id: 'o1', version: 1 },
      { id: 'o9', version: 1 },
    ]);
    for (const r of [company, user, both]) {
      expect(await r.next()).toEqual({ value: { id: 'o1', version: 1 }, done: false });
      r.close();
      expect(await r.next()).toEqual({ value: undefined, done: true });
    }
  });

  it('handles subscribes and submits interleaved concurrently', async () => {
    const { registry } = setup();
    const submits: Promise<unknown>[] = [];
    const receivers = [];
    for (let i = 0; i < 50; i++) {
      receivers.push(registry.addReceiver(`c${i % 5}`));
      submits.push(registry.submit(`c${i % 5}`, async () => Promise.resolve({ id: `o${i}`, version: 1 })));
      if (i % 7 === 0) receivers.shift()?.close();
    }
    await Promise.all(submits);
    for (const receiver of receivers) {
      const result = await receiver.next();
      expect(result.done).toBe(false);
      receiver.close();
    }
    expect(registry.size).toBe(0);
  });

  it('rejects an empty key with a TypeError', () => {
    const { registry } = setup();
    expect(() => registry.addReceiver('')).toThrow(TypeError);
    expect(() => registry.addReceiver([])).toThrow(TypeError);
    expect(registry.size).toBe(0);
  });

  it('names a bad gate or equals option when it is created, not on the first submit', () => {
    const { gate } = setup();
    const noGate = { name: 'ordersChanged', gate: {} as Gate };
    expect(() => createRegistry<Poke>(noGate)).toThrow(
      'Expected `gate` to be a gate (from `createGate`), got',
    );
    const badEquals = { name: 'ordersChanged', gate, equals: 'deep' as unknown as () => boolean };
    expect(() => createRegistry<Poke>(badEquals)).toThrow('Expected `equals` to be a function, got "deep"');
  });

  it('keeps delivering when an observer hook throws', async () => {
    const gate = createGate({
      observer: {
        delivered: () => {
          throw new Error('broken dashboard');
        },
        receivers: () => {
          throw new Error('broken dashboard');
        },
      },
    });
    const registry = createRegistry<Poke>({ name: 'ordersChanged', gate });
    disposables.push(registry, gate);
    const receiver = registry.addReceiver('c1');
    await registry.submit('c1', () => ({ id: 'o1', version: 1 }));
    expect(await receiver.next()).toEqual({ value: { id: 'o1', version: 1 }, done: false });
  });

  describe('resync', () => {
    it('pokes every open receiver once, spread over the window', async () => {
      const { registry, clock, observer } = setup({ resyncWindowMs: 100 });
      const receivers = [
        ...Array.from({ length: 20 }, () => registry.addReceiver('c1')),
        ...Array.from({ length: 20 }, () => registry.addReceiver('c2')),
        registry.addReceiver(['c3', 'c1']),
      ];
      const made: string[] = [];
      const done = registry.resync((key) => {
        made.push(key);
        return { id: `resync:${key}`, version: 0 };
      });
      await flush();
      expect(observer.events.delivered.reduce((n, e) => n + e.receivers, 0)).toBeLessThan(41);
      await clock.advance(100);
      expect(await done).toBe(41);
      expect(made.sort()).toEqual(['c1', 'c2', 'c3']);
      for (const receiver of receivers) {
        const { value } = await receiver.next();
        expect(value?.id).toBe(`resync:${receiver.keys[0] ?? ''}`);
      }
      expect(observer.events.resync).toEqual([{ registry: 'ordersChanged', receivers: 41 }]);
      expect(clock.pending).toBe(0);
    });

    it('pokes all at once with a zero window, and skips receivers that closed meanwhile', async () => {
      const { registry, clock } = setup({ resyncWindowMs: 1000 });
      const a = registry.addReceiver('c1');
      const b = registry.addReceiver('c1');
      const spreading = registry.resync(() => ({ id: 'r', version: 0 }));
      b.close();
      await clock.advance(1000);
      expect(await spreading).toBe(1);
      expect(await registry.resync(() => ({ id: 'r2', version: 0 }), { windowMs: 0 })).toBe(1);
      expect(await drain(a, 2)).toEqual([
        { id: 'r', version: 0 },
        { id: 'r2', version: 0 },
      ]);
    });

    it('lets a new resync supersede one still spreading', async () => {
      const { registry, clock } = setup({ resyncWindowMs: 1000 });
      for (let i = 0; i < 200; i++) registry.addReceiver(`c${i}`);
      const first = registry.resync(() => ({ id: 'r1', version: 0 }));
      await clock.advance(100);
      const second = registry.resync(() => ({ id: 'r2', version: 0 }));
      expect(await first).toBeLessThan(200);
      await clock.advance(1000);
      expect(await second).toBe(200);
      expect(clock.pending).toBe(0);
    });
  });

  describe('dispose', () => {
    it('completes every iterator, cancels pending gate work and leaves no timer behind', async () => {
      const { registry, clock, gate, observer } = setup();
      const waiting = registry.addReceiver('c1');
      const idle = registry.addReceiver('*');
      let signal: AbortSignal | undefined;
      const pending = registry.submit('c1', ({ signal: s }) => {
        signal = s;
        return undefined; // never visible: the gate keeps retrying
      });
      // Two receivers over 500 ms: the first is poked at once, the second is still to come.
      const resync = registry.resync(() => ({ id: 'r', version: 0 }), { windowMs: 500 });
      expect((await waiting.next()).value).toEqual({ id: 'r', version: 0 });
      const next = waiting.next();
      await flush();
      expect(clock.pending).toBeGreaterThan(0);
      registry.dispose();
      registry.dispose();
      expect(await next).toEqual({ value: undefined, done: true });
      expect(await idle.next()).toEqual({ value: undefined, done: true });
      expect(await pending).toEqual({ status: 'skipped', reason: 'disposed' });
      await resync;
      expect(signal?.aborted).toBe(true);
      expect(registry.size).toBe(0);
      expect(gate.stats).toEqual({ running: 0, queued: 0 });
      expect(clock.pending).toBe(0);
      expect(await registry.submit('c1', () => ({ id: 'o', version: 1 }))).toEqual({
        status: 'skipped',
        reason: 'disposed',
      });
      expect(() => registry.addReceiver('c1')).toThrow(RegistryDisposedError);
      expect(observer.events.skipped.map((e) => e.reason)).toEqual(['disposed', 'disposed']);
    });

    it('leaves other registries on the same gate untouched', async () => {
      const { registry, gate } = setup();
      const other = createRegistry<Poke>({ name: 'usersChanged', gate });
      disposables.push(other);
      const receiver = other.addReceiver('u1');
      registry.addReceiver('c1');
      registry.dispose();
      expect(await other.submit('u1', () => ({ id: 'u1', version: 1 }))).toMatchObject({
        status: 'delivered',
      });
      expect((await receiver.next()).value).toEqual({ id: 'u1', version: 1 });
    });
  });

  describe('key watchers', () => {
    it("reports each key's first receiver and its last one leaving, and the keys open when watching starts", () => {
      const { registry } = setup();
      const early = registry.addReceiver('c0');
      const seen: string[] = [];
      const unwatch = registry.watchKeys({
        added: (key) => seen.push(`+${key}`),
        removed: (key) => seen.push(`-${key}`),
      });
      const a = registry.addReceiver(['c1', 'c2']);
      const b = registry.addReceiver('c1');
      a.close();
      b.close();
      early.close();
      unwatch();
      registry.addReceiver('c3');
      expect(seen).toEqual(['+c0', '+c1', '+c2', '-c2', '-c1', '-c0']);
    });

    it('ignores a watcher that throws: the receiver opens and closes as usual', () => {
      const { registry } = setup();
      registry.watchKeys({
        added: () => {
          throw new Error('watcher bug');
        },
        removed: () => {
          throw new Error('watcher bug');
        },
      });
      const receiver = registry.addReceiver('c1');
      expect(registry.size).toBe(1);
      receiver.close();
      expect(registry.size).toBe(0);
    });

    it('pokes the receivers of some keys at once, each receiver once, leaving a resync still spreading alone', async () => {
      const { registry, clock } = setup({ resyncWindowMs: 1_000 });
      const both = registry.addReceiver(['c1', 'c2']);
      const other = registry.addReceiver('c3');
      const spreading = registry.resync((key) => ({ id: `resync-${key}`, version: 0 }));
      expect(registry.resyncKeys(['c1', 'c2', 'nobody'], (key) => ({ id: `bound-${key}`, version: 0 }))).toBe(
        1,
      );
      await clock.advance(1_000);
      expect(await spreading).toBe(2);
      const pokes = await drain(both, 2);
      expect(pokes.map((poke) => poke.id).sort()).toEqual(['bound-c1', 'resync-c1']);
      expect((await other.next()).value).toEqual({ id: 'resync-c3', version: 0 });
    });
  });
});
