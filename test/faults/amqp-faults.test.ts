// Broker faults during a stream of events. Everything here lives in a virtual
// host of its own; `stop_app` still stops the whole broker, which is why this
// file runs in the `broker-faults` project, after every other test (see
// vitest.config.ts). Deleting the virtual host afterwards deletes all it held.
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { createAmqpProjector, createAmqpPublisher, createAmqpTransientConsumer } from 'pokegate/amqp';
import {
  createEventParser,
  createGate,
  createRegistry,
  PublisherBufferFullError,
  resyncTarget,
  route,
  type Gate,
  type Publisher,
  type Registry,
  type TransientConsumer,
} from 'pokegate';
import { orderEventSchema, orderRoutingKey, type OrderEvent } from '../../src/service/orders/events.js';
import { uniqueName, urlForVhost } from '../utils/amqp.js';
import { captureLogs, type CapturedLogs } from '../utils/log-capture.js';
import { MemoryReadView, orderEvent, resyncPoke, type Poke } from '../utils/orders.js';
import { listConsumers, rabbitmqctl, useVhost } from '../utils/rabbitmqctl.js';
import { transportRecorder, type TransportRecorder } from '../utils/transport-recorder.js';
import { waitFor } from '../utils/wait-for.js';

const vhost = uniqueName('pokegate-faults');
const url = urlForVhost(vhost);
const exchange = 'pokegate.events';
const parse = createEventParser({ schema: orderEventSchema });
/** Quick recovery, so a fault heals within the test's budget. */
const reconnect = { minDelayMs: 50, maxDelayMs: 500, startupRetries: 2 };

interface Replica {
  readonly gate: Gate;
  readonly registry: Registry<Poke>;
  readonly consumer: TransientConsumer;
  readonly observer: TransportRecorder;
  readonly logs: CapturedLogs;
  /** Every poke each receiver got, by company. */
  readonly pokes: Record<'c1' | 'c2', Poke[]>;
}

const closers: (() => Promise<void>)[] = [];
const unhandled: unknown[] = [];
const onUnhandled = (reason: unknown): void => {
  unhandled.push(reason);
};

async function startReplica(): Promise<Replica> {
  const gate = createGate();
  const registry = createRegistry<Poke>({ name: 'ordersChanged', gate, resyncWindowMs: 0 });
  const observer = transportRecorder();
  const logs = captureLogs();
  const consumer = createAmqpTransientConsumer<OrderEvent>({
    url,
    exchange,
    parse,
    map: (event) => {
      const poke: Poke = { companyId: event.companyId, orderId: event.orderId, version: event.version };
      return [route(registry, event.companyId, () => poke)];
    },
    registries: [resyncTarget(registry, resyncPoke)],
    bindingKeys: ['orders.#'],
    observer,
    logger: logs.logger,
    reconnect,
  });
  const pokes: Record<'c1' | 'c2', Poke[]> = { c1: [], c2: [] };
  for (const company of ['c1', 'c2'] as const) {
    const receiver = registry.addReceiver(company);
    void (async () => {
      for await (const poke of receiver) pokes[company].push(poke);
    })();
  }
  closers.push(async () => {
    await consumer.close();
    registry.dispose();
    gate.dispose();
  });
  await consumer.start();
  return { gate, registry, consumer, observer, logs, pokes };
}

function startPublisher(
  options: { maxBuffered?: number; reconnect?: typeof reconnect } = {},
): Publisher<OrderEvent> {
  const publisher = createAmqpPublisher<OrderEvent>({
    url,
    exchange,
    routingKey: orderRoutingKey,
    reconnect: options.reconnect ?? reconnect,
    ...(options.maxBuffered === undefined ? {} : { maxBuffered: options.maxBuffered }),
  });
  closers.push(() => publisher.close());
  return publisher;
}

