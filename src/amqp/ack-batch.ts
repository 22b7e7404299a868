import type { Channel, Message } from 'amqplib';
import type { Gate } from '../core/gate.js';

/** What the acknowledgements need of the gate: how loaded it is, and a wait for it to drain. */
export type GateLoad = Pick<Gate, 'stats' | 'queuedBelow'>;

export interface AckBatchOptions {
  /** The gate the messages' submissions go to; without it nothing is held back. */
  readonly gate: GateLoad | undefined;
  /** Submissions waiting in the gate at or above which acknowledgements wait for it to drain. */
  readonly highWaterMark: number;
}

/**
 * Acknowledges a channel's deliveries once per event-loop turn, with one
 * `multiple` ack up to the newest delivery dispatched in that turn (every
 * earlier one on the channel was dispatched before it). While the gate holds
 * `highWaterMark` or more waiting submissions the ack waits for it to drain:
 * the broker stops at the channel's prefetch of unacknowledged messages and
 * keeps the rest, so a flood holds at most prefetch + high-water mark in the
 * process.
 */
export class AckBatch {
  readonly #gate: GateLoad | undefined;
  readonly #highWaterMark: number;
  /** Aborted by `close`: ends a wait for the gate. */
  readonly #closed = new AbortController();
  /** The channel of `#newest`; a delivery on another one drops what was pending here. */
  #channel: Channel | undefined;
  /** The newest dispatched delivery not acknowledged yet. */
  #newest: Message | undefined;
  /** A flush is scheduled or waiting for the gate: later deliveries join it. */
  #pending = false;

  constructor(options: AckBatchOptions) {
    this.#gate = options.gate;
    this.#highWaterMark = options.highWaterMark;
  }

  /** `message` was dispatched (its submissions made): it is acknowledged with the turn's batch. */
  add(channel: Channel, message: Message): void {
    // Deliveries pending on a previous channel went with it: that gap is healed by the resync.
    this.#channel = channel;
    this.#newest = message;
    if (this.#pending || this.#closed.signal.aborted) return;
    this.#pending = true;
    setImmediate(this.#flush);
  }

  /** Stops acknowledging; what is pending stays unacknowledged and goes with the channel. */
  close(): void {
    this.#closed.abort();
    this.#newest = undefined;
    this.#channel = undefined;
  }

  readonly #flush = (): void => {
    const gate = this.#gate;
    if (gate !== undefined && gate.stats.queued >= this.#highWaterMark && !this.#closed.signal.aborted) {
      // queuedBelow never rejects: it resolves on drain or on close.
      void gate.queuedBelow(this.#highWaterMark, this.#closed.signal).then(this.#ack);
      return;
    }
    this.#ack();
  };

  readonly #ack = (): void => {
    this.#pending = false;
    const channel = this.#channel;
    const newest = this.#newest;
    this.#newest = undefined;
    if (channel === undefined || newest === undefined || this.#closed.signal.aborted) return;
    try {
      channel.ack(newest, true);
    } catch {
      // The channel closed meanwhile: its loss is a gap, healed by the resync.
    }
  };
}
