// The projector in batches on the real broker and PostgreSQL: one batch per
// window of deliveries, per-message verdicts inside it, acknowledged after
// the commit.
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { createAmqpProjector, type AmqpProjectorOptions } from 'pokegate/amqp';
import { createEventParser, type Projector } from 'pokegate';
import { orderEventSchema, orderRoutingKey, type OrderEvent } from '../../src/service/orders/events.js';
import { createOrderProjection } from '../../src/service/orders/projection.js';
import { createReadView, type ReadView } from '../../src/service/orders/read-view.js';
import { openAdmin, projectorQueues, uniqueName, amqpUrl, type Admin } from '../utils/amqp.js';
import { deferred } from '../utils/deferred.js';
import { orderEvent } from '../utils/orders.js';
import { databaseUrl, dropSchema, uniqueSchema } from '../utils/postgres.js';
import { transportRecorder, type TransportRecorder } from '../utils/transport-recorder.js';
import { waitFor } from '../utils/wait-for.js';

const exchange = uniqueName('pokegate.test.batch');
const schema = uniqueSchema('batch_projection');
const parse = createEventParser({ schema: orderEventSchema });
const retryDelaysMs = [10, 10];
const queues: string[] = [];
let admin: Admin;
let readView: ReadView;
let projector: Projector | undefined;

beforeAll(async () => {
  admin = await openAdmin();
  readView = await createReadView({ databaseUrl, schema });
});

afterEach(async () => {
  await projector?.close();
  projector = undefined;
});

afterAll(async () => {
  await readView.close();
  await dropSchema(schema);
  await admin.deleteQueues(queues);
  await admin.deleteExchange(exchange);
  await admin.close();
});

/**
 * A projector on `queue`, its batches' sizes kept in `batches`; each batch
 * waits for `hold` before it is applied.
 */
function projectorFor(
  queue: string,
  observer: TransportRecorder,
  batches: number[],
  hold: () => Promise<void> = () => Promise.resolve(),
): Projector {
  const project = createOrderProjection({ readView });
  const options: AmqpProjectorOptions<OrderEvent> = {
    url: amqpUrl,
    exchange,
    queue,
    bindingKeys: ['orders.#'],
    parse,
    project: async (events, context) => {
      batches.push(events.length);
      await hold();
      return project(events, context);
    },
    retryDelaysMs,
    observer,
  };
  return createAmqpProjector(options);
}

interface Window {
  readonly queue: string;
  readonly observer: TransportRecorder;
  /** The sizes of the batches projected: the first, then `bodies`'s. */
  readonly batches: number[];
}

/**
 * Starts a projector on a fresh queue and holds its first batch (one
 * placement) until every one of `bodies` has reached it: they are the next
 * window, whatever the socket's reads.
 */
async function windowOf(bodies: readonly (OrderEvent | string)[]): Promise<Window> {
  const queue = uniqueName('pokegate.test.batch.projection');
  queues.push(...projectorQueues(queue, retryDelaysMs));
  const observer = transportRecorder();
  const batches: number[] = [];
  const release = deferred();
  projector = projectorFor(queue, observer, batches, () => release.promise);
  await projector.start();
  await publish(orderEvent());
  await waitFor('the first batch', () => batches.length === 1);
  for (const body of bodies) await publish(body);
  await waitFor('every delivery to reach the projector', async () => (await admin.ready(queue)) === 0);
  release.resolve();
  return { queue, observer, batches };
}

function publish(body: OrderEvent | string): Promise<void> {
  return typeof body === 'string'
    ? admin.publish(exchange, 'orders.placed', Buffer.from(body))
    : admin.publish(exchange, orderRoutingKey(body), Buffer.from(JSON.stringify(body)));
}

