// What interest routing asks of the broker, measured before its defaults were
// chosen (`npm run bench -- --only=bindings`):
// - the time to bind and to unbind one key on a replica's transient queue,
//   alone and 1,000 in a row (awaited one after the other, as the consumer does);
// - how a confirmed, persistent publisher fares while a transient queue with
//   1,000 and with 10,000 bindings is deleted (its connection closes, as when a
//   replica stops, and by an explicit delete); rabbitmq-server issue 12926
//   reports publisher stalls of 20–70 s for a queue with 3,000 bindings.
import { randomUUID } from 'node:crypto';
import { connect, type Channel, type ChannelModel, type ConfirmChannel } from 'amqplib';
import { median, percentile, printTable } from './table.js';

const url = process.env['AMQP_URL'] ?? 'amqp://guest:guest@127.0.0.1:5672';

/** Milliseconds each awaited call of `run` took, one after the other. */
async function timed(count: number, run: (i: number) => Promise<unknown>): Promise<number[]> {
  const times: number[] = [];
  for (let i = 0; i < count; i++) {
    const start = performance.now();
    await run(i);
    times.push(performance.now() - start);
  }
  return times;
}

const ms = (value: number): string => value.toFixed(2);
const tenant = (i: number): string => `orders.*.t${i}`;

async function bindTimes(exchange: string, model: ChannelModel): Promise<string[][]> {
  const channel = await model.createChannel();
  const { queue } = await channel.assertQueue('', { exclusive: true, autoDelete: true, durable: false });
  const rows: string[][] = [];
  // One at a time on an otherwise empty queue: bind, then unbind, 100 times.
  const one: number[] = [];
  const oneOff: number[] = [];
  for (let i = 0; i < 100; i++) {
    one.push(...(await timed(1, () => channel.bindQueue(queue, exchange, tenant(i)))));
    oneOff.push(...(await timed(1, () => channel.unbindQueue(queue, exchange, tenant(i)))));
  }
  rows.push(['bind one (empty queue)', ms(median(one)), ms(percentile(one, 99)), '—']);
  rows.push(['unbind one (empty queue)', ms(median(oneOff)), ms(percentile(oneOff, 99)), '—']);
  for (const count of [1_000, 10_000]) {
    const bind = await timed(count, (i) => channel.bindQueue(queue, exchange, tenant(i)));
    const sum = (values: number[]): string => (values.reduce((a, b) => a + b, 0) / 1_000).toFixed(2);
    rows.push([`bind ${count} in a row`, ms(median(bind)), ms(percentile(bind, 99)), sum(bind)]);
    const unbind = await timed(count, (i) => channel.unbindQueue(queue, exchange, tenant(i)));
    rows.push([`unbind ${count} in a row`, ms(median(unbind)), ms(percentile(unbind, 99)), sum(unbind)]);
  }
  await channel.deleteQueue(queue);
  await channel.close();
  return rows;
}

interface Stall {
  /** The queue's deletion (connection close or queue.delete), in ms. */
  readonly deleteMs: number;
  readonly baselineP99: number;
  /** Confirm latencies of the publishes in flight during the deletion, ms. */
  readonly duringP99: number;
  readonly duringMax: number;
  /** Publishes confirmed during the deletion, per second. */
  readonly duringRate: number;
  readonly baselineRate: number;
}

/**
 * A publisher that keeps `inFlight` persistent publishes waiting for their
 * confirms, to a durable queue bound to `orders.#` (the projector's), and
 * records each one's confirm latency with its start time.
 */
function confirmedPublisher(channel: ConfirmChannel, exchange: string, inFlight: number) {
  const samples: { at: number; latencyMs: number }[] = [];
  let stopped = false;
  const body = Buffer.from(JSON.stringify({ eventId: randomUUID(), padding: 'x'.repeat(200) }));
  const loop = async (): Promise<void> => {
    while (!stopped) {
      const at = performance.now();
      await new Promise<void>((resolve, reject) => {
        channel.publish(exchange, 'orders.placed.t0', body, { persistent: true }, (error: unknown) => {
          if (error === null || error === undefined) resolve();
          else reject(new Error('nacked'));
        });
      });
      samples.push({ at, latencyMs: performance.now() - at });
    }
  };
  const loops = Array.from({ length: inFlight }, () => loop());
  return {
    samples,
    async stop() {
      stopped = true;
      await Promise.all(loops);
    },
  };
}

