// The broker hop alone: publish → a bare amqplib consumer on the same
// exchange, one message in flight, the same body as an order event. What is
// left of pokegate's first delivery after it is pokegate's own.
import { connect } from 'amqplib';
import { companyBindingKeys } from '../../src/service/orders/events.js';
import { orderEvent } from './event-sink.js';
import { now } from './subscribers.js';
import { percentile } from '../table.js';

export interface HopParams {
  readonly url: string;
  readonly exchange: string;
  readonly samples: number;
}

/** A routing key no order event has: the service under test never sees these messages. */
const hopRoutingKey = 'benchmark.broker-hop';

/** The median of `samples` round trips through the broker, ms. */
export async function brokerHopMs({ url, exchange, samples }: HopParams): Promise<number> {
  const model = await connect(url);
  try {
    const channel = await model.createChannel();
    const { queue } = await channel.assertQueue('', { exclusive: true, autoDelete: true });
    await channel.bindQueue(queue, exchange, hopRoutingKey);
    let arrived: (() => void) | undefined;
    await channel.consume(queue, () => arrived?.(), { noAck: true });
    const hops: number[] = [];
    for (let i = 0; i < samples; i++) {
      const body = Buffer.from(
        JSON.stringify(orderEvent({ companyId: 'hop', orderId: `hop-${i}`, version: 1 })),
      );
      const got = new Promise<void>((resolve) => (arrived = resolve));
      const sentAt = now();
      channel.publish(exchange, hopRoutingKey, body, { contentType: 'application/json' });
      await got;
      hops.push(now() - sentAt);
    }
    await channel.deleteQueue(queue);
    return percentile(hops, 50);
  } finally {
    await model.close();
  }
}

export interface BrokerProbe {
  /** When each order's event reached the probe, by order id (epoch ms, the load generator's clock). */
  readonly arrivals: ReadonlyMap<string, number>;
  close(): Promise<void>;
}

/**
 * A bare amqplib consumer of one company's events on the target's exchange,
 * bound as a replica with that company's subscribers binds: what the broker
 * alone makes of those events' latency while another company floods the
 * same exchange (its ingress and its queues are first in, first out).
 */
export async function openBrokerProbe(
  url: string,
  exchange: string,
  companyId: string,
): Promise<BrokerProbe> {
  const model = await connect(url);
  const arrivals = new Map<string, number>();
  try {
    const channel = await model.createChannel();
    const { queue } = await channel.assertQueue('', { exclusive: true, autoDelete: true });
    for (const key of companyBindingKeys(companyId)) await channel.bindQueue(queue, exchange, key);
    await channel.consume(
      queue,
      (message) => {
        if (message === null) return;
        const { orderId } = JSON.parse(message.content.toString('utf8')) as { orderId: string };
        arrivals.set(orderId, now());
      },
      { noAck: true },
    );
  } catch (error) {
    await model.close();
    throw error;
  }
  return { arrivals, close: () => model.close() };
}
