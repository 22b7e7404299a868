import type { Channel, Message } from 'amqplib';
import { ackDelayMs, ackGroup } from './ack-batch.js';

/**
 * Acknowledges a channel's deliveries that are settled out of delivery
 * order (a fair batch window projects them so): one `multiple` ack up to the
 * newest delivery before which every delivery is settled. A delivery settled
 * after a gap stays unacknowledged until the gap is settled, so a crash at
 * any point leads to a redelivery, never to a loss. Acknowledgements are
 * grouped as the transient consumer's are (`ackDelayMs`, `ackGroup`).
 */
export class AckPrefix {
  readonly #channel: Channel;
  /** Deliveries in delivery order, from `#head` on not acknowledged yet. */
  #order: Message[] = [];
  #head = 0;
  /** Settled deliveries past the head: `true` to acknowledge, `false` already nacked. */
  readonly #settled = new Map<Message, boolean>();
  #timer: NodeJS.Timeout | undefined;

  constructor(channel: Channel) {
    this.#channel = channel;
  }

  /** A delivery, as it arrives. */
  received(message: Message): void {
    this.#order.push(message);
  }

  /** A delivery is done: acknowledged with the settled prefix by `flush`. */
  ack(message: Message): void {
    this.#settled.set(message, true);
  }

  /** A delivery goes back to the queue now. */
  requeue(message: Message): void {
    this.#channel.nack(message, false, true);
    this.#settled.set(message, false);
  }

  /** Acknowledges the settled prefix soon: after the delay, or now once a group is waiting. */
  schedule(): void {
    if (this.#settled.size >= ackGroup) this.flush();
    else this.#timer ??= setTimeout(() => this.flush(), ackDelayMs);
  }

  /** Drops a scheduled acknowledgement: the channel is gone, and its deliveries with it. */
  close(): void {
    clearTimeout(this.#timer);
    this.#timer = undefined;
  }

  /** Acknowledges the settled prefix now, with one `multiple` ack. */
  flush(): void {
    this.close();
    let newest: Message | undefined;
    for (;;) {
      const message = this.#order[this.#head];
      const settled = message === undefined ? undefined : this.#settled.get(message);
      if (message === undefined || settled === undefined) break;
      this.#settled.delete(message);
      this.#head++;
      // A nacked delivery is the broker's again: never the tag of the ack.
      if (settled) newest = message;
    }
    if (this.#head > 1_024 && this.#head * 2 > this.#order.length) {
      this.#order = this.#order.slice(this.#head);
      this.#head = 0;
    }
    if (newest === undefined) return;
    try {
      this.#channel.ack(newest, true);
    } catch {
      // The channel closed meanwhile: the broker hands its deliveries out again.
    }
  }
}
