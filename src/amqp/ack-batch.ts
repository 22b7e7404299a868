import type { Channel, Message } from 'amqplib';
import type { Gate } from '../core/gate.js';

/** What the acknowledgements need of the gate: how loaded it is, and a wait for it to drain. */
export type GateLoad = Pick<Gate, 'stats' | 'queuedBelow'>;

/**
 * How long an acknowledgement waits for others to share its frame: at a low
 * rate, one frame for several deliveries instead of one each (the broker
 * keeps sending meanwhile, up to the prefetch).
 */
export const ackDelayMs = 10;

/** Deliveries at which the acknowledgement goes at the end of the turn, without the delay. */
export const ackGroup = 100;

export interface AckBatchOptions {
  /** The gate the messages' submissions go to; without it nothing is held back. */
  readonly gate: GateLoad | undefined;
  /** Submissions waiting in the gate at or above which acknowledgements wait for it to drain. */
  readonly highWaterMark: number;
}

/**
 * Acknowledges a channel's deliveries in groups: one `multiple` ack up to the
 * newest delivery dispatched, `ackDelayMs` after the first of the group, or
 * at the end of the turn once `ackGroup` are waiting (every earlier delivery
 * on the channel was dispatched before it). At a low rate this is one frame
 * for several events instead of one each; the broker keeps sending meanwhile,
 * up to the prefetch. While the gate holds `highWaterMark` or more waiting
 * submissions the ack waits for it to drain: the broker stops at the
 * channel's prefetch of unacknowledged messages and keeps the rest, so a
 * flood holds at most prefetch + high-water mark in the process.
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
  #pending = 0;
  /** The flush scheduled: after the delay, at the end of the turn, or waiting for the gate. */
  #timer: NodeJS.Timeout | undefined;
  #immediate: NodeJS.Immediate | undefined;
  #waitingForGate = false;

  constructor(options: AckBatchOptions) {
    this.#gate = options.gate;
    this.#highWaterMark = options.highWaterMark;
  }

  /** `message` was dispatched (its submissions made): it is acknowledged with its group. */
  add(channel: Channel, message: Message): void {
    // Deliveries pending on a previous channel went with it: that gap is healed by the resync.
    this.#channel = channel;
    this.#newest = message;
    this.#pending++;
    if (this.#closed.signal.aborted || this.#waitingForGate || this.#immediate !== undefined) return;
    if (this.#pending >= ackGroup) {
      clearTimeout(this.#timer);
      this.#timer = undefined;
      this.#immediate = setImmediate(this.#flush);
    } else {
      this.#timer ??= setTimeout(this.#flush, ackDelayMs);
    }
  }

  /** Stops acknowledging; what is pending stays unacknowledged and goes with the channel. */
  close(): void {
    this.#closed.abort();
    clearTimeout(this.#timer);
    clearImmediate(this.#immediate);
    this.#newest = undefined;
    this.#channel = undefined;
  }

  readonly #flush = (): void => {
    this.#timer = undefined;
    this.#immediate = undefined;
    const gate = this.#gate;
    if (gate !== undefined && gate.stats.queued >= this.#highWaterMark && !this.#closed.signal.aborted) {
      this.#waitingForGate = true;
      // queuedBelow never rejects: it resolves on drain or on close.
      void gate.queuedBelow(this.#highWaterMark, this.#closed.signal).then(this.#ack);
      return;
    }
    this.#ack();
  };

  readonly #ack = (): void => {
    this.#waitingForGate = false;
    this.#pending = 0;
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
