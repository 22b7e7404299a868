// Where the load generator sends the events: the baselines' control socket,
// or, for pokegate, real order events published onto the RabbitMQ exchange.
import { randomUUID } from 'node:crypto';
import { connect, type Channel, type ChannelModel } from 'amqplib';
import WebSocket from 'ws';
import type { OrderEvent, OrderStatus } from '../../src/transport/order-events.js';
import { orderRoutingKey } from '../../src/transport/order-events.js';
import { controlPath, type ControlEvent, type ControlMessage } from './workload.js';

export interface EventSink {
  /** Sends the events in this order; never waits for the server. */
  send(events: readonly ControlEvent[]): void;
  close(): Promise<void>;
}

/** The baselines: one WebSocket, one message per batch. */
export async function controlSink(httpPort: number): Promise<EventSink> {
  const socket = new WebSocket(`ws://127.0.0.1:${httpPort}${controlPath}`, { perMessageDeflate: false });
  await new Promise<void>((resolve, reject) => {
    socket.once('open', resolve);
    socket.once('error', reject);
  });
  return {
    send(events) {
      socket.send(JSON.stringify({ events } satisfies ControlMessage));
    },
    close: () =>
      new Promise((resolve) => {
        if (socket.readyState === WebSocket.CLOSED) {
          resolve();
          return;
        }
        socket.once('close', () => resolve());
        socket.close(1000);
      }),
  };
}

const statuses: readonly OrderStatus[] = ['PAID', 'SHIPPED', 'PLACED'];

/** The owning service's events, as DESIGN.md specifies them. */
export function orderEvent({ companyId, orderId, version }: ControlEvent): OrderEvent {
  const base = { eventId: randomUUID(), companyId, orderId, version, occurredAt: new Date().toISOString() };
  return version === 1
    ? { ...base, type: 'OrderPlaced', data: { total: 12.5, status: 'PLACED' } }
    : {
        ...base,
        type: 'OrderStatusChanged',
        data: { status: statuses[version % statuses.length] ?? 'PAID' },
      };
}

/** pokegate: raw publishes onto the topic exchange, as the owning service would. */
export async function amqpSink(url: string, exchange: string): Promise<EventSink> {
  const model: ChannelModel = await connect(url);
  const channel: Channel = await model.createChannel();
  return {
    send(events) {
      for (const event of events) {
        const body = orderEvent(event);
        channel.publish(exchange, orderRoutingKey(body), Buffer.from(JSON.stringify(body)), {
          contentType: 'application/json',
          messageId: body.eventId,
        });
      }
    },
    async close() {
      await channel.close();
      await model.close();
    },
  };
}
