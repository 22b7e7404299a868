// The broker stopped while the projector applies a batch: the batch commits
// but cannot be acknowledged, the broker hands it out again once it is back,
// and the read view (real PostgreSQL) ends right — nothing lost, nothing
// applied twice. Persistent messages: a stopped broker keeps only those. In
// the `broker-faults` project, as `stop_app` stops the whole broker.
import { afterAll, describe, expect, it } from 'vitest';
import { createAmqpProjector } from 'pokegate/amqp';
import { createEventParser, type ProjectionResult } from 'pokegate';
import { orderEventSchema, orderRoutingKey, type OrderEvent } from '../../src/service/orders/events.js';
import { createOrderProjection } from '../../src/service/orders/projection.js';
import { createReadView, type ReadView } from '../../src/service/orders/read-view.js';
import { openAdmin, uniqueName, urlForVhost, type Admin } from '../utils/amqp.js';
import { deferred } from '../utils/deferred.js';
import { orderEvent } from '../utils/orders.js';
import { databaseUrl, dropSchema, uniqueSchema } from '../utils/postgres.js';
import { addVhost, rabbitmqctl } from '../utils/rabbitmqctl.js';
import { transportRecorder } from '../utils/transport-recorder.js';
import { waitFor } from '../utils/wait-for.js';

const vhost = uniqueName('pokegate-projector-faults');
const url = urlForVhost(vhost);
const exchange = 'pokegate.events';
const schema = uniqueSchema('projector_faults');
const orders = 50;
const versions = 4;
const closers: (() => Promise<void>)[] = [];

afterAll(async () => {
  for (const close of closers.splice(0).reverse()) await close();
  await rabbitmqctl('delete_vhost', vhost);
  await dropSchema(schema);
});

describe('the projector under a broker stop', () => {
  it('applies a batch interrupted by `stop_app` exactly once, and loses nothing', async () => {
    await addVhost(vhost);
    const readView: ReadView = await createReadView({ databaseUrl, schema });
    closers.push(() => readView.close());
    const publishing: Admin = await openAdmin(url);

    const project = createOrderProjection({ readView });
    /** Every `applied` result, by order and version: each must come once. */
    const applied: string[] = [];
    const inBatch = deferred();
    const brokerDown = deferred();
    let batches = 0;
    const projector = createAmqpProjector<OrderEvent>({
      url,
      exchange,
      queue: 'projection',
      bindingKeys: ['orders.#'],
      parse: createEventParser({ schema: orderEventSchema }),
      project: async (events, context) => {
        // The first batch with events in it waits for the broker to go down, then commits.
        if (++batches === 2) {
          inBatch.resolve();
          await brokerDown.promise;
        }
        const results: readonly ProjectionResult[] = await project(events, context);
        results.forEach((result, i) => {
          const event = events[i];
          if (result === 'applied' && event !== undefined) applied.push(`${event.orderId}@${event.version}`);
        });
        return results;
      },
      retryDelaysMs: [20, 20, 20, 20, 20],
      reconnect: { minDelayMs: 50, maxDelayMs: 500, startupRetries: 2 },
      observer: transportRecorder(),
    });
    closers.push(() => projector.close());
    await projector.start();
    // A first batch of one, so the events below accumulate into the next.
    const warmUp = orderEvent({ orderId: 'warm-up' });
    await publishing.publish(exchange, orderRoutingKey(warmUp), Buffer.from(JSON.stringify(warmUp)), {
      persistent: true,
    });
    for (let version = 1; version <= versions; version++) {
      for (let o = 0; o < orders; o++) {
        const type = version === 1 ? 'OrderPlaced' : 'OrderStatusChanged';
        const event = orderEvent({ orderId: `fault-${o}`, version, type });
        await publishing.publish(exchange, orderRoutingKey(event), Buffer.from(JSON.stringify(event)), {
          persistent: true,
        });
      }
    }
    // Closed before the broker goes: the stop would break it anyway.
    await publishing.close();
    await inBatch.promise;
    try {
      await rabbitmqctl('stop_app');
      await waitFor('the projector to notice', () => !projector.consuming);
    } finally {
      brokerDown.resolve();
      await rabbitmqctl('start_app');
    }

    await waitFor(
      'every order at its last version',
      async () => {
        for (let o = 0; o < orders; o++) {
          if ((await readView.orderState(`fault-${o}`))?.version !== versions) return false;
        }
        return true;
      },
      { timeoutMs: 30_000 },
    );
    expect(applied.filter((key) => key !== 'warm-up@1').sort()).toEqual(
      Array.from(
        { length: orders * versions },
        (_, i) => `fault-${i % orders}@${Math.floor(i / orders) + 1}`,
      ).sort(),
    );
    const admin: Admin = await openAdmin(url);
    closers.push(() => admin.close());
    expect(await admin.drain('projection.dlq')).toEqual([]);
  });
});