/** Publishes a new version of one order per company every few ms, until stopped. */
function startStream(publisher: Publisher<OrderEvent>): {
  readonly confirmed: number;
  stop(): Promise<void>;
} {
  const state = { running: true };
  let confirmed = 0;
  const done = (async () => {
    for (let version = 1; state.running; version++) {
      for (const companyId of ['c1', 'c2']) {
        await publisher.publish(orderEvent({ companyId, orderId: `stream-${companyId}`, version }));
      }
      confirmed = version;
      await new Promise((resolve) => setTimeout(resolve, 10));
    }
  })();
  return {
    get confirmed() {
      return confirmed;
    },
    async stop() {
      state.running = false;
      await done;
    },
  };
}

/** The projector beside the replicas, on a durable queue of this virtual host. */
async function startProjector(queue: string): Promise<MemoryReadView> {
  const view = new MemoryReadView();
  const projector = createAmqpProjector<OrderEvent>({
    url,
    exchange,
    queue,
    bindingKeys: ['orders.#'],
    parse,
    project: view.project,
    retryDelaysMs: [20, 20, 20, 20, 20],
    reconnect,
  });
  closers.push(() => projector.close());
  await projector.start();
  return view;
}

/**
 * What must hold after a fault: each replica stopped consuming and consumes
 * again; each of its receivers got a resync poke after the fault and, after
 * that, pokes of events published later; the broker sees exactly one consumer
 * per replica.
 */
async function expectRecovered(replicas: readonly Replica[], marks: readonly Record<'c1' | 'c2', number>[]) {
  for (const replica of replicas) {
    await waitFor(
      'the replica to consume again',
      () => {
        const changes = replica.observer.consumingChanges;
        return replica.consumer.consuming && changes.length >= 3 && changes.at(-2) === false;
      },
      { timeoutMs: 30_000 },
    );
  }
  for (const [i, replica] of replicas.entries()) {
    for (const company of ['c1', 'c2'] as const) {
      const after = () => replica.pokes[company].slice(marks[i]?.[company] ?? 0);
      const resync = await waitFor(`a resync poke for ${company}`, () => {
        const index = after().findIndex((poke) => poke.orderId === null);
        return index >= 0 ? index : undefined;
      });
      expect(after()[resync]).toEqual(resyncPoke(company));
      await waitFor(`a poke for ${company} after the resync`, () =>
        after()
          .slice(resync + 1)
          .some((poke) => poke.orderId !== null),
      );
    }
  }
  const consumers = await listConsumers(vhost);
  const transient = consumers.filter((c) => c.queue_name.startsWith('amq.gen-'));
  expect(transient).toHaveLength(replicas.length);
  expect(new Set(transient.map((c) => c.queue_name)).size).toBe(replicas.length);
}

const mark = (replica: Replica): Record<'c1' | 'c2', number> => ({
  c1: replica.pokes.c1.length,
  c2: replica.pokes.c2.length,
});

