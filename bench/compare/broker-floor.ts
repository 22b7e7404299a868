// The broker's floor: a bare amqplib pair with the reference service's
// topology — one durable queue (the projector's) and one exclusive,
// auto-delete queue (a replica's transient consumer's), both bound to the
// exchange with `orders.#` (every orders event, whatever its routing key's form) — with the same prefetches and the same grouped acknowledgements,
// and no work between delivery and acknowledgement. What RabbitMQ spends on
// the same events published the same way is the least the event path can
// cost it; C's share is reported as a multiple of it.
import { connect, type Channel, type ChannelModel } from 'amqplib';
import { AckBatch } from '../../src/amqp/ack-batch.js';
import { durableQueueArguments, type DurableQueueType } from '../../src/amqp/queue-type.js';

export interface BrokerFloorOptions {
  readonly url: string;
  readonly exchange: string;
  /** The durable queue's type; `stream` is measured only (see `DurableQueueType`). @default 'classic' */
  readonly queueType?: FloorQueueType;
}

export interface BrokerFloor {
  /** Resolves once both queues have had `count` deliveries since the floor started. */
  received(count: number, timeoutMs: number): Promise<void>;
  close(): Promise<void>;
}

export type FloorQueueType = DurableQueueType | 'stream';

/** A stream is read from the next message on; its acknowledgements only pace the credit. */
const streamConsume = { arguments: { 'x-stream-offset': 'next' } };

/** Every orders event: `orders.<event>` and `orders.<event>.<tenant>` alike. */
const bindingKey = 'orders.#';

/** The reference service's prefetches: the projector's 2,000, the transient consumer's 1,000. */
const durablePrefetch = 2_000;
const exclusivePrefetch = 1_000;

export async function startBrokerFloor(options: BrokerFloorOptions): Promise<BrokerFloor> {
  const { url, exchange, queueType = 'classic' } = options;
  const durableQueue = `${exchange}.floor-durable`;
  const model: ChannelModel = await connect(url);
  const counts = { durable: 0, exclusive: 0 };
  const closers: (() => Promise<unknown>)[] = [];
  const consume = async (
    queue: string,
    prefetch: number,
    which: keyof typeof counts,
    extra: object = {},
  ): Promise<Channel> => {
    const channel = await model.createChannel();
    const acks = new AckBatch({ gate: undefined, highWaterMark: 1 });
    closers.push(async () => {
      acks.close();
      await channel.close();
    });
    await channel.prefetch(prefetch);
    await channel.consume(
      queue,
      (message) => {
        if (message === null) return;
        counts[which]++;
        acks.add(channel, message);
      },
      { noAck: false, ...extra },
    );
    return channel;
  };
  const setup = await model.createChannel();
  await setup.assertExchange(exchange, 'topic', { durable: true });
  const stream = queueType === 'stream';
  await setup.assertQueue(durableQueue, {
    durable: true,
    arguments: stream ? { 'x-queue-type': 'stream' } : durableQueueArguments(queueType),
  });
  await setup.bindQueue(durableQueue, exchange, bindingKey);
  const { queue: exclusiveQueue } = await setup.assertQueue('', {
    exclusive: true,
    autoDelete: true,
    durable: false,
  });
  await setup.bindQueue(exclusiveQueue, exchange, bindingKey);
  await consume(durableQueue, durablePrefetch, 'durable', stream ? streamConsume : {});
  await consume(exclusiveQueue, exclusivePrefetch, 'exclusive');
  return {
    async received(count, timeoutMs) {
      const deadline = Date.now() + timeoutMs;
      while (counts.durable < count || counts.exclusive < count) {
        if (Date.now() > deadline) {
          throw new Error(`the floor got ${counts.durable} / ${counts.exclusive} of ${count} events`);
        }
        await new Promise((resolve) => setTimeout(resolve, 20));
      }
    },
    async close() {
      for (const close of closers.splice(0)) await close().catch(() => undefined);
      await setup.deleteQueue(durableQueue).catch(() => undefined);
      await model.close().catch(() => undefined);
    },
  };
}