async function deletionStall(
  exchange: string,
  bindings: number,
  how: 'connection close' | 'queue.delete',
): Promise<Stall> {
  const replica = await connect(url);
  const channel: Channel = await replica.createChannel();
  const { queue } = await channel.assertQueue('', { exclusive: true, autoDelete: true, durable: false });
  for (let i = 0; i < bindings; i++) await channel.bindQueue(queue, exchange, tenant(i));
  const publishing = await connect(url);
  const confirm = await publishing.createConfirmChannel();
  const publisher = confirmedPublisher(confirm, exchange, 10);
  const window = 2_000;
  await new Promise((resolve) => setTimeout(resolve, window));
  const deleteStart = performance.now();
  if (how === 'connection close') {
    await replica.close();
    // The close returns before the broker has removed the exclusive queue: wait until it is gone.
    for (;;) {
      const check = await publishing.createChannel();
      check.on('error', () => undefined);
      const gone = await check.checkQueue(queue).then(
        () => false,
        () => true,
      );
      if (gone) break;
      await check.close();
      await new Promise((resolve) => setTimeout(resolve, 10));
    }
  } else {
    await channel.deleteQueue(queue);
  }
  const deleteEnd = performance.now();
  // Publishes that started before the end of the deletion and were still waiting.
  await new Promise((resolve) => setTimeout(resolve, 500));
  await publisher.stop();
  if (how === 'queue.delete') await replica.close();
  await publishing.close();
  const baseline = publisher.samples.filter((s) => s.at < deleteStart && s.at >= deleteStart - window);
  const during = publisher.samples.filter((s) => s.at + s.latencyMs >= deleteStart && s.at <= deleteEnd);
  const spanS = Math.max(deleteEnd - deleteStart, 1) / 1_000;
  const latencies = (list: typeof during): number[] => list.map((s) => s.latencyMs);
  return {
    deleteMs: deleteEnd - deleteStart,
    baselineP99: percentile(latencies(baseline), 99),
    duringP99: percentile(latencies(during), 99),
    duringMax: Math.max(0, ...latencies(during)),
    duringRate: during.length / spanS,
    baselineRate: baseline.length / (window / 1_000),
  };
}

export async function benchBindings(): Promise<void> {
  const exchange = `pokegate.bench.bindings.${randomUUID().slice(0, 8)}`;
  const projectorQueue = `${exchange}.projector`;
  const model = await connect(url);
  const admin = await model.createChannel();
  await admin.assertExchange(exchange, 'topic', { durable: true });
  // The projector's queue: every event, persistent, so confirms wait for the disk.
  await admin.assertQueue(projectorQueue, { durable: true });
  await admin.bindQueue(projectorQueue, exchange, 'orders.#');
  try {
    printTable(
      'Binding and unbinding on a transient queue (awaited one after the other)',
      ['operation', 'median (ms)', 'p99 (ms)', 'total (s)'],
      await bindTimes(exchange, model),
    );
    const rows: string[][] = [];
    for (const bindings of [0, 1_000, 10_000]) {
      for (const how of ['connection close', 'queue.delete'] as const) {
        const stall = await deletionStall(exchange, bindings, how);
        await admin.purgeQueue(projectorQueue);
        rows.push([
          String(bindings),
          how,
          ms(stall.deleteMs),
          ms(stall.baselineP99),
          ms(stall.duringP99),
          ms(stall.duringMax),
          `${Math.round(stall.baselineRate)} → ${Math.round(stall.duringRate)}`,
        ]);
      }
    }
    printTable(
      'A confirmed persistent publisher (10 in flight) while a transient queue with N bindings is deleted',
      [
        'bindings',
        'deleted by',
        'deletion (ms)',
        'confirm p99 before (ms)',
        'confirm p99 during (ms)',
        'confirm max during (ms)',
        'confirms/s before → during',
      ],
      rows,
    );
  } finally {
    await admin.deleteQueue(projectorQueue);
    await admin.deleteExchange(exchange);
    await model.close();
  }
}
