// A broker restart under interest routing: the transient queue dies with the
// connection, and the setup that runs on every reconnect declares exactly the
// bindings that are live then (the keys with receivers, and those still in
// their linger), nothing that had expired. In a virtual host of its own; the
// restart stops the whole broker, hence the `broker-faults` project.
import { afterEach, describe, expect, it } from 'vitest';
import { createAmqpPublisher, createAmqpTransientConsumer } from 'pokegate/amqp';
import { createEventParser, createGate, createRegistry, resyncTarget, route, type Registry } from 'pokegate';
import {
  companyBindingKeys,
  orderEventSchema,
  orderRoutingKey,
  type OrderEvent,
} from '../../src/service/orders/events.js';
import { uniqueName, urlForVhost } from '../utils/amqp.js';
import { ManualClock } from '../utils/manual-clock.js';
import { orderEvent, resyncPoke, type Poke } from '../utils/orders.js';
import { rabbitmqctl, useVhost } from '../utils/rabbitmqctl.js';
import { transportRecorder } from '../utils/transport-recorder.js';
import { waitFor } from '../utils/wait-for.js';

const vhost = uniqueName('pokegate-interest-faults');
const url = urlForVhost(vhost);
const exchange = 'pokegate.events';
const reconnect = { minDelayMs: 50, maxDelayMs: 500, startupRetries: 2 };

/** The routing keys bound from `exchange` to the server-named transient queue, from the broker's own view. */
async function transientBindings(): Promise<string[]> {
  const rows = JSON.parse(
    await rabbitmqctl(
      'list_bindings',
      '-q',
      '-p',
      vhost,
      '--formatter',
      'json',
      'source_name',
      'destination_name',
      'routing_key',
    ),
  ) as { source_name: string; destination_name: string; routing_key: string }[];
  return rows
    .filter((row) => row.source_name === exchange && row.destination_name.startsWith('amq.gen-'))
    .map((row) => row.routing_key)
    .sort();
}

describe('interest bindings across a broker restart', () => {
  const closers: (() => Promise<void>)[] = [];
  useVhost(vhost);

  afterEach(async () => {
    for (const close of closers.splice(0).reverse()) await close();
  });

  it('re-declares exactly the live bindings, and each receiver hears its company again', async () => {
    const clock = new ManualClock();
    const gate = createGate();
    const registry: Registry<Poke> = createRegistry<Poke>({ name: 'ordersChanged', gate, resyncWindowMs: 0 });
    const observer = transportRecorder();
    const consumer = createAmqpTransientConsumer<OrderEvent>({
      url,
      exchange,
      parse: createEventParser({ schema: orderEventSchema }),
      map: (event) => {
        const poke: Poke = { companyId: event.companyId, orderId: event.orderId, version: event.version };
        return [route(registry, event.companyId, () => poke)];
      },
      registries: [resyncTarget(registry, resyncPoke)],
      bindingKeys: ['orders.*'],
      interest: { patterns: companyBindingKeys, wide: ['orders.#'], lingerMs: 1_000, clock },
      observer,
      reconnect,
    });
    closers.push(async () => {
      await consumer.close();
      registry.dispose();
      gate.dispose();
    });
    await consumer.start();
    const c1 = registry.addReceiver('c1');
    const dotted = registry.addReceiver('acme.eu');
    const lingering = registry.addReceiver('c-lingering');
    const expired = registry.addReceiver('c-expired');
    for (const receiver of [c1, dotted, lingering, expired]) await receiver.next();
    expired.close();
    await clock.advance(600);
    lingering.close();
    await clock.advance(400);
    await waitFor('the expired binding gone', () => observer.bindingCounts.at(-1) === 4);
    const live = ['orders.*', ...['c1', 'acme.eu', 'c-lingering'].flatMap(companyBindingKeys)].sort();
    expect(await transientBindings()).toEqual(live);

    try {
      await rabbitmqctl('stop_app');
      await waitFor('the consumer to notice', () => !consumer.consuming, { timeoutMs: 30_000 });
    } finally {
      await rabbitmqctl('start_app');
    }
    await waitFor('the consumer back', () => consumer.consuming, { timeoutMs: 30_000 });
    expect(await transientBindings()).toEqual(live);
    expect(observer.bindingCounts.at(-1)).toBe(4);
    // The gap is covered by the resync of every receiver, then events flow again.
    expect((await c1.next()).value).toEqual(resyncPoke('c1'));
    expect((await dotted.next()).value).toEqual(resyncPoke('acme.eu'));
    const publisher = createAmqpPublisher<OrderEvent>({
      url,
      exchange,
      routingKey: orderRoutingKey,
      reconnect,
    });
    closers.push(() => publisher.close());
    await publisher.start();
    await publisher.publish(orderEvent({ companyId: 'c-expired', orderId: 'nobody-listens' }));
    await publisher.publish(orderEvent({ companyId: 'acme.eu', orderId: 'after' }));
    expect((await dotted.next()).value).toMatchObject({ orderId: 'after' });
    expect(observer.events.map((e) => e.routingKey)).toEqual([
      orderRoutingKey(orderEvent({ companyId: 'acme.eu' })),
    ]);
    // The lingering company still goes after its linger, on the new queue.
    await clock.advance(600);
    await waitFor('the lingering binding gone', () => observer.bindingCounts.at(-1) === 3);
    expect(await transientBindings()).toEqual(
      ['orders.*', ...['c1', 'acme.eu'].flatMap(companyBindingKeys)].sort(),
    );
  });
});
