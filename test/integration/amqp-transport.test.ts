// createAmqpTransport: the bus's component options on RabbitMQ, with the broker
// settings given once; the projector names every queue it declares.
import { afterEach, describe, expect, it } from 'vitest';
import { createAmqpTransport, projectorQueues, type AmqpTransport } from 'pokegate/amqp';
import { createEventParser, TransportClosedError, type Transport } from 'pokegate';
import { createInProcessBus } from 'pokegate/bus';
import { orderEventSchema, type OrderEvent } from '../../src/service/orders/events.js';
import { amqpUrl, openAdmin, uniqueName } from '../utils/amqp.js';
import { deferred } from '../utils/deferred.js';
import { orderEvent } from '../utils/orders.js';

describe('createAmqpTransport', () => {
  const cleanups: (() => Promise<void>)[] = [];
  afterEach(async () => {
    for (const cleanup of cleanups.splice(0).reverse()) await cleanup();
  });

  /** A transport on a fresh exchange, deleted with every queue named in `queues` after the test. */
  function open(queues: string[]): { transport: AmqpTransport; exchange: string } {
    const exchange = uniqueName('transport');
    const transport = createAmqpTransport({ url: amqpUrl, exchange });
    cleanups.push(async () => {
      await transport.close();
      const admin = await openAdmin();
      await admin.deleteQueues(queues);
      await admin.deleteExchange(exchange);
      await admin.close();
    });
    return { transport, exchange };
  }

  it('takes the same component options as the in-process bus, and carries events between them', async () => {
    const queues: string[] = [];
    const transports: Transport[] = [open(queues).transport, createInProcessBus()];
    for (const transport of transports) {
      const parse = createEventParser({ schema: orderEventSchema });
      const projected = deferred<readonly OrderEvent[]>();
      const seen = deferred<OrderEvent>();
      const queue = uniqueName('transport-projector');
      queues.push(...projectorQueues({ queue }));
      const projector = transport.createProjector({
        queue,
        parse,
        project: (events) => {
          projected.resolve(events);
          return Promise.resolve(events.map(() => 'applied' as const));
        },
      });
      const consumer = transport.createTransientConsumer({
        parse,
        map: (event) => {
          seen.resolve(event);
          return [];
        },
      });
      const publisher = transport.createPublisher<OrderEvent>({ routingKey: () => 'orders.placed' });
      await Promise.all([projector.start(), consumer.start(), publisher.start()]);
      const event = orderEvent({ companyId: 'c1', orderId: 'o1', version: 1 });
      await publisher.publish(event);
      expect(await seen.promise).toEqual(event);
      expect(await projected.promise).toEqual([event]);
      await transport.close();
      expect(consumer.consuming).toBe(false);
      expect(projector.consuming).toBe(false);
      await expect(publisher.publish(event)).rejects.toBeInstanceOf(TransportClosedError);
      expect(() => transport.createPublisher({ routingKey: () => 'x' })).toThrow(TransportClosedError);
    }
  });

  it("names every queue its projector declares, and they are the broker's", async () => {
    const queue = uniqueName('transport-queues');
    const expected = [queue, `${queue}.retry.20ms`, `${queue}.retry.100ms`, `${queue}.dead-letters`];
    const { transport } = open(expected);
    const projector = transport.createProjector({
      queue,
      retryDelaysMs: [20, 100, 20],
      deadLetterQueue: `${queue}.dead-letters`,
      parse: createEventParser({ schema: orderEventSchema }),
      project: (events) => Promise.resolve(events.map(() => 'applied' as const)),
    });
    expect(projector.queues).toEqual(expected);
    expect(
      projectorQueues({ queue, retryDelaysMs: [20, 100, 20], deadLetterQueue: `${queue}.dead-letters` }),
    ).toEqual(expected);
    expect(projectorQueues({ queue })).toEqual([
      queue,
      `${queue}.retry.50ms`,
      `${queue}.retry.250ms`,
      `${queue}.retry.1000ms`,
      `${queue}.retry.5000ms`,
      `${queue}.dlq`,
    ]);
    await projector.start();
    const admin = await openAdmin();
    try {
      for (const name of projector.queues) expect(await admin.ready(name)).toBe(0);
    } finally {
      await admin.close();
    }
  });
});
