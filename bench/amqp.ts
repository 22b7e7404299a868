// Events per second from a real RabbitMQ through the transient consumer
// (decode, validate, map, submit, ack) into the gate, with no receivers and
// with one receiver per key.
import { randomUUID } from 'node:crypto';
import { connect } from 'amqplib';
import { createAmqpTransientConsumer } from 'pokegate/amqp';
import { createEventParser, createGate, createRegistry, route } from 'pokegate';
import { orderEventSchema, type OrderEvent } from '../src/service/orders/events.js';
import { median, printTable } from './table.js';

interface Poke {
  readonly companyId: string;
  readonly orderId: string;
  readonly version: number;
}

const url = process.env['AMQP_URL'] ?? 'amqp://guest:guest@127.0.0.1:5672';
const events = 20_000;
const keys = 1_000;
const repetitions = 3;

interface Run {
  /** Events per second between the first and the last delivery. */
  readonly consumed: number;
  /** From the first publish to the last event through the gate, in seconds. */
  readonly endToEnd: number;
  /** This process's CPU (user + system) per event over the same span, in µs; it publishes too. */
  readonly cpuPerEvent: number;
}

/** CPU time of this process since `since`, in µs. */
function cpuSince(since: NodeJS.CpuUsage): number {
  const { user, system } = process.cpuUsage(since);
  return user + system;
}

/** The bodies, made once: the publisher's JSON work is not what is measured. */
function bodies(): Buffer[] {
  const occurredAt = new Date().toISOString();
  return Array.from({ length: events }, (_, i) => {
    const event: OrderEvent = {
      eventId: randomUUID(),
      type: 'OrderPlaced',
      companyId: `c${i % keys}`,
      orderId: `o${i}`,
      version: 1,
      occurredAt,
      data: { total: 12.5, status: 'PLACED' },
    };
    return Buffer.from(JSON.stringify(event));
  });
}

async function run(withReceivers: boolean, payloads: readonly Buffer[]): Promise<Run> {
  const exchange = `pokegate.bench.${randomUUID().slice(0, 8)}`;
  const gate = createGate({ concurrency: 8 });
  const registry = createRegistry<Poke>({ name: 'ordersChanged', gate });
  const drains: Promise<void>[] = [];
  if (withReceivers) {
    for (let k = 0; k < keys; k++) {
      const receiver = registry.addReceiver(`c${k}`);
      drains.push(
        (async () => {
          // The subscriber takes every poke.
          while (!(await receiver.next()).done);
        })(),
      );
    }
  }
  let seen = 0;
  let first = 0;
  let last = 0;
  let done: () => void = () => undefined;
  const allSeen = new Promise<void>((resolve) => (done = resolve));
  const consumer = createAmqpTransientConsumer<OrderEvent>({
    url,
    exchange,
    gate, // as the reference service does: acknowledgements wait while the gate is loaded
    parse: createEventParser({ schema: orderEventSchema }),
    map: (event) => {
      const poke: Poke = { companyId: event.companyId, orderId: event.orderId, version: event.version };
      return [route(registry, event.companyId, () => poke, { coalesceKey: event.orderId })];
    },
    bindingKeys: ['orders.*'],
    observer: {
      event: () => {
        const now = performance.now();
        if (seen === 0) first = now;
        last = now;
        if (++seen === events) done();
      },
    },
  });
  await consumer.start();

  const model = await connect(url);
  const channel = await model.createChannel();
  const start = performance.now();
  const cpu = process.cpuUsage();
  for (const body of payloads) {
    if (!channel.publish(exchange, 'orders.placed', body)) {
      await new Promise((resolve) => channel.once('drain', resolve));
    }
  }
  await allSeen;
  await gate.idle();
  const end = performance.now();
  const cpuPerEvent = cpuSince(cpu) / events;

  await channel.deleteExchange(exchange);
  await model.close();
  await consumer.close();
  registry.dispose();
  gate.dispose();
  await Promise.all(drains);
  return {
    consumed: ((events - 1) / (last - first)) * 1_000,
    endToEnd: (end - start) / 1_000,
    cpuPerEvent,
  };
}

/** The floor: a bare amqplib consumer on the same kind of queue that only acknowledges. */
async function floor(payloads: readonly Buffer[]): Promise<Run> {
  const exchange = `pokegate.bench.${randomUUID().slice(0, 8)}`;
  const model = await connect(url);
  const consuming = await model.createChannel();
  await consuming.assertExchange(exchange, 'topic', { durable: true });
  const { queue } = await consuming.assertQueue('', { exclusive: true, autoDelete: true });
  await consuming.bindQueue(queue, exchange, 'orders.*');
  await consuming.prefetch(256);
  let seen = 0;
  let first = 0;
  let last = 0;
  let done: () => void = () => undefined;
  const allSeen = new Promise<void>((resolve) => (done = resolve));
  await consuming.consume(queue, (message) => {
    if (message === null) return;
    const now = performance.now();
    if (seen === 0) first = now;
    last = now;
    consuming.ack(message);
    if (++seen === events) done();
  });
  const publisher = await connect(url);
  const publishing = await publisher.createChannel();
  const start = performance.now();
  const cpu = process.cpuUsage();
  for (const body of payloads) {
    if (!publishing.publish(exchange, 'orders.placed', body)) {
      await new Promise((resolve) => publishing.once('drain', resolve));
    }
  }
  await allSeen;
  const end = performance.now();
  const cpuPerEvent = cpuSince(cpu) / events;
  await publishing.deleteExchange(exchange);
  await publisher.close();
  await model.close();
  return {
    consumed: ((events - 1) / (last - first)) * 1_000,
    endToEnd: (end - start) / 1_000,
    cpuPerEvent,
  };
}

export async function benchAmqp(): Promise<void> {
  const payloads = bodies();
  await run(true, payloads); // warm-up: the JIT, the broker's first queue
  const rows: string[][] = [];
  const scenarios: readonly (readonly [string, () => Promise<Run>])[] = [
    ['floor: bare amqplib consumer, ack only', () => floor(payloads)],
    ['pokegate, no receivers', () => run(false, payloads)],
    [`pokegate, one receiver per key (${keys} keys)`, () => run(true, payloads)],
  ];
  const samples = scenarios.map((): Run[] => []);
  // Alternating rounds, so a slow moment of the shared machine hits every scenario alike.
  for (let i = 0; i < repetitions; i++) {
    for (const [s, [, measure]] of scenarios.entries()) samples[s]?.push(await measure());
  }
  for (const [s, [label]] of scenarios.entries()) {
    const runs = samples[s] ?? [];
    const consumed = median(runs.map((r) => r.consumed));
    const floorRate = median((samples[0] ?? []).map((r) => r.consumed));
    rows.push([
      label,
      String(events),
      Math.round(consumed).toLocaleString('en-US'),
      (consumed / floorRate).toFixed(2),
      median(runs.map((r) => r.endToEnd)).toFixed(2),
      median(runs.map((r) => r.cpuPerEvent)).toFixed(1),
    ]);
  }
  printTable(
    `RabbitMQ → transient consumer → gate (median of ${repetitions})`,
    [
      'scenario',
      'events',
      'events/s consumed',
      '× floor',
      'first publish → last through the gate (s)',
      'CPU per event, publishing included (µs)',
    ],
    rows,
  );
}
