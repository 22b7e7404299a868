import { PokegateError } from '../common/errors.js';

/** Thrown by `start` and `publish` once the component has been closed. */
export class TransportClosedError extends PokegateError {
  override name = 'TransportClosedError';
  constructor(what: string) {
    super(`${what} is closed`);
  }
}

/** `start` gave up: the broker did not answer within the startup attempts. */
export class BrokerUnreachableError extends PokegateError {
  override name = 'BrokerUnreachableError';
  constructor(url: string, retries: number, cause: Error) {
    super(`Could not connect to the broker at ${url} (${retries + 1} attempts): ${cause.message}`, { cause });
  }
}

/** `publish` while the publisher cannot send and already holds `maxBuffered` events. */
export class PublisherBufferFullError extends PokegateError {
  override name = 'PublisherBufferFullError';
  constructor(waiting: number, maxBuffered: number, connected: boolean) {
    const why = connected ? 'waiting for the socket to drain' : 'not connected to the broker';
    super(
      `The publisher is ${why} and its buffer is full (${waiting} events waiting, \`maxBuffered\` is ${maxBuffered}): publish again later`,
    );
  }
}

/** The broker refused an event (a negative publisher confirm). */
export class PublishNackedError extends PokegateError {
  override name = 'PublishNackedError';
  constructor(routingKey: string) {
    super(`The broker refused the event with routing key "${routingKey}" (nack)`);
  }
}
