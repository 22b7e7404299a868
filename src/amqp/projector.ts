import type { ChannelModel, ConfirmChannel, ConsumeMessage, MessageProperties, Options } from 'amqplib';
import { abortable } from '../common/abort.js';
import { reasonOf, toError } from '../common/errors.js';
import { TransportClosedError } from '../transport/errors.js';
import { createLogThrottle, type LogThrottle } from '../common/log-throttle.js';
import { createBatchWindow, type BatchWindow } from '../transport/batch-window.js';
import {
  createProjectionRunner,
  type Delivery,
  type ProjectionRunner,
  type Verdict,
} from '../transport/projection-runner.js';
import {
  defaultRetryDelaysMs,
  type Projector,
  type ProjectorCloseOptions,
  type ProjectorOptions,
  type TypedEvent,
} from '../transport/projector.js';
import type { StartOptions } from '../transport/transient-consumer.js';
import { expectShortString } from '../common/validate.js';
import { AckPrefix } from './ack-prefix.js';
import { ManagedConnection, type AmqpConnectionOptions } from './connection.js';

/** `ProjectorOptions` (the same on the in-process bus), the broker connection, and the projector's exchange and dead-letter queue. */
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

/** What names a projector's queues: the options of `createAmqpProjector` that do. */
export interface ProjectorQueueOptions {
  readonly queue: string;
  /** @default [50, 250, 1000, 5000] */
  readonly retryDelaysMs?: readonly number[] | undefined;
  /** @default `${queue}.dlq` */
  readonly deadLetterQueue?: string | undefined;
}

/**
 * Every durable queue a projector with these options declares: its work
 * queue, one retry queue per distinct delay (`<queue>.retry.<delay>ms`) and
 * its dead-letter queue (`<queue>.dlq`). Only the work queue is bound to the
 * exchange: deleting the exchange leaves the others, so a teardown deletes
 * each by name.
 */
export function projectorQueues(options: ProjectorQueueOptions): readonly string[] {
  const { queue, retryDelaysMs = defaultRetryDelaysMs, deadLetterQueue = `${queue}.dlq` } = options;
  const retries = [...new Set(retryDelaysMs)].map((delayMs) => retryQueueName(queue, delayMs));
  return [queue, ...retries, deadLetterQueue];
}

/** The projector on RabbitMQ, which says which queues it declares. */
export interface AmqpProjector extends Projector {
  /** Every queue it declares, as `projectorQueues` lists them: the work queue first, the dead-letter queue last. */
  readonly queues: readonly string[];
}

/**
 * The projector on RabbitMQ. Topology, declared on every (re)connect: the
 * durable work queue bound to the exchange; one durable retry queue per
 * distinct retry delay; the durable dead-letter queue. Deliveries are
 * projected in batches; a batch is acknowledged (with `multiple`) only after
 * its transaction committed and the broker confirmed every retry or
 * dead-letter copy it made — so a crash at any point leads to a redelivery,
 * never to a loss.
 */
export function createAmqpProjector<E extends TypedEvent>(options: AmqpProjectorOptions<E>): AmqpProjector {
  return new AmqpProjectorImpl(options);
}

interface ConsumerState {
  readonly channel: ConfirmChannel;
  tag: string;
  /** False once the channel closed: its deliveries can no longer be acknowledged. */
  open: boolean;
  /** This channel's deliveries, batched (in delivery order, or fairly across tenants). */
  readonly window: BatchWindow<Incoming>;
  /** Acknowledges what the batches settled, by its contiguous prefix. */
  readonly acks: AckPrefix;
}

/** A delivery as it arrived, and as the runner takes it. */
interface Incoming {
  readonly message: ConsumeMessage;
  readonly delivery: Delivery;
}

class AmqpProjectorImpl<E extends TypedEvent> implements AmqpProjector {
  readonly #runner: ProjectionRunner;
  readonly #connection: ManagedConnection;
  readonly #exchange: string;
  readonly #deadLetterQueue: string;
  /** A poison flood is one line, then one summary per interval. */
  readonly #deadLettered: LogThrottle;
  #consumer: ConsumerState | undefined;
  /** The windows of every channel with deliveries left to settle; close waits for them. */
  readonly #windows = new Set<BatchWindow<Incoming>>();
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

