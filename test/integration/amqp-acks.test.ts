// The transient consumer's acknowledgements on a real RabbitMQ: batched per
// turn, and held back while the gate is loaded so that a flood waits in the
// broker rather than in the process.
import { describe, expect, it } from 'vitest';
import { createAmqpTransientConsumer } from 'pokegate/amqp';
import { createEventParser, createGate, createRegistry, route, type Gate } from 'pokegate';
import { orderEventSchema, orderRoutingKey, type OrderEvent } from '../../src/service/orders/events.js';
import { amqpUrl, uniqueName } from '../utils/amqp.js';
import { useBrokerAdmin } from '../utils/broker-admin.js';
import { deferred } from '../utils/deferred.js';
import { orderEvent, type Poke } from '../utils/orders.js';
import { boundQueueDepth } from '../utils/rabbitmqctl.js';
import { transportRecorder } from '../utils/transport-recorder.js';
import { waitFor } from '../utils/wait-for.js';

const resync: Poke = { companyId: 'c1', orderId: null, version: null };
const parse = createEventParser({ schema: orderEventSchema });
const broker = useBrokerAdmin();
const { closers, exchanges } = broker;

/** Publishes `events` on a fresh exchange's orders routing keys, confirmed. */
async function publishAll(exchange: string, events: readonly OrderEvent[]): Promise<void> {
  await Promise.all(
    events.map((event) =>
      broker.admin.publish(exchange, orderRoutingKey(event), Buffer.from(JSON.stringify(event))),
    ),
  );
}

/** A consumer on a fresh exchange submitting each event to `gate` under company `c1`. */
async function startConsumer(
  gate: Gate,
  producer: () => Promise<Poke>,
  options: { prefetch: number; highWaterMark?: number; withGate: boolean; onEvent?: () => void },
): Promise<{ exchange: string; recorder: ReturnType<typeof transportRecorder> }> {
  const exchange = uniqueName('pokegate.test.acks');
  exchanges.push(exchange);
  const registry = createRegistry<Poke>({ name: 'ordersChanged', gate });
  const receiver = registry.addReceiver('c1');
  const recorder = transportRecorder();
  const consumer = createAmqpTransientConsumer<OrderEvent>({
    url: amqpUrl,
    exchange,
    parse,
    bindingKeys: ['orders.#'],
    map: (event) => [route(registry, event.companyId, producer, { coalesceKey: event.orderId })],
    observer: {
      ...recorder,
      event: (event) => {
        recorder.event(event);
        options.onEvent?.();
      },
    },
    prefetch: options.prefetch,
    highWaterMark: options.highWaterMark ?? 1_000,
    gate: options.withGate ? gate : undefined,
  });
  closers.push(() => {
    receiver.close();
    registry.dispose();
    gate.dispose();
  });
  closers.push(() => consumer.close());
  await consumer.start();
  return { exchange, recorder };
}

describe('the transient consumer on RabbitMQ', () => {
  it('acknowledges every message it takes, so the queue ends empty and nothing comes twice', async () => {
    const gate = createGate();
    const events = Array.from({ length: 2_000 }, () => orderEvent({ companyId: 'c1' }));
    const { exchange, recorder } = await startConsumer(gate, () => Promise.resolve(resync), {
      prefetch: 256,
      withGate: false,
    });
    await publishAll(exchange, events);
    await waitFor('every message dispatched', () => recorder.events.length >= events.length);
    await waitFor(
      'the queue to hold nothing, acknowledged or not',
      async () => {
        const depth = await boundQueueDepth(exchange);
        return depth !== undefined && depth.ready === 0 && depth.unacknowledged === 0;
      },
      { timeoutMs: 15_000 },
    );
    expect(recorder.count('accepted')).toBe(events.length);
  });

  it('holds acknowledgements while the gate is loaded: at most prefetch + high-water mark in the process', async () => {
    const prefetch = 20;
    const highWaterMark = 50;
    const gate = createGate({ concurrency: 1, timeoutMs: 60_000 });
    const valve = deferred();
    let checks = 0;
    let mostInProcess = 0;
    const events = Array.from({ length: 500 }, () => orderEvent({ companyId: 'c1' }));
    const { exchange, recorder } = await startConsumer(
      gate,
      async () => {
        checks++;
        await valve.promise;
        return resync;
      },
      {
        prefetch,
        highWaterMark,
        withGate: true,
        onEvent: () => {
          mostInProcess = Math.max(mostInProcess, gate.stats.queued + gate.stats.running);
        },
      },
    );
    await publishAll(exchange, events);

    // The broker has every message, and holds back what the consumer did not acknowledge.
    const held = await waitFor(
      'the broker to stop delivering',
      async () => {
        const depth = await boundQueueDepth(exchange);
        return depth !== undefined && depth.ready + recorder.events.length === events.length && depth;
      },
      { timeoutMs: 15_000 },
    );
    expect(held.ready).toBeGreaterThan(0);
    expect(held.unacknowledged).toBeLessThanOrEqual(prefetch);
    expect(recorder.events.length).toBeLessThanOrEqual(highWaterMark + prefetch);
    expect(mostInProcess).toBeLessThanOrEqual(highWaterMark + prefetch);

    valve.resolve();
    await waitFor('every event checked', () => checks === events.length, { timeoutMs: 15_000 });
    await gate.idle();
    expect(mostInProcess).toBeLessThanOrEqual(highWaterMark + prefetch);
    expect(recorder.count('accepted')).toBe(events.length);
    await waitFor(
      'the queue to hold nothing',
      async () => {
        const depth = await boundQueueDepth(exchange);
        return depth !== undefined && depth.ready === 0 && depth.unacknowledged === 0;
      },
      { timeoutMs: 15_000 },
    );
  });
});
