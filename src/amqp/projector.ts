import type { ChannelModel, ConfirmChannel, ConsumeMessage, MessageProperties, Options } from 'amqplib';
import { abortable } from '../transport/abort.js';
import { toError } from '../core/errors.js';
import { TransportClosedError } from '../transport/errors.js';
import { createLogThrottle, type LogThrottle } from '../transport/log-throttle.js';
import { reasonOf } from '../transport/logger.js';
import {
  createProjectionRunner,
  type ProjectionRunner,
  type Verdict,
} from '../transport/projection-runner.js';
import type {
  Projector,
  ProjectorCloseOptions,
  ProjectorOptions,
  TypedEvent,
} from '../transport/projector.js';
import type { StartOptions } from '../transport/transient-consumer.js';
import { expectShortString } from '../transport/validate.js';
import { ManagedConnection, type AmqpConnectionOptions } from './connection.js';

export interface AmqpProjectorOptions<E extends TypedEvent>
  extends ProjectorOptions<E>, AmqpConnectionOptions {
  /**
   * The topic exchange the events are published on; declared (durable) if missing.
   * @default 'pokegate.events'
   */
  readonly exchange?: string;
  /**
   * The durable queue that keeps what could not be projected: malformed
   * messages, and events that failed every retry.
   * @default `${queue}.dlq`
   */
  readonly deadLetterQueue?: string;
}

/** Headers the projector keeps on a message between retries and in the dead-letter queue. */
export const projectorHeaders = Object.freeze({
  attempt: 'x-pokegate-attempt',
  routingKey: 'x-pokegate-routing-key',
  reason: 'x-pokegate-reason',
});

/**
 * The durable retry queue for one delay: a message waits there `delayMs`
 * (the queue's TTL, so it leaves in arrival order), then the broker
 * dead-letters it back onto the work queue.
 */
export function retryQueueName(queue: string, delayMs: number): string {
  return `${queue}.retry.${delayMs}ms`;
}

/**
 * The projector on RabbitMQ. Topology, declared on every (re)connect: the
 * durable work queue bound to the exchange; one durable retry queue per
 * distinct retry delay; the durable dead-letter queue. A delivery is
 * acknowledged only after its handler committed, or after its retry or
 * dead-letter copy was confirmed by the broker — so a crash at any point
 * leads to a redelivery, never to a loss.
 */
export function createAmqpProjector<E extends TypedEvent>(options: AmqpProjectorOptions<E>): Projector {
  return new AmqpProjector(options);
}

interface ConsumerState {
  readonly channel: ConfirmChannel;
  tag: string;
  /** False once the channel closed: its deliveries can no longer be acknowledged. */
  open: boolean;
}

class AmqpProjector<E extends TypedEvent> implements Projector {
  readonly #runner: ProjectionRunner;
  readonly #connection: ManagedConnection;
  readonly #exchange: string;
  readonly #deadLetterQueue: string;
  /** A poison flood is one line, then one summary per interval. */
  readonly #deadLettered: LogThrottle;
  #consumer: ConsumerState | undefined;
  /** Deliveries being handled or settled; close waits for them. */
  readonly #inFlight = new Set<Promise<void>>();
  #closing: Promise<void> | undefined;

