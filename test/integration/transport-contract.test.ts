// One contract, two transports: what holds on the in-process bus must hold on
// real RabbitMQ, and the other way round.
import { afterAll, afterEach, beforeEach, describe, expect, it } from 'vitest';
import {
  createAmqpProjector,
  createAmqpPublisher,
  createAmqpTransientConsumer,
  retryQueueName,
} from 'pokegate/amqp';
import {
  createEventParser,
  createGate,
  createRegistry,
  resyncTarget,
  route,
  TransportClosedError,
  type DeadLetter,
  type Mapper,
  type Projector,
  type ProjectorOptions,
  type Publisher,
  type Registry,
  type TransientConsumer,
  type TransientConsumerOptions,
  type InterestOptions,
} from 'pokegate';
import { createInProcessBus, type InProcessBus } from 'pokegate/bus';
import {
  companyBindingKeys,
  orderEventSchema,
  orderRoutingKey,
  type OrderEvent,
} from '../../src/service/orders/events.js';
import { amqpUrl, openAdmin, uniqueName, type Admin } from '../utils/amqp.js';
import { deferred } from '../utils/deferred.js';
import { captureLogs } from '../utils/log-capture.js';
import { ManualClock } from '../utils/manual-clock.js';
import { MemoryReadView, orderEvent, resyncPoke, type Poke } from '../utils/orders.js';
import { transportRecorder, type TransportRecorder } from '../utils/transport-recorder.js';
import { waitFor } from '../utils/wait-for.js';

interface Closable {
  close(): Promise<void>;
}

/** What the contract needs of a transport, beside the three components. */
interface Harness {
  readonly name: string;
  /**
   * Rejects, in every test, while the transport cannot be reached: an
   * unreachable broker fails each test rather than skipping it.
   */
  ready(): Promise<void>;
  tearDown(): Promise<void>;
  consumer(options: TransientConsumerOptions<OrderEvent>): TransientConsumer;
  projector(options: ProjectorOptions<OrderEvent>): Projector;
  publisher(): Publisher<OrderEvent>;
  /** Bytes onto the exchange, as a misbehaving owning service might send them. */
  publishRaw(routingKey: string, body: Uint8Array): Promise<void>;
  deadLetters(queue: string): Promise<readonly DeadLetter[]>;
}

function busHarness(): Harness {
  let bus: InProcessBus | undefined;
  const get = (): InProcessBus => bus ?? (bus = createInProcessBus());
  return {
    name: 'the in-process bus',
    ready: () => Promise.resolve(),
    async tearDown() {
      await bus?.close();
      bus = undefined;
    },
    consumer: (options) => get().createTransientConsumer(options),
    projector: (options) => get().createProjector(options),
    publisher: () => get().createPublisher({ routingKey: orderRoutingKey }),
    publishRaw(routingKey, body) {
      get().publishRaw(routingKey, body);
      return Promise.resolve();
    },
    deadLetters: (queue) => Promise.resolve(get().deadLetters(queue)),
  };
}

function amqpHarness(): Harness {
  const exchange = uniqueName('pokegate.test.contract');
  const queues: string[] = [];
  let admin: Admin | undefined;
  let connecting: Promise<Admin> | undefined;
  const connection = { url: amqpUrl, exchange, reconnect: { startupRetries: 2 } };
  const needAdmin = (): Admin => {
    if (admin === undefined) throw new Error('The broker harness is not set up');
    return admin;
  };
  return {
    name: 'RabbitMQ',
    async ready() {
      connecting ??= openAdmin();
      admin = await connecting;
    },
    async tearDown() {
      await admin?.deleteQueues(queues);
      await admin?.deleteExchange(exchange);
      await admin?.close();
    },
    // prefetch 1: a message left unacknowledged would hold up every later one.
    consumer: (options) => createAmqpTransientConsumer({ ...options, ...connection, prefetch: 1 }),
    projector(options) {
      const delays = options.retryDelaysMs ?? [50, 250, 1_000, 5_000];
      queues.push(
        options.queue,
        `${options.queue}.dlq`,
        ...delays.map((d) => retryQueueName(options.queue, d)),
      );
      return createAmqpProjector({ ...options, ...connection });
    },
    publisher: () => createAmqpPublisher({ ...connection, routingKey: orderRoutingKey }),
    publishRaw: (routingKey, body) => needAdmin().publish(exchange, routingKey, body),
    async deadLetters(queue) {
      const messages = await needAdmin().drain(`${queue}.dlq`);
      return messages.map(({ body, headers }) => ({
        body,
        routingKey: String(headers['x-pokegate-routing-key']),
        attempts: Number(headers['x-pokegate-attempt']),
        reason: String(headers['x-pokegate-reason']),
      }));
    },
  };
}

