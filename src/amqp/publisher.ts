import type { ChannelModel, ConfirmChannel, Options } from 'amqplib';
import { toError } from '../common/errors.js';
import { expectFunction, expectInteger, expectShortString } from '../common/validate.js';
import { abortable, abortReason } from '../common/abort.js';
import { PublisherBufferFullError, PublishNackedError, TransportClosedError } from '../transport/errors.js';
import type {
  Publisher,
  PublisherCloseOptions,
  PublisherOptions,
  PublishOptions,
} from '../transport/publisher.js';
import type { StartOptions } from '../transport/transient-consumer.js';
import { ManagedConnection, type AmqpConnectionOptions } from './connection.js';

/** `PublisherOptions` (the same on the in-process bus), the broker connection and the exchange. */
export interface AmqpPublisherOptions<E> extends PublisherOptions<E>, AmqpConnectionOptions {
  /**
   * The topic exchange to publish on; declared (durable) if missing.
   * @default 'pokegate.events'
   */
  readonly exchange?: string;
}

/**
 * Publishes on a confirm channel: `publish` resolves once the broker
 * confirmed. While the connection is down the events wait in a bounded
 * buffer, and go out in order once recovery has reconnected.
 */
export function createAmqpPublisher<E>(options: AmqpPublisherOptions<E>): Publisher<E> {
  return new AmqpPublisher(options);
}

interface Entry {
  /** Publish order: entries handed back by a lost channel go out again in it. */
  readonly seq: number;
  readonly routingKey: string;
  readonly body: Buffer;
  readonly options: Options.Publish;
  readonly resolve: () => void;
  readonly reject: (error: Error) => void;
  readonly detach: () => void;
  settled: boolean;
}

class AmqpPublisher<E> implements Publisher<E> {
  readonly #connection: ManagedConnection;
  readonly #exchange: string;
  readonly #routingKey: (event: E) => string;
  readonly #messageId: ((event: E) => string) | undefined;
  readonly #maxBuffered: number;
  /** The channel of the live connection, once its setup succeeded; undefined while it is down. */
  #channel: ConfirmChannel | undefined;
  /** Set while the socket buffer is full: entries wait until the channel drains. */
  #draining = false;
  /** Waiting to be written, oldest first. */
  #buffer: Entry[] = [];
  /** Written on `#channel`, waiting for the broker's confirm. */
  readonly #unconfirmed = new Set<Entry>();
  /** Handed back by a channel that closed before confirming them. */
  #returned: Entry[] = [];
  #seq = 0;
  #closing: Promise<void> | undefined;