  constructor(options: AmqpProjectorOptions<E>) {
    this.#runner = createProjectionRunner(options, 'projector');
    const { exchange = 'pokegate.events', deadLetterQueue = `${this.#runner.queue}.dlq` } = options;
    this.#exchange = expectShortString('exchange', exchange);
    this.#deadLetterQueue = expectShortString('deadLetterQueue', deadLetterQueue);
    this.#deadLettered = createLogThrottle({ logger: this.#runner.logger });
    this.#connection = new ManagedConnection(options, {
      component: 'projector',
      setup: (model) => this.#setup(model),
      connected: () => undefined,
      disconnected: () => undefined,
    });
  }

  get consuming(): boolean {
    return this.#consumer?.open === true && this.#closing === undefined;
  }

  start(options: StartOptions = {}): Promise<void> {
    // A start that fails leaves the component closed, its waiters settled.
    return this.#connection.open(options.signal).catch(async (error: unknown) => {
      await this.close();
      throw error;
    });
  }

  close(options: ProjectorCloseOptions = {}): Promise<void> {
    this.#closing ??= this.#close(options.signal);
    return this.#closing;
  }

  [Symbol.asyncDispose](): Promise<void> {
    return this.close();
  }

  async #setup(model: ChannelModel): Promise<void> {
    const { queue, bindingKeys, retryDelays, prefetch } = this.#runner;
    const channel = await model.createConfirmChannel();
    const state: ConsumerState = { channel, tag: '', open: true };
    this.#connection.watch(model, channel, () => {
      state.open = false;
    });
    await channel.assertExchange(this.#exchange, 'topic', { durable: true });
    await channel.assertQueue(queue, { durable: true });
    for (const key of bindingKeys) await channel.bindQueue(queue, this.#exchange, key);
    for (const delayMs of retryDelays) {
      await channel.assertQueue(retryQueueName(queue, delayMs), {
        durable: true,
        messageTtl: delayMs,
        deadLetterExchange: '',
        deadLetterRoutingKey: queue,
      });
    }
    await channel.assertQueue(this.#deadLetterQueue, { durable: true });
    await channel.prefetch(prefetch);
    const { consumerTag } = await channel.consume(
      queue,
      (message) => {
        this.#onMessage(model, state, message);
      },
      { noAck: false },
    );
    state.tag = consumerTag;
    this.#consumer = state;
    this.#connection.logger.info(
      { queue, deadLetterQueue: this.#deadLetterQueue, retryDelaysMs: retryDelays, prefetch },
      'consuming',
    );
  }

  /** Called by amqplib for each delivery; it must never throw. */
  #onMessage(model: ChannelModel, state: ConsumerState, message: ConsumeMessage | null): void {
    if (message === null) {
      state.open = false;
      this.#connection.recycle(model, 'the broker cancelled the consumer (its queue was deleted)');
      return;
    }
    const task = this.#handle(state, message);
    this.#inFlight.add(task);
    void task.then(() => this.#inFlight.delete(task));
  }

  /** Never rejects. */
  async #handle(state: ConsumerState, message: ConsumeMessage): Promise<void> {
    const headers = message.properties.headers ?? {};
    const attempt = Number(headers[projectorHeaders.attempt] ?? 1);
    const original: unknown = headers[projectorHeaders.routingKey];
    const routingKey = typeof original === 'string' ? original : message.fields.routingKey;
    const verdict = await this.#runner.run({
      body: message.content,
      routingKey,
      attempt: Number.isInteger(attempt) && attempt >= 1 ? attempt : 1,
      redelivered: message.fields.redelivered,
    });
    // The channel is gone: the broker hands the delivery out again.
    if (!state.open) return;
    try {
      await this.#carryOut(state.channel, message, routingKey, verdict);
      state.channel.ack(message);
    } catch (error) {
      this.#runner.logger.warn(
        { routingKey, reason: reasonOf(error) },
        'could not settle a delivery; the broker will redeliver it',
      );
      return;
    }
    this.#runner.observer.projected({
      outcome:
        verdict.action === 'ack' ? verdict.outcome : verdict.action === 'retry' ? 'retried' : 'dead_lettered',
    });
  }

  async #carryOut(
    channel: ConfirmChannel,
    message: ConsumeMessage,
    routingKey: string,
    verdict: Verdict,
  ): Promise<void> {
    if (verdict.action === 'ack') return;
    const { queue, logger } = this.#runner;
    if (verdict.action === 'retry') {
      logger.debug({ routingKey, attempt: verdict.attempt, reason: verdict.reason }, 'retrying later');
      await send(channel, retryQueueName(queue, verdict.delayMs), message, {
        [projectorHeaders.attempt]: verdict.attempt,
        [projectorHeaders.routingKey]: routingKey,
        [projectorHeaders.reason]: verdict.reason,
      });
      return;
    }
    await send(channel, this.#deadLetterQueue, message, {
      [projectorHeaders.attempt]: verdict.attempts,
      [projectorHeaders.routingKey]: routingKey,
      [projectorHeaders.reason]: verdict.reason,
    });
    this.#deadLettered.warn(
      'dead-lettered',
      {
        routingKey,
        attempts: verdict.attempts,
        reason: verdict.reason,
        deadLetterQueue: this.#deadLetterQueue,
      },
      'dead-lettered',
    );
  }

  async #close(signal: AbortSignal | undefined): Promise<void> {
    const consumer = this.#consumer;
    this.#consumer = undefined;
    if (consumer?.open === true) {
      // No new deliveries; those in flight may still be acknowledged on this channel.
      await consumer.channel.cancel(consumer.tag).catch(() => undefined);
    }
    let drained = true;
    try {
      await abortable(Promise.all(this.#inFlight), signal);
    } catch {
      drained = false;
    }
    // Deliveries not acknowledged by now go back to the queue.
    await this.#connection.close();
    if (!drained) this.#runner.abort(new TransportClosedError('The projector'));
    this.#deadLettered.dispose();
    this.#runner.logger.info({ drained, abandoned: drained ? 0 : this.#inFlight.size }, 'projector closed');
  }
}

/** Publishes a copy of `message` straight to `queue` and waits for the broker's confirm. */
function send(
  channel: ConfirmChannel,
  queue: string,
  message: ConsumeMessage,
  extra: Record<string, unknown>,
): Promise<void> {
  const headers: Record<string, unknown> = {};
  for (const [name, value] of Object.entries(message.properties.headers ?? {})) {
    // The broker's own dead-lettering history is not ours to carry on.
    if (
      !name.startsWith('x-death') &&
      !name.startsWith('x-first-death') &&
      !name.startsWith('x-last-death')
    ) {
      headers[name] = value;
    }
  }
  Object.assign(headers, extra);
  const options: Options.Publish = { ...copyProperties(message.properties), headers, persistent: true };
  return new Promise((resolve, reject) => {
    channel.sendToQueue(queue, message.content, options, (error: unknown) => {
      if (error === null || error === undefined) resolve();
      else reject(toError(error));
    });
  });
}

const copied = [
  'contentType',
  'contentEncoding',
  'correlationId',
  'messageId',
  'timestamp',
  'type',
  'appId',
] as const;

function copyProperties(properties: MessageProperties): Options.Publish {
  const options: Record<string, unknown> = {};
  for (const name of copied) {
    const value: unknown = properties[name];
    if (value !== undefined && value !== null) options[name] = value;
  }
  return options;
}
