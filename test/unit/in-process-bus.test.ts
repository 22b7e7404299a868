import { afterEach, describe, expect, it } from 'vitest';
import {
  createEventParser,
  createGate,
  createRegistry,
  resyncTarget,
  route,
  TransportClosedError,
} from 'pokegate';
import { createInProcessBus, type InProcessBus } from 'pokegate/bus';
import { orderEventSchema, orderRoutingKey, type OrderEvent } from '../../src/service/orders/events.js';
import { MemoryReadView, orderEvent, resyncPoke, type Poke } from '../utils/orders.js';
import { recordingObserver } from '../utils/recording-observer.js';
import { transportRecorder } from '../utils/transport-recorder.js';
import { waitFor } from '../utils/wait-for.js';

const parse = createEventParser({ schema: orderEventSchema });
let bus: InProcessBus;

afterEach(async () => {
  await bus.close();
});

function timers(): number {
  return process.getActiveResourcesInfo().filter((kind) => kind === 'Timeout').length;
}

describe('the in-process bus', () => {
  it('hands each delivery of a shared queue to one projector, in turn', async () => {
    bus = createInProcessBus();
    const view = new MemoryReadView();
    const counts = [transportRecorder(), transportRecorder()];
    for (const observer of counts) {
      await bus.createProjector<OrderEvent>({ queue: 'q', parse, project: view.project, observer }).start();
    }
    const publisher = bus.createPublisher<OrderEvent>({ routingKey: orderRoutingKey });
    for (let i = 0; i < 10; i++) await publisher.publish(orderEvent({ orderId: `o${i}` }));
    await waitFor('ten applied', () => view.applied.length === 10);
    expect(counts.map((c) => c.count('applied'))).toEqual([5, 5]);
  });

  it('projects what arrived together as one batch, up to maxBatchSize', async () => {
    bus = createInProcessBus();
    const view = new MemoryReadView();
    await bus
      .createProjector<OrderEvent>({ queue: 'q', parse, project: view.project, maxBatchSize: 3 })
      .start();
    for (let i = 0; i < 5; i++) {
      bus.publishRaw('orders.placed', Buffer.from(JSON.stringify(orderEvent({ orderId: `b${i}` }))));
    }
    await waitFor('five applied', () => view.applied.length === 5);
    expect(view.batches).toEqual([3, 2]);
  });

  it('keeps what a queue receives while no projector is attached', async () => {
    bus = createInProcessBus();
    const view = new MemoryReadView();
    const first = bus.createProjector<OrderEvent>({ queue: 'q', parse, project: view.project });
    await first.start();
    await first.close();
    bus.publishRaw('orders.placed', Buffer.from(JSON.stringify(orderEvent({ orderId: 'kept' }))));
    await bus.createProjector<OrderEvent>({ queue: 'q', parse, project: view.project }).start();
    await waitFor('the kept event', () => view.versions.get('kept') === 1);
  });

  it('clears its retry timers on close', async () => {
    bus = createInProcessBus();
    const view = new MemoryReadView();
    const observer = transportRecorder();
    await bus
      .createProjector<OrderEvent>({
        queue: 'q',
        parse,
        project: view.project,
        observer,
        retryDelaysMs: [60_000],
      })
      .start();
    const before = timers();
    bus.publishRaw('orders.placed', Buffer.from(JSON.stringify(orderEvent({ version: 2 }))));
    await waitFor('the retry', () => observer.count('retried') === 1);
    expect(timers()).toBe(before + 1);
    await bus.close();
    expect(timers()).toBe(before);
  });

  it('resyncs on the first start only the registries that have receivers', async () => {
    bus = createInProcessBus();
    const core = recordingObserver();
    const gate = createGate({ observer: core });
    const busy = createRegistry<Poke>({ name: 'busy', gate, resyncWindowMs: 0 });
    const idle = createRegistry<Poke>({ name: 'idle', gate, resyncWindowMs: 0 });
    const receiver = busy.addReceiver('c1');
    const consumer = bus.createTransientConsumer<OrderEvent>({
      parse,
      map: () => [],
      registries: [resyncTarget(busy, resyncPoke), resyncTarget(idle, resyncPoke)],
    });
    await consumer.start();
    await consumer.start();
    expect((await receiver.next()).value).toEqual(resyncPoke('c1'));
    expect(core.events.resync).toEqual([{ registry: 'busy', receivers: 1 }]);
    busy.dispose();
    idle.dispose();
    gate.dispose();
  });

  it('delivers even when every observer hook throws', async () => {
    bus = createInProcessBus();
    const gate = createGate();
    const registry = createRegistry<Poke>({ name: 'r', gate });
    const receiver = registry.addReceiver('c1');
    const thrower = (): never => {
      throw new Error('broken hook');
    };
    const consumer = bus.createTransientConsumer<OrderEvent>({
      parse,
      map: (event) => [route(registry, event.companyId, () => resyncPoke(event.companyId))],
      observer: { event: thrower, consuming: thrower, projected: thrower },
    });
    await consumer.start();
    bus.publishRaw('orders.placed', Buffer.from(JSON.stringify(orderEvent())));
    expect((await receiver.next()).value).toEqual(resyncPoke('c1'));
    registry.dispose();
    gate.dispose();
  });

  it('refuses new components and messages once closed', async () => {
    bus = createInProcessBus();
    const publisher = bus.createPublisher<OrderEvent>({ routingKey: orderRoutingKey });
    await Promise.all([bus.close(), bus.close()]);
    expect(() => bus.publishRaw('orders.placed', new Uint8Array())).toThrow(TransportClosedError);
    expect(() => bus.createPublisher<OrderEvent>({ routingKey: orderRoutingKey })).toThrow(
      TransportClosedError,
    );
    await expect(publisher.publish(orderEvent())).rejects.toBeInstanceOf(TransportClosedError);
  });
});
