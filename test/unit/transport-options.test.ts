import { describe, expect, it } from 'vitest';
import { createAmqpProjector, createAmqpPublisher, createAmqpTransientConsumer } from 'pokegate/amqp';
import { createEventParser } from 'pokegate';
import { createInProcessBus } from 'pokegate/bus';
import { orderEventSchema, orderRoutingKey, type OrderEvent } from '../../src/service/orders/events.js';
import { MemoryReadView } from '../utils/orders.js';

// Construction never touches the network: these all fail before any connect.
const url = 'amqp://guest:guest@127.0.0.1:5672';
const parse = createEventParser({ schema: orderEventSchema });
const map = (): [] => [];
const project = new MemoryReadView().project;

describe('the transport factories', () => {
  it('reject a bad connection option with a TypeError that names it', () => {
    const consumer = (extra: object) => () =>
      createAmqpTransientConsumer<OrderEvent>({ url, parse, map, ...extra });
    expect(consumer({ url: 'http://127.0.0.1' })).toThrow(/`url`.*http:/);
    expect(consumer({ url: 'not a url' })).toThrow(/`url`/);
    expect(consumer({ url: '' })).toThrow(/`url`/);
    expect(consumer({ heartbeatSeconds: 4 })).toThrow(/`heartbeatSeconds`/);
    expect(consumer({ heartbeatSeconds: 21 })).toThrow(/`heartbeatSeconds`/);
    expect(consumer({ connectTimeoutMs: 0 })).toThrow(/`connectTimeoutMs`/);
    expect(consumer({ reconnect: { minDelayMs: -1 } })).toThrow(/`reconnect.minDelayMs`/);
    expect(consumer({ reconnect: { initialDelayMs: -1 } })).toThrow(/`reconnect.minDelayMs`/);
    expect(consumer({ reconnect: { minDelayMs: 100, maxDelayMs: 50 } })).toThrow(/`reconnect.maxDelayMs`/);
    expect(consumer({ reconnect: { jitter: 2 } })).toThrow(/`reconnect.jitter`/);
    expect(consumer({ reconnect: { startupRetries: -1 } })).toThrow(/`reconnect.startupRetries`/);
    expect(consumer({ connectionName: '' })).toThrow(/`connectionName`/);
  });

  it('reject a bad transient consumer option', () => {
    const consumer = (extra: object) => () =>
      createAmqpTransientConsumer<OrderEvent>({ url, parse, map, ...extra });
    expect(consumer({ parse: undefined })).toThrow(/`parse`/);
    expect(consumer({ map: 'map' })).toThrow(/`map`/);
    expect(consumer({ bindingKeys: [] })).toThrow(/`bindingKeys`/);
    expect(consumer({ bindingKeys: ['orders.*', ''] })).toThrow(/`bindingKeys\[1\]`/);
    expect(consumer({ bindingKeys: ['x'.repeat(256)] })).toThrow(/255 bytes/);
    expect(consumer({ registries: [{ registry: {}, poke: 1 }] })).toThrow(/`registries\[0\].poke`/);
    expect(consumer({ prefetch: 0 })).toThrow(/`prefetch`/);
    expect(consumer({ exchange: '' })).toThrow(/`exchange`/);
  });

  it('reject a bad projector option', () => {
    const projector = (extra: object) => () =>
      createAmqpProjector<OrderEvent>({ url, queue: 'q', parse, project, ...extra });
    expect(projector({ queue: '' })).toThrow(/`queue`/);
    expect(projector({ project: undefined })).toThrow(/`project`/);
    expect(projector({ maxBatchSize: 0 })).toThrow(/`maxBatchSize`/);
    expect(projector({ retryDelaysMs: 100 })).toThrow(/`retryDelaysMs`/);
    expect(projector({ retryDelaysMs: [100, 0] })).toThrow(/`retryDelaysMs\[1\]`/);
    expect(projector({ projectTimeoutMs: 0 })).toThrow(/`projectTimeoutMs`/);
    expect(projector({ prefetch: 1.5 })).toThrow(/`prefetch`/);
    expect(projector({ deadLetterQueue: '' })).toThrow(/`deadLetterQueue`/);
  });

  it('reject a bad publisher option, on the broker and on the bus alike', async () => {
    const publisher = (extra: object) => () =>
      createAmqpPublisher<OrderEvent>({ url, routingKey: orderRoutingKey, ...extra });
    expect(publisher({ routingKey: 'orders.placed' })).toThrow(/`routingKey`/);
    expect(publisher({ messageId: 'eventId' })).toThrow(/`messageId`/);
    expect(publisher({ maxBuffered: 0 })).toThrow(/`maxBuffered`/);
    await using bus = createInProcessBus();
    expect(() => bus.createPublisher<OrderEvent>({ routingKey: orderRoutingKey, maxBuffered: 0 })).toThrow(
      /`maxBuffered`/,
    );
    expect(() => bus.createTransientConsumer<OrderEvent>({ parse, map, bindingKeys: [] })).toThrow(
      /`bindingKeys`/,
    );
    expect(() =>
      bus.createProjector<OrderEvent>({ queue: 'q', parse, project, retryDelaysMs: [-1] }),
    ).toThrow(/`retryDelaysMs\[0\]`/);
  });
});
