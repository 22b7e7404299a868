// The broker hop alone: publish → a bare amqplib consumer on the same
// exchange, one message in flight, the same body as an order event. What is
// left of pokegate's first delivery after it is pokegate's own.
import { connect } from 'amqplib';
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