  get queues(): readonly string[] {
    const { queue, retryDelays } = this.#runner;
    return projectorQueues({ queue, retryDelaysMs: retryDelays, deadLetterQueue: this.#deadLetterQueue });
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
    const state: ConsumerState = {
      channel,
      tag: '',
      open: true,
      window: createBatchWindow(this.#runner.maxBatchSize, (batch) => this.#project(state, batch)),
      acks: new AckPrefix(channel),
    };
    this.#windows.add(state.window);
    this.#connection.watch(model, channel, () => {
      state.open = false;
      // The broker hands its unacknowledged deliveries out again.
      state.acks.close();
      state.window.clear();
      void state.window.idle().then(() => this.#windows.delete(state.window));
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
      {
        queue,
        deadLetterQueue: this.#deadLetterQueue,
        retryDelaysMs: retryDelays,
        prefetch,
        maxBatchSize: this.#runner.maxBatchSize,
      },
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
    const delivery = toDelivery(message);
    state.acks.received(message);
    state.window.add({ message, delivery }, this.#runner.tenantOf(delivery));
  }

  /** Projects one batch and settles its deliveries. Never rejects. */
  async #project(state: ConsumerState, batch: readonly Incoming[]): Promise<void> {
    const deliveries = batch.map((incoming) => incoming.delivery);
    const verdicts = await this.#runner.run(deliveries);
    // The channel is gone: the broker hands these deliveries out again.
    if (!isOpen(state)) return;
    // Every copy is sent before any confirm is awaited: one round trip per batch.
    const copies = await Promise.allSettled(
      verdicts.map((verdict, i) => {
        const { message, delivery } = batch[i] as Incoming;
        return this.#carryOut(state.channel, message, delivery, verdict);
      }),
    );
    if (!isOpen(state)) return;
    copies.forEach((copy, i) => {
      const { message, delivery } = batch[i] as Incoming;
      const verdict = verdicts[i] as Verdict;
      if (copy.status === 'rejected') {
        this.#runner.logger.warn(
          { routingKey: delivery.routingKey, reason: reasonOf(copy.reason) },
          'could not settle a delivery; the broker will redeliver it',
        );
        state.acks.requeue(message);
        return;
      }
      state.acks.ack(message);
      this.#runner.observer.projected({
        outcome:
          verdict.action === 'ack'
            ? verdict.outcome
            : verdict.action === 'retry'
              ? 'retried'
              : 'dead_lettered',
      });
    });
    state.acks.schedule();
  }

  async #carryOut(
    channel: ConfirmChannel,
    message: ConsumeMessage,
    { routingKey }: Delivery,
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
      await abortable(Promise.all([...this.#windows].map((window) => window.idle())), signal);
    } catch {
      drained = false;
    }
    // What the batches settled is acknowledged now rather than after the delay,
    // and a round trip on the channel sees the broker take it: the connection's
    // close could overtake the channel's frames. Deliveries not acknowledged by
    // now go back to the queue.
    if (consumer?.open === true) {
      consumer.acks.flush();
      await consumer.channel.checkQueue(this.#runner.queue).catch(() => undefined);
    }
    await this.#connection.close();
    if (!drained) this.#runner.abort(new TransportClosedError('The projector'));
    this.#deadLettered.dispose();
    this.#runner.logger.info({ drained }, 'projector closed');
  }
}

/** Read through a call: the channel may close during any await. */
function isOpen(state: ConsumerState): boolean {
  return state.open;
}

function toDelivery(message: ConsumeMessage): Delivery {
  const headers = message.properties.headers ?? {};
  const attempt = Number(headers[projectorHeaders.attempt] ?? 1);
  const original: unknown = headers[projectorHeaders.routingKey];
  return {
    body: message.content,
    routingKey: typeof original === 'string' ? original : message.fields.routingKey,
    attempt: Number.isInteger(attempt) && attempt >= 1 ? attempt : 1,
    redelivered: message.fields.redelivered,
  };
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
