import type { Channel, ChannelModel, ConsumeMessage } from 'amqplib';
import { expectFunction, expectInteger, expectShortString } from '../common/validate.js';
import { createDispatcher, type Dispatcher } from '../transport/dispatcher.js';
import type {
  StartOptions,
  TransientConsumer,
  TransientConsumerOptions,
} from '../transport/transient-consumer.js';
import { AckBatch, type GateLoad } from './ack-batch.js';
import { ManagedConnection, type AmqpConnectionOptions } from './connection.js';

/** `TransientConsumerOptions` (the same on the in-process bus), the broker connection, and the consumer's flow control. */
export interface AmqpTransientConsumerOptions<E> extends TransientConsumerOptions<E>, AmqpConnectionOptions {
  /**
   * The topic exchange the events are published on; declared (durable) if missing.
   * @default 'pokegate.events'
   */
  readonly exchange?: string;
  /**
   * Messages the broker sends ahead of the acknowledgements. They are
   * acknowledged after their submissions, in groups (one `multiple` ack
   * 10 ms after the first of a group, or at the end of the turn once 100
   * wait); while the gate is loaded (see `highWaterMark`) this is what
   * bounds the messages in the process. Minimum: 1.
   * @default 1000
   */
  readonly prefetch?: number;
  /**
   * The gate the mapper's registries submit to. With it, acknowledgements are
   * held back while the gate is loaded, and a flood waits in the broker
   * instead of in the heap (or being skipped as `overloaded`).
   * @default undefined — acknowledge every turn, whatever the load
   */
  readonly gate?: GateLoad | undefined;
  /**
   * Submissions waiting in `gate` (`gate.stats.queued`) at or above which
   * acknowledgements wait until it drains below it. At most this plus
   * `prefetch` submissions then wait in the process; keep it under the gate's
   * `maxQueued`. Minimum: 1.
   * @default 8000
   */
  readonly highWaterMark?: number;
}

/**
 * The per-replica consumer on RabbitMQ: a server-named, exclusive,
 * auto-delete queue bound to the exchange, re-declared on every reconnect.
 * The queue dies with the connection, so whatever was published during a gap
 * is lost to this replica: every reconnect (after a lost connection, a lost
 * channel, or a consumer the broker cancelled) resyncs every registry.
 */
export function createAmqpTransientConsumer<E>(options: AmqpTransientConsumerOptions<E>): TransientConsumer {
  return new AmqpTransientConsumer(options);
}

class AmqpTransientConsumer<E> implements TransientConsumer {
  readonly #dispatcher: Dispatcher;
  readonly #connection: ManagedConnection;
  readonly #exchange: string;
  readonly #prefetch: number;
  readonly #acks: AckBatch;
  /** True between a successful setup and the loss of its channel; drives `pokegate_broker_connected`. */
  #consuming = false;
  #closing: Promise<void> | undefined;

  constructor(options: AmqpTransientConsumerOptions<E>) {
    const { exchange = 'pokegate.events', prefetch = 1_000, gate, highWaterMark = 8_000 } = options;
    this.#exchange = expectShortString('exchange', exchange);
    this.#prefetch = expectInteger('prefetch', prefetch, 1);
    if (gate !== undefined)
      expectFunction('gate.queuedBelow', (gate as Partial<GateLoad> | null)?.queuedBelow);
    this.#acks = new AckBatch({ gate, highWaterMark: expectInteger('highWaterMark', highWaterMark, 1) });
    this.#dispatcher = createDispatcher(options, 'transient-consumer');
    this.#connection = new ManagedConnection(options, {
      component: 'transient-consumer',
      setup: (model) => this.#setup(model),
      connected: (first) => {
        this.#connected(first);
      },
      disconnected: () => {
        this.#lost();
      },
    });
  }

  get consuming(): boolean {
    return this.#consuming;
  }

  start(options: StartOptions = {}): Promise<void> {
    // A start that fails leaves the component closed, its waiters settled.
    return this.#connection.open(options.signal).catch(async (error: unknown) => {
      await this.close();
      throw error;
    });
  }

  close(): Promise<void> {
    this.#closing ??= this.#close();
    return this.#closing;
  }

  [Symbol.asyncDispose](): Promise<void> {
    return this.close();
  }

  async #setup(model: ChannelModel): Promise<void> {
    const channel = await model.createChannel();
    this.#connection.watch(model, channel, () => {
      this.#lost();
    });
    await channel.assertExchange(this.#exchange, 'topic', { durable: true });
    const { queue } = await channel.assertQueue('', { exclusive: true, autoDelete: true, durable: false });
    const exchange = this.#exchange;
    for (const key of this.#dispatcher.bindingKeys) await channel.bindQueue(queue, exchange, key);
    // Exactly the keys with receivers now (or lingering), before the first message.
    await this.#dispatcher.interest?.attach({
      bind: async (pattern) => {
        await channel.bindQueue(queue, exchange, pattern);
      },
      unbind: async (pattern) => {
        await channel.unbindQueue(queue, exchange, pattern);
      },
    });
    await channel.prefetch(this.#prefetch);
    await channel.consume(
      queue,
      (message) => {
        this.#onMessage(model, channel, message);
      },
      { noAck: false },
    );
    this.#connection.logger.info(
      {
        queue,
        exchange: this.#exchange,
        bindingKeys: this.#dispatcher.bindingKeys,
        ...(this.#dispatcher.interest === undefined
          ? {}
          : { interestBindings: this.#dispatcher.interest.bindings - this.#dispatcher.bindingKeys.length }),
        prefetch: this.#prefetch,
      },
      'consuming',
    );
  }

  #connected(first: boolean): void {
    this.#setConsuming(true);
    // Consuming again before resyncing: nothing falls between the two. Before
    // the first start only receivers already open can have missed anything.
    this.#dispatcher.resync(first);
    this.#dispatcher.interest?.connected();
  }

  /** The channel or the connection is gone, and the exclusive queue with it. */
  #lost(): void {
    this.#setConsuming(false);
    this.#dispatcher.interest?.detach();
  }

  /** Called by amqplib for each delivery; it must never throw. */
  #onMessage(model: ChannelModel, channel: Channel, message: ConsumeMessage | null): void {
    if (message === null) {
      this.#setConsuming(false);
      this.#connection.recycle(model, 'the broker cancelled the consumer (its queue was deleted)');
      return;
    }
    this.#dispatcher.dispatch(message.fields.routingKey, message.content);
    this.#acks.add(channel, message);
  }

  #setConsuming(consuming: boolean): void {
    if (this.#consuming === consuming) return;
    this.#consuming = consuming;
    this.#dispatcher.observer.consuming({ consuming });
  }

  async #close(): Promise<void> {
    this.#dispatcher.interest?.dispose();
    this.#acks.close();
    await this.#connection.close();
    this.#setConsuming(false);
  }
}
