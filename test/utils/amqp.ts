import { randomUUID } from 'node:crypto';
import { connect, type ChannelModel, type ConfirmChannel, type Options } from 'amqplib';
import { defaultRetryDelaysMs } from 'pokegate';
import { projectorQueues as declaredQueues } from 'pokegate/amqp';

/** The broker of the integration tests; an unreachable one fails them. */
export const amqpUrl = process.env['AMQP_URL'] ?? 'amqp://guest:guest@127.0.0.1:5672';

/** `amqpUrl` on another virtual host. */
export function urlForVhost(vhost: string): string {
  const url = new URL(amqpUrl);
  url.pathname = `/${encodeURIComponent(vhost)}`;
  return url.toString();
}

/** A name no other test file (or run) uses, so files can run side by side. */
export function uniqueName(prefix: string): string {
  return `${prefix}.${process.pid}.${randomUUID().slice(0, 8)}`;
}

/**
 * Every queue a projector on `queue` declares (the library's list): none but
 * the work queue is bound to the exchange the test deletes, so each must be
 * deleted by name.
 */
export function projectorQueues(queue: string, retryDelaysMs = defaultRetryDelaysMs): string[] {
  return [...declaredQueues({ queue, retryDelaysMs })];
}

/**
 * A plain amqplib connection for what a test does beside the code under
 * test: raw publishes, reading a dead-letter queue, deleting what it made.
 */
export interface Admin {
  publish(exchange: string, routingKey: string, body: Uint8Array, options?: Options.Publish): Promise<void>;
  /** Takes every message waiting in `queue`. */
  drain(queue: string): Promise<{ body: Buffer; headers: Record<string, unknown> }[]>;
  /** Messages in `queue` not yet handed to a consumer. */
  ready(queue: string): Promise<number>;
  deleteQueues(names: readonly string[]): Promise<void>;
  deleteExchange(name: string): Promise<void>;
  close(): Promise<void>;
}

export async function openAdmin(url = amqpUrl): Promise<Admin> {
  const model: ChannelModel = await connect(url);
  model.on('error', () => undefined);
  let channel: ConfirmChannel = await model.createConfirmChannel();
  channel.on('error', () => undefined);
  /** A failed delete closes the channel: take a fresh one. */
  async function fresh(): Promise<ConfirmChannel> {
    channel = await model.createConfirmChannel();
    channel.on('error', () => undefined);
    return channel;
  }
  return {
    publish: (exchange, routingKey, body, options = {}) =>
      new Promise((resolve, reject) => {
        channel.publish(exchange, routingKey, Buffer.from(body), options, (error: unknown) => {
          if (error === null || error === undefined) resolve();
          else reject(error instanceof Error ? error : new Error('publish failed', { cause: error }));
        });
      }),
    async drain(queue) {
      const messages: { body: Buffer; headers: Record<string, unknown> }[] = [];
      for (;;) {
        const message = await channel.get(queue, { noAck: true });
        if (message === false) return messages;
        messages.push({ body: message.content, headers: { ...(message.properties.headers ?? {}) } });
      }
    },
    async ready(queue) {
      return (await channel.checkQueue(queue)).messageCount;
    },
    async deleteQueues(names) {
      for (const name of names) await channel.deleteQueue(name).catch(fresh);
    },
    async deleteExchange(name) {
      await channel.deleteExchange(name).catch(fresh);
    },
    close: () => model.close(),
  };
}
