// What only the broker implementation has: connecting, the heartbeat, the
// queues it leaves behind, and a projector's graceful close.
import { describe, expect, it } from 'vitest';
import {
  BrokerUnreachableError,
  createEventParser,
  createGate,
  createRegistry,
  route,
  TransportClosedError,
} from 'pokegate';
import {
  createAmqpProjector,
  createAmqpPublisher,
  createAmqpTransientConsumer,
  retryQueueName,
} from 'pokegate/amqp';
import { orderEventSchema, orderRoutingKey, type OrderEvent } from '../../src/service/orders/events.js';
import { amqpUrl, uniqueName } from '../utils/amqp.js';
import { useBrokerAdmin } from '../utils/broker-admin.js';
import { deferred } from '../utils/deferred.js';
import { MemoryReadView, orderEvent, type Poke } from '../utils/orders.js';
import { connectionHeartbeats } from '../utils/rabbitmqctl.js';
import { transportRecorder } from '../utils/transport-recorder.js';
import { waitFor } from '../utils/wait-for.js';

const exchange = uniqueName('pokegate.test.amqp');
const parse = createEventParser({ schema: orderEventSchema });
/** Nothing listens there. */
const deadUrl = 'amqp://guest:guest@127.0.0.1:1';
const broker = useBrokerAdmin();
const { closers, queues } = broker;
broker.exchanges.push(exchange);

describe('the AMQP components', () => {
  it('fail `start` with BrokerUnreachableError once the startup retries are spent, and stay closed', async () => {
    const consumer = createAmqpTransientConsumer<OrderEvent>({
      url: deadUrl,
      parse,
      map: () => [],
      reconnect: { minDelayMs: 5, startupRetries: 2 },
    });
    const error: unknown = await consumer.start().catch((thrown: unknown) => thrown);
    expect(error).toBeInstanceOf(BrokerUnreachableError);
    expect((error as Error).message).toContain('3 attempts');
    expect((error as Error).message).not.toContain('guest:guest');
    await expect(consumer.start()).rejects.toBeInstanceOf(TransportClosedError);
  });

  it('give up `start` when its signal aborts', async () => {
    const publisher = createAmqpPublisher<OrderEvent>({
      url: deadUrl,
      routingKey: orderRoutingKey,
      reconnect: { minDelayMs: 5, startupRetries: Infinity },
    });
    const reason = new Error('deployment cancelled');
    const controller = new AbortController();
    const started = publisher.start({ signal: controller.signal });
    controller.abort(reason);
    await expect(started).rejects.toBe(reason);
    await expect(publisher.publish(orderEvent())).rejects.toBeInstanceOf(TransportClosedError);
  });

  it('ask the broker for the configured heartbeat, under their own connection name', async () => {
    const name = uniqueName('pokegate heartbeat');
    const publisher = createAmqpPublisher<OrderEvent>({
      url: amqpUrl,
      exchange,
      routingKey: orderRoutingKey,
      heartbeatSeconds: 7,
      connectionName: name,
    });
    closers.push(() => publisher.close());
    await publisher.start();
    expect((await connectionHeartbeats()).get(name)).toBe(7);
  });

  it('send what was published before the first connection, once connected', async () => {
    const gate = createGate();
    const registry = createRegistry<Poke>({ name: 'r', gate });
    const receiver = registry.addReceiver('c1');
    const consumer = createAmqpTransientConsumer<OrderEvent>({
      url: amqpUrl,
      exchange,
      parse,
      map: (event) => [route(registry, event.companyId, () => ({ ...event, orderId: event.orderId }))],
    });
    const publisher = createAmqpPublisher<OrderEvent>({
      url: amqpUrl,
      exchange,
      routingKey: orderRoutingKey,
    });
    closers.push(async () => {
      await publisher.close();
      await consumer.close();
      registry.dispose();
      gate.dispose();
    });
    await consumer.start();
    const early = publisher.publish(orderEvent({ companyId: 'c1', orderId: 'early' }));
    expect(publisher.connected).toBe(false);
    await publisher.start();
    await early;
    expect((await receiver.next()).value).toMatchObject({ orderId: 'early' });
  });

  it('reject an event whose routing key is not a valid one', async () => {
    const publisher = createAmqpPublisher<OrderEvent>({ url: amqpUrl, exchange, routingKey: () => '' });
    closers.push(() => publisher.close());
    await publisher.start();
    await expect(publisher.publish(orderEvent())).rejects.toThrow(/`routingKey\(event\)`/);
  });

  it('leave no socket and no timer behind once closed', async () => {
    const resources = (): string[] =>
      process.getActiveResourcesInfo().filter((kind) => kind === 'TCPSocketWrap' || kind === 'Timeout');
    const before = resources().length;
    const queue = uniqueName('pokegate.test.amqp.projection');
    queues.push(queue, `${queue}.dlq`, retryQueueName(queue, 10));
    const view = new MemoryReadView();
    const components = [
      createAmqpTransientConsumer<OrderEvent>({ url: amqpUrl, exchange, parse, map: () => [] }),
      createAmqpProjector<OrderEvent>({
        url: amqpUrl,
        exchange,
        queue,
        parse,
        project: view.project,
        retryDelaysMs: [10],
      }),
      createAmqpPublisher<OrderEvent>({ url: amqpUrl, exchange, routingKey: orderRoutingKey }),
    ];
    for (const component of components) await component.start();
    expect(resources().length).toBeGreaterThanOrEqual(before + 3);
    for (const component of components) await component[Symbol.asyncDispose]();
    // At most as many as before: a timer an earlier test left may expire meanwhile.
    await waitFor('the sockets and heartbeat timers to go', () => resources().length <= before);
  });

  it('close a projector only after the handler in flight returned, and acknowledge its delivery', async () => {
    const queue = uniqueName('pokegate.test.amqp.projection');
    queues.push(queue, `${queue}.dlq`, retryQueueName(queue, 10));
    const view = new MemoryReadView();
    const handling = deferred();
    const release = deferred();
    view.before = async () => {
      handling.resolve();
      await release.promise;
    };
    const observer = transportRecorder();
    const options = { url: amqpUrl, exchange, queue, parse, project: view.project, retryDelaysMs: [10] };
    const projector = createAmqpProjector<OrderEvent>({ ...options, observer });
    await projector.start();
    expect(projector.consuming).toBe(true);
    const publisher = createAmqpPublisher<OrderEvent>({
      url: amqpUrl,
      exchange,
      routingKey: orderRoutingKey,
    });
    closers.push(() => publisher.close());
    await publisher.start();
    await publisher.publish(orderEvent({ orderId: 'graceful' }));
    await handling.promise;
    let closed = false;
    const closing = projector.close().then(() => (closed = true));
    expect(projector.consuming).toBe(false);
    await waitFor('the handler to be the only thing left', () => view.contexts.length === 1);
    expect(closed).toBe(false);
    release.resolve();
    await closing;
    expect(observer.projections).toEqual(['applied']);
    // Nothing was left unacknowledged: the queue is empty.
    expect(await broker.admin.drain(queue)).toEqual([]);
  });
});
