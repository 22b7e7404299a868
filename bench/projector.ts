// The projector's throughput on the real broker and PostgreSQL: N events
// (versions 1..n of many orders) wait in the work queue, then one projector
// starts and takes them all into the read view. Measured from its start to
// the last event projected: events/s, the Node process's CPU per event
// (`process.cpuUsage`), and every PostgreSQL process's CPU per event (utime +
// stime from /proc, so the benchmark must run beside the database).
import { randomUUID } from 'node:crypto';
import { readdir, readFile } from 'node:fs/promises';
import { connect } from 'amqplib';
import { createAmqpProjector } from 'pokegate/amqp';
import { createEventParser } from 'pokegate';
import { orderEventSchema, orderRoutingKey, type OrderEvent } from '../src/service/orders/events.js';
import { createOrderProjection } from '../src/service/orders/projection.js';
import { createReadView } from '../src/service/orders/read-view.js';
import { printTable } from './table.js';

const amqpUrl = process.env['AMQP_URL'] ?? 'amqp://guest:guest@127.0.0.1:5672';
const databaseUrl = process.env['DATABASE_URL'] ?? 'postgres://postgres@127.0.0.1:5432/test';
const events = 20_000;
const orders = 2_000;

/** Versions 1..n of every order, each order's versions in publish order. */
function bodies(): { routingKey: string; body: Buffer }[] {
  const occurredAt = new Date().toISOString();
  const perOrder = events / orders;
  const list: { routingKey: string; body: Buffer }[] = [];
  for (let version = 1; version <= perOrder; version++) {
    for (let o = 0; o < orders; o++) {
      const base = { eventId: randomUUID(), companyId: `c${o % 100}`, orderId: `o${o}`, version, occurredAt };
      const event: OrderEvent =
        version === 1
          ? { ...base, type: 'OrderPlaced', data: { total: 12.5, status: 'PLACED' } }
          : version === perOrder
            ? { ...base, type: 'OrderRemoved', data: {} }
            : { ...base, type: 'OrderStatusChanged', data: { status: 'PAID', total: version } };
      list.push({ routingKey: orderRoutingKey(event), body: Buffer.from(JSON.stringify(event)) });
    }
  }
  return list;
}

/** CPU time (ms) of every process named `postgres` on this machine. */
async function postgresCpuMs(): Promise<number> {
  const ticksPerMs = 100 / 1_000; // USER_HZ is 100 on Linux
  let ticks = 0;
  for (const pid of await readdir('/proc')) {
    if (!/^\d+$/.test(pid)) continue;
    const stat = await readFile(`/proc/${pid}/stat`, 'utf8').catch(() => '');
    const close = stat.lastIndexOf(')');
    if (!stat.slice(0, close).endsWith('(postgres')) continue;
    const fields = stat.slice(close + 2).split(' ');
    // utime and stime are fields 14 and 15 of stat; 12 and 13 after the name.
    ticks += Number(fields[11]) + Number(fields[12]);
  }
  return ticks / ticksPerMs;
}

interface Run {
  readonly eventsPerSecond: number;
  readonly nodeUsPerEvent: number;
  readonly postgresUsPerEvent: number;
}

async function run(payloads: readonly { routingKey: string; body: Buffer }[]): Promise<Run> {
  const id = randomUUID().slice(0, 8);
  const exchange = `pokegate.bench.${id}`;
  const queue = `${exchange}.projector`;
  const schema = `bench_${id}`;
  const readView = await createReadView({ databaseUrl, schema });
  const model = await connect(amqpUrl);
  const channel = await model.createConfirmChannel();
  await channel.assertExchange(exchange, 'topic', { durable: true });
  await channel.assertQueue(queue, { durable: true });
  await channel.bindQueue(queue, exchange, 'orders.#');
  for (const { routingKey, body } of payloads) channel.publish(exchange, routingKey, body);
  await channel.waitForConfirms();

  let projected = 0;
  let done: () => void = () => undefined;
  const allProjected = new Promise<void>((resolve) => (done = resolve));
  const projector = createAmqpProjector<OrderEvent>({
    url: amqpUrl,
    exchange,
    queue,
    bindingKeys: ['orders.#'],
    parse: createEventParser({ schema: orderEventSchema }),
    project: createOrderProjection({ readView }),
    observer: {
      projected: ({ outcome }) => {
        if (outcome === 'applied' && ++projected === events) done();
      },
    },
  });
  const postgresBefore = await postgresCpuMs();
  const cpuBefore = process.cpuUsage();
  const start = performance.now();
  await projector.start();
  await allProjected;
  const elapsedMs = performance.now() - start;
  const cpu = process.cpuUsage(cpuBefore);
  const postgresMs = (await postgresCpuMs()) - postgresBefore;

  await projector.close();
  const state = await readView.orderState(`o${orders - 1}`);
  if (state?.version !== events / orders) throw new Error(`the read view ended at ${JSON.stringify(state)}`);
  await readView.close();
  for (const name of [queue, `${queue}.dlq`]) await channel.deleteQueue(name);
  for (const delayMs of [50, 250, 1_000, 5_000]) await channel.deleteQueue(`${queue}.retry.${delayMs}ms`);
  await channel.deleteExchange(exchange);
  await model.close();
  const { default: pg } = await import('pg');
  const admin = new pg.Client({ connectionString: databaseUrl });
  await admin.connect();
  await admin.query(`DROP SCHEMA "${schema}" CASCADE`);
  await admin.end();
  return {
    eventsPerSecond: (events / elapsedMs) * 1_000,
    nodeUsPerEvent: (cpu.user + cpu.system) / events,
    postgresUsPerEvent: (postgresMs * 1_000) / events,
  };
}

export async function benchProjector(): Promise<void> {
  const payloads = bodies();
  const rows: string[][] = [];
  for (let i = 0; i < 3; i++) {
    const result = await run(payloads);
    rows.push([
      i === 0 ? 'first (cold)' : `#${i + 1}`,
      String(events),
      Math.round(result.eventsPerSecond).toLocaleString('en-US'),
      result.nodeUsPerEvent.toFixed(0),
      result.postgresUsPerEvent.toFixed(0),
    ]);
  }
  printTable(
    `RabbitMQ → projector → PostgreSQL read view (${events} events, ${orders} orders, queued before the start)`,
    ['run', 'events', 'events/s projected', 'Node CPU µs/event', 'PostgreSQL CPU µs/event'],
    rows,
  );
}
