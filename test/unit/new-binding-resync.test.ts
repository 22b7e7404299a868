// The reference service's subscription resolver over interest routing, on a
// broker that answers when the test says: a subscriber whose company had no
// binding yet reads again once the broker routes to it, and only then.
import { afterEach, describe, expect, it } from 'vitest';
import { createGate, createRegistry, resyncTarget, toSafeTransportObserver, type Registry } from 'pokegate';
import type { GraphQLContext } from '../../src/service/context.js';
import { resyncPoke, type OrderChange } from '../../src/service/orders/types.js';
import { resolvers } from '../../src/service/resolvers.js';
import { InterestBindings } from '../../src/transport/interest.js';
import { deferred, type Deferred } from '../utils/deferred.js';
import { captureLogs } from '../utils/log-capture.js';
import { flush, ManualClock } from '../utils/manual-clock.js';
import { transportRecorder } from '../utils/transport-recorder.js';

type Subscribe = (parent: unknown, args: { companyId: string }, context: GraphQLContext) => Promise<unknown>;
const subscribe = (resolvers.Subscription?.ordersChanged as unknown as { subscribe: Subscribe }).subscribe;

const disposables: { dispose(): void }[] = [];
afterEach(() => {
  for (const d of disposables.splice(0).reverse()) d.dispose();
});

function setup() {
  const gate = createGate();
  const registry: Registry<OrderChange> = createRegistry<OrderChange>({ name: 'ordersChanged', gate });
  const interest = new InterestBindings(
    { patterns: (key) => [`orders.*.${key}`], wide: ['orders.#'], clock: new ManualClock() },
    {
      targets: [resyncTarget(registry, resyncPoke)],
      bindingKeys: ['orders.*'],
      observer: toSafeTransportObserver(transportRecorder()),
      logger: captureLogs().logger,
    },
  );
  disposables.push(gate, registry, interest);
  const binds: Deferred<void>[] = [];
  const port = {
    bind: () => {
      const done = deferred();
      binds.push(done);
      return done.promise;
    },
    unbind: () => Promise.resolve(),
  };
  const context = {
    principal: { sub: 'u1', companies: new Set(['c1']), admin: false },
    ordersChanged: registry,
  } as unknown as GraphQLContext;
  const open = async (companyId: string) =>
    (await subscribe(undefined, { companyId }, context)) as AsyncIterator<OrderChange>;
  return { registry, interest, port, binds, open };
}

/** The specific poke of a change the gate found visible. */
function poke(companyId: string, orderId: string): OrderChange {
  return { companyId, orderId, removed: false, version: 1, token: null };
}

describe('a subscriber whose company has no binding yet', () => {
  it('gets one resync poke after bind-ok, so a change published before it is seen; one already bound gets none', async () => {
    const { registry, interest, port, binds, open } = setup();
    await interest.attach(port);
    interest.connected();
    /** The read view: the projection gets every event, whatever this replica is bound to. */
    const view: string[] = [];

    const subscribing = open('c1');
    // graphql-ws runs the client's first fetch alongside: it reads before the broker bound c1.
    const firstRead = [...view];
    // Published now: the projection has it, but this replica's queue is not bound to c1 yet.
    view.push('o-between');
    await flush();
    expect(binds).toHaveLength(1);
    binds[0]?.resolve();
    const first = await subscribing;

    expect(firstRead).toEqual([]);
    const waiting = await Promise.race([first.next(), flush().then(() => 'nothing waiting')]);
    expect(waiting).toEqual({ value: resyncPoke('c1'), done: false });
    // The client's refetch after the resync poke sees what its first read missed.
    expect([...view]).toContain('o-between');

    // Already bound: the second subscriber is routed at once and gets no resync poke.
    const second = await open('c1');
    expect(binds).toHaveLength(1);
    await registry.submit('c1', () => poke('c1', 'o-after'));
    expect((await first.next()).value).toEqual(poke('c1', 'o-after'));
    expect((await second.next()).value).toEqual(poke('c1', 'o-after'));
    // Exactly one resync poke: nothing else waits for either of them.
    let more = false;
    void first.next().then(() => (more = true));
    void second.next().then(() => (more = true));
    await flush();
    expect(more).toBe(false);
  });
});
