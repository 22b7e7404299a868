// The bindings engine alone, on a port whose broker answers when the test says.
import { afterEach, describe, expect, it } from 'vitest';
import { createGate, createRegistry, resyncTarget, toSafeTransportObserver, type Registry } from 'pokegate';
import { InterestBindings } from '../../src/transport/interest.js';
import { deferred, type Deferred } from '../utils/deferred.js';
import { captureLogs } from '../utils/log-capture.js';
import { flush, ManualClock } from '../utils/manual-clock.js';
import { resyncPoke, type Poke } from '../utils/orders.js';
import { transportRecorder } from '../utils/transport-recorder.js';

/** A broker whose every bind and unbind waits for the test. */
function slowPort() {
  const calls: { op: 'bind' | 'unbind'; pattern: string; done: Deferred<void> }[] = [];
  const call = (op: 'bind' | 'unbind') => (pattern: string) => {
    const done = deferred();
    calls.push({ op, pattern, done });
    return done.promise;
  };
  return { calls, port: { bind: call('bind'), unbind: call('unbind') } };
}

const disposables: { dispose(): void }[] = [];
afterEach(() => {
  for (const d of disposables.splice(0).reverse()) d.dispose();
});

function setup(lingerMs = 1_000) {
  const clock = new ManualClock();
  const gate = createGate();
  const registry: Registry<Poke> = createRegistry<Poke>({ name: 'ordersChanged', gate, resyncWindowMs: 0 });
  const observer = transportRecorder();
  const { logger, lines } = captureLogs();
  const interest = new InterestBindings(
    { patterns: (key) => [`orders.*.${key}`], wide: ['orders.#'], lingerMs, clock },
    {
      targets: [resyncTarget(registry, resyncPoke)],
      bindingKeys: ['orders.*'],
      observer: toSafeTransportObserver(observer),
      logger,
    },
  );
  disposables.push(gate, registry, interest);
  return { clock, registry, interest, observer, lines };
}

describe('InterestBindings', () => {
  it('makes a key that comes back while its unbind is on the wire wait for the bind again', async () => {
    const { clock, registry, interest } = setup();
    const { calls, port } = slowPort();
    await interest.attach(port);
    const first = registry.addReceiver('c1');
    calls[0]?.done.resolve();
    expect((await first.next()).value).toEqual(resyncPoke('c1'));
    first.close();
    await clock.advance(1_000);
    expect(calls.map((c) => `${c.op} ${c.pattern}`)).toEqual(['bind orders.*.c1', 'unbind orders.*.c1']);
    // Back before the broker answered the unbind: not bound, so it waits for a new bind-ok.
    const again = registry.addReceiver('c1');
    calls[1]?.done.resolve();
    await flush();
    expect(calls.map((c) => `${c.op} ${c.pattern}`).at(-1)).toBe('bind orders.*.c1');
    let poked = false;
    void again.next().then(() => (poked = true));
    await flush();
    expect(poked).toBe(false);
    calls[2]?.done.resolve();
    await flush();
    expect(poked).toBe(true);
  });

  it('lets prepare wait for the bind-ok, and end at once when the queue is lost', async () => {
    const { registry, interest } = setup();
    const { calls, port } = slowPort();
    // Not attached: nothing to wait for (the resync after the connect covers it).
    expect(await registry.prepare('c0')).toBe(false);
    void interest.attach(port).catch(() => undefined);
    await flush();
    interest.connected();
    let ready = false;
    void registry.prepare('c1').then(() => (ready = true));
    await flush();
    expect(ready).toBe(false);
    interest.detach();
    await flush();
    expect(ready).toBe(true);
    expect(calls.length).toBeGreaterThan(0);
  });

  it('covers a key whose patterns are not patterns with the wide ones, and says so once', async () => {
    const { registry, observer } = setup();
    const { logger, lines } = captureLogs();
    const port = { bind: () => Promise.resolve(), unbind: () => Promise.resolve() };
    const broken = new InterestBindings(
      { patterns: (key) => (key === 'long' ? ['x'.repeat(300)] : ([] as string[])), wide: ['orders.#'] },
      {
        targets: [resyncTarget(registry, resyncPoke)],
        bindingKeys: [],
        observer: toSafeTransportObserver(observer),
        logger,
      },
    );
    disposables.push(broken);
    await broken.attach(port);
    registry.addReceiver('long');
    registry.addReceiver('empty');
    await flush();
    expect(observer.refusals).toHaveLength(2);
    // Only the wide pattern, and one warning for the two refusals.
    expect(broken.bindings).toBe(1);
    expect(broken.wanted).toBe(0);
    expect(lines.filter((line) => line['level'] === 40)).toHaveLength(1);
  });

  it('refuses options it cannot use', () => {
    const { registry } = setup();
    const context = {
      targets: [resyncTarget(registry, resyncPoke)],
      bindingKeys: [],
      observer: toSafeTransportObserver({}),
      logger: captureLogs().logger,
    };
    const make = (options: object) => () =>
      new InterestBindings({ patterns: () => [], wide: ['#'], ...options }, context);
    expect(make({ maxBindings: 0 })).toThrow(/`interest.maxBindings`/);
    expect(make({ maxBindings: 10, resumeBindings: 11 })).toThrow(/`interest.resumeBindings`/);
    expect(make({ wide: [] })).toThrow(/`interest.wide`/);
    expect(make({ lingerMs: -1 })).toThrow(/`interest.lingerMs`/);
  });
});