describe('the projector in batches', () => {
  it('projects what accumulated meanwhile, orders, duplicates and versions out of order, as one batch', async () => {
    const a = { companyId: 'c1', orderId: uniqueName('a') };
    const b = { companyId: 'c2', orderId: uniqueName('b') };
    const placedA = orderEvent({ ...a });
    const { queue, observer, batches } = await windowOf([
      orderEvent({ ...a, version: 2, type: 'OrderStatusChanged' }),
      orderEvent({ ...b }),
      orderEvent({ ...a, version: 3, type: 'OrderRemoved' }),
      placedA,
      placedA,
      orderEvent({ ...b, version: 2, type: 'OrderStatusChanged' }),
    ]);
    await waitFor('seven settled deliveries', () => observer.projections.length === 7);
    expect(batches).toEqual([1, 6]);
    expect(observer.count('applied')).toBe(6);
    expect(observer.count('duplicate')).toBe(1);
    expect(await readView.orderState(a.orderId)).toEqual({ version: 3, removed: true });
    expect(await readView.order(b.orderId)).toMatchObject({ status: 'PAID', version: 2 });
    await projector?.close();
    // Nothing was left unacknowledged, nothing retried.
    expect(await admin.drain(queue)).toEqual([]);
    expect(await admin.drain(`${queue}.dlq`)).toEqual([]);
  });

  it('dead-letters a poison message of a batch after its retries while its neighbours are applied', async () => {
    const owner = { companyId: 'c1', orderId: uniqueName('owned') };
    const next = { companyId: 'c1', orderId: uniqueName('next') };
    await readView.apply(orderEvent({ ...owner }));
    const { queue, observer, batches } = await windowOf([
      orderEvent({ ...next }),
      // Another company's change to c1's order, right after the removal below:
      // it contradicts the order's history.
      orderEvent({ companyId: 'c9', orderId: owner.orderId, version: 3, type: 'OrderStatusChanged' }),
      'not json',
      orderEvent({ ...next, version: 2, type: 'OrderStatusChanged' }),
      orderEvent({ ...owner, version: 2, type: 'OrderRemoved' }),
    ]);
    await waitFor('both dead letters', () => observer.count('dead_lettered') === 2);
    expect(batches.slice(0, 2)).toEqual([1, 4]);
    expect(observer.count('applied')).toBe(4);
    expect(observer.count('retried')).toBe(retryDelaysMs.length);
    expect(await readView.orderState(next.orderId)).toEqual({ version: 2, removed: false });
    expect(await readView.orderState(owner.orderId)).toEqual({ version: 2, removed: true });
    await projector?.close();
    const dead = await admin.drain(`${queue}.dlq`);
    expect(dead.map((message) => String(message.headers['x-pokegate-reason'])).sort()).toEqual([
      expect.stringMatching(/^malformed \(invalid_json\)/) as unknown,
      expect.stringContaining('the order belongs to company "c1"') as unknown,
    ]);
    expect(await admin.drain(queue)).toEqual([]);
  });

  it("takes every company's waiting events in turns: one company's flood does not hold another's event behind it", async () => {
    const queue = uniqueName('pokegate.test.batch.fair');
    queues.push(...projectorQueues(queue, retryDelaysMs));
    const observer = transportRecorder();
    const companies: string[][] = [];
    const release = deferred();
    const project = createOrderProjection({ readView });
    projector = createAmqpProjector<OrderEvent>({
      url: amqpUrl,
      exchange,
      queue,
      bindingKeys: ['orders.#'],
      parse,
      retryDelaysMs,
      observer,
      maxBatchSize: 100,
      tenantOf: (event) => event.companyId,
      project: async (events, context) => {
        companies.push(events.map((event) => event.companyId));
        if (companies.length === 1) await release.promise;
        return project(events, context);
      },
    });
    await projector.start();
    await publish(orderEvent({ companyId: 'first' }));
    await waitFor('the first batch', () => companies.length === 1);
    for (let i = 0; i < 300; i++) await publish(orderEvent({ companyId: 'flood' }));
    await publish(orderEvent({ companyId: 'quiet' }));
    await waitFor('every delivery to reach the projector', async () => (await admin.ready(queue)) === 0);
    release.resolve();
    await waitFor('every delivery settled', () => observer.projections.length === 302);
    // The quiet company's event, delivered last, goes in the very next batch.
    expect(companies.map((batch) => batch.length)).toEqual([1, 100, 100, 100, 1]);
    expect(companies[1]).toContain('quiet');
    expect(observer.count('applied')).toBe(302);
    await projector.close();
    // Settled out of delivery order, yet every delivery was acknowledged.
    expect(await admin.drain(queue)).toEqual([]);
  });
});
