import type { Logger } from '../common/logger.js';
import type { StartOptions } from './transient-consumer.js';

/** What every publisher is built from, on the broker or on the in-process bus. */
export interface PublisherOptions<E> {
  /** The routing key of an event, e.g. `orderRoutingKey`. */
  readonly routingKey: (event: E) => string;
  /**
   * The AMQP `message-id` of an event, e.g. its `eventId`.
   * @default none
   */
  readonly messageId?: (event: E) => string;
  /**
   * Events held while the publisher cannot send (not connected yet, or
   * reconnecting); beyond it `publish` rejects with `PublisherBufferFullError`
   * at once. Minimum: 1.
   * @default 1000
   */
  readonly maxBuffered?: number;
  /** @default a silent logger */
  readonly logger?: Logger;
}

export interface PublishOptions {
  /**
   * Aborting it rejects `publish` with its reason. An event still in the
   * buffer is dropped; one already written may still reach the broker.
   */
  readonly signal?: AbortSignal;
}

export interface PublisherCloseOptions {
  /** Bounds the wait for the confirms of the events already written. */
  readonly signal?: AbortSignal;
}

/** Publishes events as JSON onto the topic exchange. */
export interface Publisher<E> {
  /** Whether it can send now. */
  readonly connected: boolean;
  start(options?: StartOptions): Promise<void>;
  /**
   * Resolves once the broker has confirmed the event (it is then routed to
   * every bound queue, durably for durable ones). Events written but not yet
   * confirmed when the connection drops are sent again after the reconnect,
   * so an event may arrive twice: consumers are idempotent by `eventId` and
   * `version`.
   */
  publish(event: E, options?: PublishOptions): Promise<void>;
  /**
   * Rejects the buffered events with `TransportClosedError`, waits for the
   * confirms of those already written, and closes. Idempotent.
   */
  close(options?: PublisherCloseOptions): Promise<void>;
  [Symbol.asyncDispose](): Promise<void>;
}