describe('the AMQP transport under broker faults', () => {
  useVhost(vhost);

  beforeAll(() => {
    process.on('unhandledRejection', onUnhandled);
  });

  afterEach(async () => {
    for (const close of closers.splice(0).reverse()) await close();
    expect(unhandled).toEqual([]);
  });

  afterAll(() => {
    process.off('unhandledRejection', onUnhandled);
  });

  it('recovers from `close_all_connections` during a stream: resync, then pokes again, and loses nothing', async () => {
    const queue = uniqueName('pokegate.test.faults.projection');
    const view = await startProjector(queue);
    const replicas = [await startReplica(), await startReplica()];
    const publisher = startPublisher();
    await publisher.start();
    const stream = startStream(publisher);
    await waitFor('the stream to reach the replicas', () =>
      replicas.every(
        (r) => r.pokes.c1.some((p) => p.version !== null) && r.pokes.c2.some((p) => p.version !== null),
      ),
    );
    const marks = replicas.map(mark);
    const accepted = replicas.map((r) => r.observer.count('accepted'));

    await rabbitmqctl('close_all_connections', '-p', vhost, 'pokegate fault test');

    await expectRecovered(replicas, marks);
    await stream.stop();
    // Every confirmed event reaches the durable queue: the read view ends on the last version.
    await waitFor('the projector to catch up', () =>
      ['c1', 'c2'].every((company) => view.versions.get(`stream-${company}`) === stream.confirmed),
    );
    expect(view.applied.filter((a) => a.orderId === 'stream-c1').map((a) => a.version)).toEqual(
      Array.from({ length: stream.confirmed }, (_, i) => i + 1),
    );
    // One log line per lifecycle step, never one per message.
    for (const [i, replica] of replicas.entries()) {
      const messages = replica.logs.lines.map((line) => line.msg);
      expect(messages).toEqual(expect.arrayContaining(['disconnected', 'reconnected', 'consuming']));
      expect(messages).toContain('resync after a gap in the event stream');
      expect(replica.observer.count('accepted') - (accepted[i] ?? 0)).toBeGreaterThan(0);
      expect(messages.length).toBeLessThan(20);
    }
  });

  it('recovers when its queue is deleted under it (the broker cancels the consumer)', async () => {
    const replica = await startReplica();
    const [before] = await listConsumers(vhost);
    expect(before?.queue_name).toMatch(/^amq\.gen-/);
    const marks = [mark(replica)];
    await rabbitmqctl('delete_queue', '-p', vhost, before?.queue_name ?? '');
    const publisher = startPublisher();
    await publisher.start();
    const stream = startStream(publisher);
    await expectRecovered([replica], marks);
    await stream.stop();
    const [after] = await listConsumers(vhost);
    expect(after?.queue_name).not.toBe(before?.queue_name);
  });

  it('buffers events while disconnected up to its bound, then refuses more at once', async () => {
    const replica = await startReplica();
    // A slow reconnect keeps the publisher disconnected while the test publishes.
    const publisher = startPublisher({
      maxBuffered: 3,
      reconnect: { ...reconnect, minDelayMs: 1_500, maxDelayMs: 1_500 },
    });
    await publisher.start();
    await rabbitmqctl('close_all_connections', '-p', vhost, 'pokegate fault test');
    await waitFor('the publisher to notice', () => !publisher.connected);
    const buffered = [1, 2, 3].map((n) =>
      publisher.publish(orderEvent({ companyId: 'c1', orderId: `buffered-${n}` })),
    );
    await expect(publisher.publish(orderEvent({ companyId: 'c1' }))).rejects.toBeInstanceOf(
      PublisherBufferFullError,
    );
    await Promise.all(buffered);
    await waitFor('the buffered events to be poked', () =>
      ['buffered-1', 'buffered-2', 'buffered-3'].every((id) =>
        replica.pokes.c1.some((p) => p.orderId === id),
      ),
    );
  });

  it('recovers from `stop_app` then `start_app` during a stream, and loses nothing durable', async () => {
    const queue = uniqueName('pokegate.test.faults.projection');
    const view = await startProjector(queue);
    const replicas = [await startReplica(), await startReplica()];
    const publisher = startPublisher();
    await publisher.start();
    const stream = startStream(publisher);
    await waitFor('the stream to reach the replicas', () =>
      replicas.every((r) => r.pokes.c1.some((p) => p.version !== null)),
    );
    const marks = replicas.map(mark);
    try {
      await rabbitmqctl('stop_app');
      await waitFor('every replica to notice', () => replicas.every((r) => !r.consumer.consuming));
    } finally {
      await rabbitmqctl('start_app');
    }
    await expectRecovered(replicas, marks);
    await stream.stop();
    await waitFor(
      'the projector to catch up',
      () => ['c1', 'c2'].every((company) => view.versions.get(`stream-${company}`) === stream.confirmed),
      { timeoutMs: 30_000 },
    );
  });
});