const encode = (value: unknown): Uint8Array => Buffer.from(JSON.stringify(value));

describe.each([busHarness(), amqpHarness()])('the transport contract on $name', (harness) => {
  let registry: Registry<Poke>;
  const opened: Closable[] = [];
  const open = <C extends Closable>(component: C): C => {
    opened.push(component);
    return component;
  };
  const parse = createEventParser({ schema: orderEventSchema, maxBytes: 512 });
  const map: Mapper<OrderEvent> = (event) => {
    if (event.companyId === 'boom') throw new Error('mapper bug');
    if (event.companyId === 'nobody') return [];
    const poke: Poke = { companyId: event.companyId, orderId: event.orderId, version: event.version };
    return [route(registry, event.companyId, () => poke, { coalesceKey: event.orderId })];
  };

  beforeEach(() => harness.ready());
  afterAll(() => harness.tearDown());
  afterEach(async () => {
    for (const component of opened.splice(0).reverse()) await component.close();
  });

  /** A gate and a registry, disposed after the test (after the components using them). */
  function createRegistryForTest(name: string): void {
    const gate = createGate();
    const created = createRegistry<Poke>({ name, gate, resyncWindowMs: 0 });
    open({
      close() {
        created.dispose();
        gate.dispose();
        return Promise.resolve();
      },
    });
    registry = created;
  }

  function createConsumer(options: Partial<TransientConsumerOptions<OrderEvent>> = {}): TransientConsumer {
    createRegistryForTest('ordersChanged');
    return open(
      harness.consumer({
        parse,
        map,
        registries: [resyncTarget(registry, resyncPoke)],
        bindingKeys: ['orders.#'],
        ...options,
      }),
    );
  }

  describe('the transient consumer', () => {
    it('pokes the receivers of an event once it is published', async () => {
      const consumer = createConsumer();
      const receiver = registry.addReceiver('c1');
      const other = registry.addReceiver('c2');
      await consumer.start();
      await receiver.next(); // the resync of a receiver opened before the start
      await other.next();
      const publisher = open(harness.publisher());
      await publisher.start();
      const event = orderEvent({ companyId: 'c1' });
      await publisher.publish(event);
      expect((await receiver.next()).value).toEqual({ companyId: 'c1', orderId: event.orderId, version: 1 });
      await publisher.publish(orderEvent({ companyId: 'c2', orderId: 'o-c2' }));
      expect((await other.next()).value).toMatchObject({ orderId: 'o-c2' });
    });

    it('acknowledges, counts and logs every bad message, and still pokes the next valid event', async () => {
      const observer = transportRecorder();
      const { logger, lines } = captureLogs();
      const consumer = createConsumer({ observer, logger });
      const receiver = registry.addReceiver('c1');
      await consumer.start();
      await receiver.next();
      const valid = orderEvent({ companyId: 'c1' });
      await harness.publishRaw('orders.placed', Buffer.from('{"eventId": '));
      await harness.publishRaw('orders.placed', encode(42));
      await harness.publishRaw('orders.placed', encode([valid]));
      await harness.publishRaw('orders.placed', encode({ ...valid, version: 0 }));
      await harness.publishRaw('orders.placed', encode({ ...valid, padding: 'x'.repeat(600) }));
      await harness.publishRaw('orders.placed', Buffer.from([0x7b, 0xff, 0x7d]));
      await harness.publishRaw('orders.placed', encode(orderEvent({ companyId: 'nobody' })));
      await harness.publishRaw('orders.placed', encode(orderEvent({ companyId: 'boom' })));
      await harness.publishRaw('orders.placed', encode(valid));
      expect((await receiver.next()).value).toMatchObject({ orderId: valid.orderId });
      expect(observer.events.map((e) => e.outcome)).toEqual([
        ...Array<string>(6).fill('malformed'),
        'unroutable',
        'unroutable',
        'accepted',
      ]);
      const malformed = lines.filter((line) => line.msg === 'malformed message acknowledged and dropped');
      // Once per reason: the second `not_an_object` waits for the interval's summary.
      expect(malformed.map((line) => line.reason)).toEqual([
        'invalid_json',
        'not_an_object',
        'invalid_event',
        'too_large',
        'not_utf8',
      ]);
      expect(malformed.every((line) => line.routingKey === 'orders.placed')).toBe(true);
      expect(lines.some((line) => line.msg === 'the mapper threw; message acknowledged')).toBe(true);
    });

    it('takes only what its binding keys match', async () => {
      const observer = transportRecorder();
      const consumer = createConsumer({ observer, bindingKeys: ['orders.placed.*'] });
      const receiver = registry.addReceiver('c1');
      await consumer.start();
      await receiver.next();
      const publisher = open(harness.publisher());
      await publisher.start();
      await publisher.publish(orderEvent({ companyId: 'c1', type: 'OrderRemoved', orderId: 'removed' }));
      await publisher.publish(orderEvent({ companyId: 'c1', orderId: 'placed' }));
      expect((await receiver.next()).value).toMatchObject({ orderId: 'placed' });
      expect(observer.events).toEqual([{ outcome: 'accepted', routingKey: 'orders.placed.c1' }]);
    });

    it('says whether it consumes, closes idempotently, and refuses to start again', async () => {
      const observer = transportRecorder();
      const consumer = createConsumer({ observer });
      expect(consumer.consuming).toBe(false);
      await consumer.start();
      expect(consumer.consuming).toBe(true);
      await Promise.all([consumer.close(), consumer.close()]);
      await consumer[Symbol.asyncDispose]();
      expect(consumer.consuming).toBe(false);
      expect(observer.consumingChanges).toEqual([true, false]);
      await expect(consumer.start()).rejects.toBeInstanceOf(TransportClosedError);
    });
  });

  describe('the projector', () => {
    let view: MemoryReadView;
    let queue: string;
    const projector = (options: Partial<ProjectorOptions<OrderEvent>> = {}): Projector =>
      open(
        harness.projector({
          queue,
          bindingKeys: ['orders.#'],
          parse,
          project: view.project,
          retryDelaysMs: [20, 20, 20],
          ...options,
        }),
      );

    function startGate(): void {
      createRegistryForTest('unused');
      view = new MemoryReadView();
      queue = uniqueName('pokegate.test.projection');
    }

    it('applies versions in order, whatever order they arrive in', async () => {
      startGate();
      const observer = transportRecorder();
      await projector({ observer }).start();
      const publisher = open(harness.publisher());
      await publisher.start();
      for (const version of [3, 2, 1]) await publisher.publish(orderEvent({ orderId: 'o1', version }));
      await waitFor('version 3', () => view.versions.get('o1') === 3);
      expect(view.applied.map((a) => a.version)).toEqual([1, 2, 3]);
      expect(observer.count('retried')).toBeGreaterThanOrEqual(2);
      expect(observer.count('applied')).toBe(3);
    });

    it('acknowledges a duplicate and leaves the read view as it was', async () => {
      startGate();
      const observer = transportRecorder();
      await projector({ observer }).start();
      const publisher = open(harness.publisher());
      await publisher.start();
      const event = orderEvent({ orderId: 'o1' });
      await publisher.publish(event);
      await publisher.publish(event);
      await publisher.publish(orderEvent({ orderId: 'o1', version: 2 }));
      await waitFor('three settled deliveries', () => observer.projections.length === 3);
      expect(observer.projections).toEqual(['applied', 'duplicate', 'applied']);
      expect(view.applied).toEqual([
        { orderId: 'o1', version: 1 },
        { orderId: 'o1', version: 2 },
      ]);
    });

    it('dead-letters an event whose projection fails on every try, and goes on with the others', async () => {
      startGate();
      const observer = transportRecorder();
      view.before = (event) => {
        if (event.orderId === 'broken') throw new Error('read view down');
      };
      // Two retries: three tries in all.
      await projector({ observer, retryDelaysMs: [20, 20] }).start();
      const publisher = open(harness.publisher());
      await publisher.start();
      await publisher.publish(orderEvent({ orderId: 'broken' }));
      await publisher.publish(orderEvent({ orderId: 'fine' }));
      await waitFor('the dead letter', () => observer.count('dead_lettered') === 1);
      expect(view.versions.get('fine')).toBe(1);
      expect(observer.count('retried')).toBe(2);
      const dead = await harness.deadLetters(queue);
      expect(dead).toHaveLength(1);
      expect(dead[0]).toMatchObject({ routingKey: 'orders.placed.c1', attempts: 3 });
      expect(dead[0]?.reason).toContain('read view down');
    });

    it('dead-letters a malformed message at once', async () => {
      startGate();
      const observer = transportRecorder();
      await projector({ observer }).start();
      await harness.publishRaw('orders.placed', Buffer.from('not json'));
      await waitFor('the dead letter', () => observer.count('dead_lettered') === 1);
      const dead = await harness.deadLetters(queue);
      expect(dead).toHaveLength(1);
      expect(dead[0]).toMatchObject({ routingKey: 'orders.placed', attempts: 1 });
      expect(dead[0]?.reason).toMatch(/^malformed \(invalid_json\)/);
      expect(Buffer.from(dead[0]?.body ?? []).toString()).toBe('not json');
    });

    it('hands a delivery written but never acknowledged (a crash) to another replica', async () => {
      startGate();
      const written = deferred();
      const crash = deferred();
      view.after = async (event) => {
        if (event.orderId !== 'o1') return;
        view.after = () => undefined;
        written.resolve();
        await crash.promise;
      };
      const crashing = projector();
      await crashing.start();
      const publisher = open(harness.publisher());
      await publisher.start();
      await publisher.publish(orderEvent({ orderId: 'o1' }));
      await written.promise;
      const observer = transportRecorder();
      await projector({ observer }).start();
      // The crash: the connection goes without waiting for the projection to return.
      await crashing.close({ signal: AbortSignal.abort() });
      await waitFor('the redelivery', () => observer.projections.length === 1);
      expect(observer.projections).toEqual(['duplicate']);
      crash.resolve();
      expect(view.applied).toEqual([{ orderId: 'o1', version: 1 }]);
    });
  });

  describe('the publisher', () => {
    it('resolves once the event is confirmed, and refuses events after close', async () => {
      const consumer = createConsumer();
      const receiver = registry.addReceiver('c1');
      await consumer.start();
      await receiver.next();
      const publisher = open(harness.publisher());
      await publisher.start();
      expect(publisher.connected).toBe(true);
      await publisher.publish(orderEvent({ companyId: 'c1', orderId: 'confirmed' }));
      expect((await receiver.next()).value).toMatchObject({ orderId: 'confirmed' });
      await Promise.all([publisher.close(), publisher.close()]);
      expect(publisher.connected).toBe(false);
      await expect(publisher.publish(orderEvent())).rejects.toBeInstanceOf(TransportClosedError);
    });

    it('rejects a publish whose signal already aborted', async () => {
      createConsumer();
      const publisher = open(harness.publisher());
      await publisher.start();
      const reason = new Error('no longer needed');
      await expect(publisher.publish(orderEvent(), { signal: AbortSignal.abort(reason) })).rejects.toBe(
        reason,
      );
    });
  });

  describe('interest routing', () => {
    let clock: ManualClock;
    let observer: TransportRecorder;
    let publisher: Publisher<OrderEvent>;

    /** A consumer bound to the version-1 keys, and per company while it has receivers. */
    async function startInterest(interest: Partial<InterestOptions> = {}, logger = captureLogs().logger) {
      clock = new ManualClock();
      observer = transportRecorder();
      const consumer = createConsumer({
        observer,
        logger,
        bindingKeys: ['orders.*'],
        interest: { patterns: companyBindingKeys, wide: ['orders.#'], lingerMs: 1_000, clock, ...interest },
      });
      await consumer.start();
      publisher = open(harness.publisher());
      await publisher.start();
      return consumer;
    }

    /** The routing keys of the messages the queue got so far. */
    const received = (): string[] => observer.events.map((e) => e.routingKey);

    /**
     * A version-1 event of a company nobody listens to, published after the
     * others: once it has arrived, every earlier message the queue was
     * bound for has arrived too (one publisher, one queue, in order). It is
     * left out of `received()`.
     */
    async function sentinel(): Promise<void> {
      await harness.publishRaw('orders.placed', encode(orderEvent({ companyId: 'sentinel' })));
      await waitFor('the sentinel', () => observer.events.some((e) => e.routingKey === 'orders.placed'));
      const others = observer.events.filter((e) => e.routingKey !== 'orders.placed');
      observer.events.splice(0, observer.events.length, ...others);
    }

    it("binds a company at its first receiver, pokes it once bound, and receives only that company's events", async () => {
      await startInterest();
      expect(observer.bindingCounts.at(-1)).toBe(1);
      const receiver = registry.addReceiver('c1');
      // The resync poke comes after the broker confirmed the binding: from here on nothing is missed.
      expect((await receiver.next()).value).toEqual(resyncPoke('c1'));
      expect(observer.bindingCounts.at(-1)).toBe(2);
      await publisher.publish(orderEvent({ companyId: 'c2', orderId: 'other' }));
      await publisher.publish(orderEvent({ companyId: 'c1', orderId: 'mine' }));
      expect((await receiver.next()).value).toMatchObject({ companyId: 'c1', orderId: 'mine' });
      expect(received()).toEqual(['orders.placed.c1']);
    });

    it('misses nothing of a company whose binding is new: publish the moment the receiver is counted', async () => {
      await startInterest();
      const receiver = registry.addReceiver('c5');
      expect(registry.size).toBe(1);
      const published = publisher.publish(orderEvent({ companyId: 'c5', orderId: 'raced' }));
      const pokes: (string | null)[] = [];
      // Either the event reached the queue, or it was published before the binding: then the resync poke covers it.
      while (!pokes.includes(null)) pokes.push(((await receiver.next()).value as Poke).orderId);
      await published;
      await publisher.publish(orderEvent({ companyId: 'c5', orderId: 'after' }));
      await waitFor('the event after the binding', async () => {
        pokes.push(((await receiver.next()).value as Poke).orderId);
        return pokes.includes('after');
      });
      expect(pokes.filter((orderId) => orderId === null)).toHaveLength(1);
    });

    it('binds a company ahead of its receiver with prepare, and says whether it waited for a new binding', async () => {
      await startInterest();
      expect(await registry.prepare('c7')).toBe(true);
      expect(observer.bindingCounts.at(-1)).toBe(2);
      // Bound now: a second subscriber is routed at once.
      expect(await registry.prepare('c7')).toBe(false);
      const receiver = registry.addReceiver('c7');
      await publisher.publish(orderEvent({ companyId: 'c7', orderId: 'first' }));
      expect((await receiver.next()).value).toMatchObject({ orderId: 'first' });
      // A company prepared and never subscribed lingers, then goes.
      expect(await registry.prepare('c8')).toBe(true);
      expect(observer.bindingCounts.at(-1)).toBe(3);
      await clock.advance(1_000);
      await waitFor('the unused binding gone', () => observer.bindingCounts.at(-1) === 2);
    });

    it('still takes the version-1 keys of every company', async () => {
      await startInterest();
      const receiver = registry.addReceiver('c1');
      await receiver.next();
      const event = orderEvent({ companyId: 'c1', orderId: 'v1' });
      await harness.publishRaw('orders.status_changed', encode({ ...event, type: 'OrderStatusChanged' }));
      expect((await receiver.next()).value).toMatchObject({ orderId: 'v1' });
    });

    it('binds the wide pattern for a wildcard receiver, which gets every company', async () => {
      await startInterest();
      const admin = registry.addReceiver('*');
      expect((await admin.next()).value).toEqual(resyncPoke('*'));
      await publisher.publish(orderEvent({ companyId: 'c1', orderId: 'o-c1' }));
      await publisher.publish(orderEvent({ companyId: 'c2', orderId: 'o-c2' }));
      expect((await admin.next()).value).toMatchObject({ orderId: 'o-c1' });
      expect((await admin.next()).value).toMatchObject({ orderId: 'o-c2' });
    });

    it('unbinds a company lingerMs after its last receiver left, and keeps it for one back in time', async () => {
      await startInterest();
      const first = registry.addReceiver('c1');
      await first.next();
      first.close();
      await clock.advance(500);
      // Back within the linger: still bound, so no resync poke, and the next poke is the event's.
      const again = registry.addReceiver('c1');
      await publisher.publish(orderEvent({ companyId: 'c1', orderId: 'kept' }));
      expect((await again.next()).value).toMatchObject({ orderId: 'kept' });
      again.close();
      await clock.advance(999);
      expect(observer.bindingCounts.at(-1)).toBe(2);
      await clock.advance(1);
      await waitFor('the unbinding', () => observer.bindingCounts.at(-1) === 1);
      await sentinel();
      observer.events.splice(0);
      await publisher.publish(orderEvent({ companyId: 'c1', orderId: 'gone' }));
      await sentinel();
      expect(received()).toEqual([]);
    });

    it('binds the wide pattern past maxBindings, and the companies again at the lower mark', async () => {
      await startInterest({ maxBindings: 2, resumeBindings: 1 });
      const c1 = registry.addReceiver('c1');
      const c2 = registry.addReceiver('c2');
      await c1.next();
      await c2.next();
      expect(observer.bindingCounts.at(-1)).toBe(3);
      const c3 = registry.addReceiver('c3');
      expect((await c3.next()).value).toEqual(resyncPoke('c3'));
      // The wide pattern in, the three companies' out: the version-1 keys and `orders.#`.
      await waitFor('the wide binding alone', () => observer.bindingCounts.at(-1) === 2);
      await publisher.publish(orderEvent({ companyId: 'c9', orderId: 'anyone' }));
      await sentinel();
      expect(received()).toEqual(['orders.placed.c9']);
      observer.events.splice(0);
      c2.close();
      c3.close();
      const from = observer.bindingCounts.length;
      await clock.advance(1_000);
      // c1 bound first, then the wide pattern unbound: no gap between the two.
      await waitFor('the companies bound again', () => observer.bindingCounts.slice(from).join() === '3,2');
      await publisher.publish(orderEvent({ companyId: 'c9', orderId: 'nobody-here' }));
      await publisher.publish(orderEvent({ companyId: 'c1', orderId: 'still-mine' }));
      expect((await c1.next()).value).toMatchObject({ orderId: 'still-mine' });
      expect(received()).toEqual(['orders.placed.c1']);
    });

    it('covers a key whose patterns cannot be made with the wide pattern: counted, logged once', async () => {
      const { logger, lines } = captureLogs();
      await startInterest(
        {
          patterns: (key: string) => {
            if (key.startsWith('odd')) throw new Error('no patterns for this key');
            return companyBindingKeys(key);
          },
        },
        logger,
      );
      const odd = registry.addReceiver('odd1');
      registry.addReceiver('odd2');
      expect((await odd.next()).value).toEqual(resyncPoke('odd1'));
      await publisher.publish(orderEvent({ companyId: 'odd1', orderId: 'covered' }));
      expect((await odd.next()).value).toMatchObject({ orderId: 'covered' });
      expect(observer.refusals).toEqual(['no patterns for this key', 'no patterns for this key']);
      expect(lines.filter((line) => String(line.msg).includes('binding patterns were refused'))).toHaveLength(
        1,
      );
    });

    it('routes tenants with dots, `#`, `*`, emoji and 255 bytes to their own receivers only', async () => {
      await startInterest();
      const tenants = ['a', 'a.b', 'a.#', 'a*b', '#', '🦄 corp', '€'.repeat(85)];
      const receivers = tenants.map((tenant) => registry.addReceiver(tenant));
      for (const [i, receiver] of receivers.entries()) {
        expect((await receiver.next()).value).toEqual(resyncPoke(tenants[i] as string));
      }
      for (const [i, tenant] of tenants.entries()) {
        await publisher.publish(orderEvent({ companyId: tenant, orderId: `o${i}` }));
      }
      for (const [i, receiver] of receivers.entries()) {
        expect((await receiver.next()).value).toEqual({
          companyId: tenants[i],
          orderId: `o${i}`,
          version: 1,
        });
      }
      await sentinel();
      // Each event reached the queue once, and each receiver only its own (its buffer holds nothing more).
      for (const receiver of receivers) {
        receiver.close();
        expect((await receiver.next()).done).toBe(true);
      }
    });
  });
});