  constructor(options: AmqpPublisherOptions<E>) {
    const { exchange = 'pokegate.events', routingKey, messageId, maxBuffered = 1_000 } = options;
    this.#exchange = expectShortString('exchange', exchange);
    this.#routingKey = expectFunction('routingKey', routingKey);
    this.#messageId = messageId === undefined ? undefined : expectFunction('messageId', messageId);
    this.#maxBuffered = expectInteger('maxBuffered', maxBuffered, 1);
    this.#connection = new ManagedConnection(options, {
      component: 'publisher',
      setup: (model) => this.#setup(model),
      connected: () => {
        this.#flush();
      },
      disconnected: () => undefined,
    });
  }

  get connected(): boolean {
    return this.#channel !== undefined;
  }

  start(options: StartOptions = {}): Promise<void> {
    // A start that fails leaves the component closed, its waiters settled.
    return this.#connection.open(options.signal).catch(async (error: unknown) => {
      await this.close();
      throw error;
    });
  }

  publish(event: E, options: PublishOptions = {}): Promise<void> {
    if (this.#closing !== undefined) return Promise.reject(new TransportClosedError('The publisher'));
    const { signal } = options;
    if (signal?.aborted === true) return Promise.reject(abortReason(signal));
    let routingKey: string;
    let body: Buffer;
    let messageId: string | undefined;
    try {
      routingKey = expectShortString('routingKey(event)', this.#routingKey(event));
      messageId = this.#messageId?.(event);
      body = Buffer.from(JSON.stringify(event));
    } catch (error) {
      return Promise.reject(toError(error));
    }
    const writable = this.#channel !== undefined && !this.#draining && this.#buffer.length === 0;
    if (!writable && this.#buffer.length >= this.#maxBuffered) {
      return Promise.reject(
        new PublisherBufferFullError(this.#buffer.length, this.#maxBuffered, this.#channel !== undefined),
      );
    }
    return new Promise<void>((resolve, reject) => {
      const onAbort = (): void => {
        this.#drop(entry);
        settle(entry, () => {
          reject(abortReason(signal as AbortSignal));
        });
      };
      const entry: Entry = {
        seq: ++this.#seq,
        routingKey,
        body,
        options: {
          persistent: true,
          contentType: 'application/json',
          timestamp: Math.floor(Date.now() / 1000),
          ...(messageId === undefined ? {} : { messageId }),
        },
        resolve,
        reject,
        detach: () => signal?.removeEventListener('abort', onAbort),
        settled: false,
      };
      signal?.addEventListener('abort', onAbort, { once: true });
      if (writable) this.#write(entry);
      else this.#buffer.push(entry);
    });
  }

  close(options: PublisherCloseOptions = {}): Promise<void> {
    this.#closing ??= this.#close(options.signal);
    return this.#closing;
  }

  [Symbol.asyncDispose](): Promise<void> {
    return this.close();
  }

  async #setup(model: ChannelModel): Promise<void> {
    const channel = await model.createConfirmChannel();
    this.#connection.watch(model, channel, () => {
      this.#lost(channel);
    });
    channel.on('drain', () => {
      if (this.#channel !== channel) return;
      this.#draining = false;
      this.#flush();
    });
    await channel.assertExchange(this.#exchange, 'topic', { durable: true });
    this.#channel = channel;
    this.#draining = false;
  }

  /** Writes the buffer, oldest first, while the channel takes it. */
  #flush(): void {
    while (this.#channel !== undefined && !this.#draining) {
      const entry = this.#buffer.shift();
      if (entry === undefined) return;
      this.#write(entry);
    }
  }

  #write(entry: Entry): void {
    const channel = this.#channel;
    if (channel === undefined) {
      this.#buffer.unshift(entry);
      return;
    }
    this.#unconfirmed.add(entry);
    let more: boolean;
    try {
      more = channel.publish(
        this.#exchange,
        entry.routingKey,
        entry.body,
        entry.options,
        (error: unknown) => {
          this.#confirmed(entry, error);
        },
      );
    } catch {
      // The channel is closing: its close hands the entry back.
      return;
    }
    if (!more) this.#draining = true;
  }

  #confirmed(entry: Entry, error: unknown): void {
    if (!this.#unconfirmed.delete(entry)) return;
    if (error === null || error === undefined) {
      settle(entry, entry.resolve);
    } else if (error instanceof Error && error.message === 'message nacked') {
      settle(entry, () => {
        entry.reject(new PublishNackedError(entry.routingKey));
      });
    } else if (this.#closing === undefined) {
      // amqplib fails the confirms of a closing channel: send it again after the reconnect.
      this.#returned.push(entry);
    } else {
      settle(entry, () => {
        entry.reject(new TransportClosedError('The publisher (before the broker confirmed the event)'));
      });
    }
  }

  /** The channel closed: what it had not confirmed goes back to the front of the buffer, in order. */
  #lost(channel: ConfirmChannel): void {
    if (this.#channel === channel) this.#channel = undefined;
    for (const entry of this.#unconfirmed) this.#returned.push(entry);
    this.#unconfirmed.clear();
    const returned = this.#returned.filter((entry) => !entry.settled).sort((a, b) => a.seq - b.seq);
    this.#returned = [];
    if (this.#closing !== undefined) {
      for (const entry of returned) {
        settle(entry, () => {
          entry.reject(new TransportClosedError('The publisher (before the broker confirmed the event)'));
        });
      }
      return;
    }
    this.#buffer.unshift(...returned);
  }

  #drop(entry: Entry): void {
    const index = this.#buffer.indexOf(entry);
    if (index >= 0) this.#buffer.splice(index, 1);
    this.#unconfirmed.delete(entry);
  }

  async #close(signal: AbortSignal | undefined): Promise<void> {
    for (const entry of this.#buffer.splice(0)) {
      settle(entry, () => {
        entry.reject(new TransportClosedError('The publisher'));
      });
    }
    const channel = this.#channel;
    if (channel !== undefined && this.#unconfirmed.size > 0) {
      await abortable(channel.waitForConfirms(), signal).catch(() => undefined);
    }
    await this.#connection.close();
    for (const entry of this.#unconfirmed) {
      settle(entry, () => {
        entry.reject(new TransportClosedError('The publisher (before the broker confirmed the event)'));
      });
    }
    this.#unconfirmed.clear();
  }
}

/** Settles an entry once, and removes its abort listener. */
function settle(entry: Entry, action: () => void): void {
  if (entry.settled) return;
  entry.settled = true;
  entry.detach();
  action();
}
