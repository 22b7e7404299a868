// Where the load generator sends the events: the baselines' control socket,
// or, for pokegate, real order events published onto the RabbitMQ exchange.
import { randomUUID } from 'node:crypto';
import { connect, type ChannelModel, type ConfirmChannel } from 'amqplib';
import WebSocket from 'ws';
import type { OrderEvent, OrderStatus } from '../../src/service/orders/events.js';
import { orderRoutingKey } from '../../src/service/orders/events.js';
import { now } from './subscribers.js';
import { controlPath, type ControlEvent, type ControlMessage } from './workload.js';

/** Where a load generator's events go: a baseline's control socket, or C's exchange. */
export type SinkSpec =
  | { readonly kind: 'control'; readonly port: number }
  | {
      readonly kind: 'amqp';
      readonly url: string;
      readonly exchange: string;
      /** @default true, unless `--publish=transient` */
      readonly persistent?: boolean;
    };

export interface EventSink {
  /** Sends the events in this order; never waits for the server. */
  send(events: readonly ControlEvent[]): void;
  /** Resolves, in epoch ms, once everything sent so far is in the server's hands (the broker's confirms for pokegate). */
  confirmed(): Promise<number>;
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
    // The baselines have no broker: an event is theirs once written to the socket.
    confirmed: () => Promise.resolve(now()),
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

/**
 * Whether the events are published persistent (delivery mode 2), as an
 * owning service publishes what it must not lose; `npm run bench --
 * --publish=transient` publishes them as the benchmark did before, for comparison.
 */
const persistentByDefault = process.env['BENCH_PUBLISH'] !== 'transient';

/** pokegate: raw publishes onto the topic exchange, persistent and confirmed, as the owning service would. */
export async function amqpSink(
  url: string,
  exchange: string,
  persistent = persistentByDefault,
): Promise<EventSink> {
  const model: ChannelModel = await connect(url);
  // A confirm channel, as an owning service publishes: the burst reports the time from the last confirm.
  const channel: ConfirmChannel = await model.createConfirmChannel();
  return {
    send(events) {
      for (const event of events) {
        const body = orderEvent(event);
        channel.publish(exchange, orderRoutingKey(body), Buffer.from(JSON.stringify(body)), {
          contentType: 'application/json',
          messageId: body.eventId,
          persistent,
        });
      }
    },
    async confirmed() {
      await channel.waitForConfirms();
      return now();
    },
    async close() {
      await channel.close();
      await model.close();
    },
  };
}
