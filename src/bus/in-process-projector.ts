import { abortable } from '../common/abort.js';
import { createBatchWindow, type BatchWindow } from '../transport/batch-window.js';
import { TransportClosedError } from '../transport/errors.js';
import { createLogThrottle, type LogThrottle } from '../common/log-throttle.js';
import {
  createProjectionRunner,
  type Delivery,
  type ProjectionRunner,
  type Verdict,
} from '../transport/projection-runner.js';
import type {
  DeadLetter,
  Projector,
  ProjectorCloseOptions,
  ProjectorOptions,
  TypedEvent,
} from '../transport/projector.js';
import { createTopicMatcher, type TopicMatcher } from '../transport/topic.js';

/** Runs `run` after `delayMs`, unless the bus closes first. */
export type Schedule = (delayMs: number, run: () => void) => void;

/** What a queue needs of a projector attached to it. */
interface QueueMember {
  hasRoom(): boolean;
  take(delivery: Delivery): void;
}

/**
 * A durable queue of the bus: it outlives its projectors, keeps what arrives
 * while none is attached, and hands deliveries to its projectors in turn
 * (competing consumers).
 */
export class BusQueue {
  readonly name: string;
  readonly deadLetters: DeadLetter[] = [];
  #bindingKeys = new Set<string>();
  #matches: TopicMatcher = () => false;
  readonly #messages: Delivery[] = [];
  readonly #projectors: QueueMember[] = [];
  #turn = 0;

  constructor(name: string) {
    this.name = name;
  }

  /** Adds bindings, as `bindQueue` does on the broker. */
  bind(keys: readonly string[]): void {
    for (const key of keys) this.#bindingKeys.add(key);
    this.#matches = createTopicMatcher([...this.#bindingKeys]);
  }

  matches(routingKey: string): boolean {
    return this.#matches(routingKey);
  }

  enqueue(delivery: Delivery, front = false): void {
    if (front) this.#messages.unshift(delivery);
    else this.#messages.push(delivery);
    this.pump();
  }

  attach(projector: QueueMember): void {
    this.#projectors.push(projector);
    this.pump();
  }

  detach(projector: QueueMember): void {
    const index = this.#projectors.indexOf(projector);
    if (index >= 0) this.#projectors.splice(index, 1);
  }

  /** Hands out what waits, round robin, to the projectors with room for it. */
  pump(): void {
    while (this.#messages.length > 0) {
      const projector = this.#nextWithRoom();
      if (projector === undefined) return;
      projector.take(this.#messages.shift() as Delivery);
    }
  }

  #nextWithRoom(): QueueMember | undefined {
    const count = this.#projectors.length;
    for (let i = 0; i < count; i++) {
      const projector = this.#projectors[(this.#turn + i) % count];
      if (projector?.hasRoom() === true) {
        this.#turn = (this.#turn + i + 1) % count;
        return projector;
      }
    }
    return undefined;
  }
}

/** The projector on the in-process bus: the broker's semantics, retry delays and dead letters included. */
export class BusProjector<E extends TypedEvent> implements Projector {
  readonly #runner: ProjectionRunner;
  readonly #queue: BusQueue;
  readonly #schedule: Schedule;
  readonly #window: BatchWindow<Delivery>;
  /** A poison flood is one line, then one summary per interval. */
  readonly #deadLettered: LogThrottle;
  /** Deliveries handed to this projector and not settled; a forced close hands them back. */
  readonly #inFlight = new Set<Delivery>();
  #attached = false;
  #closing: Promise<void> | undefined;

  constructor(options: ProjectorOptions<E>, queueFor: (name: string) => BusQueue, schedule: Schedule) {
    this.#runner = createProjectionRunner(options, 'projector');
    this.#queue = queueFor(this.#runner.queue);
    this.#schedule = schedule;
    this.#window = createBatchWindow(this.#runner.maxBatchSize, (batch) => this.#project(batch));
    this.#deadLettered = createLogThrottle({ logger: this.#runner.logger });
  }

  get consuming(): boolean {
    return this.#attached;
  }

  start(): Promise<void> {
    if (this.#closing !== undefined) return Promise.reject(new TransportClosedError('The projector'));
    if (!this.#attached) {
      this.#attached = true;
      this.#queue.bind(this.#runner.bindingKeys);
      this.#queue.attach(this);
      this.#runner.logger.info('consuming from the in-process bus');
    }
    return Promise.resolve();
  }

  hasRoom(): boolean {
    return this.#attached && this.#inFlight.size < this.#runner.prefetch;
  }

  take(delivery: Delivery): void {
    this.#inFlight.add(delivery);
    this.#window.add(delivery, this.#runner.tenantOf(delivery));
  }

  close(options: ProjectorCloseOptions = {}): Promise<void> {
    this.#closing ??= this.#close(options.signal);
    return this.#closing;
  }

  [Symbol.asyncDispose](): Promise<void> {
    return this.close();
  }

  async #project(batch: readonly Delivery[]): Promise<void> {
    const verdicts = await this.#runner.run(batch);
    batch.forEach((delivery, i) => {
      // Handed back by a forced close: another projector has it now.
      if (this.#inFlight.delete(delivery)) this.#settle(delivery, verdicts[i] as Verdict);
    });
    this.#queue.pump();
  }

  #settle(delivery: Delivery, verdict: Verdict): void {
    const queue = this.#queue;
    if (verdict.action === 'ack') {
      this.#runner.observer.projected({ outcome: verdict.outcome });
    } else if (verdict.action === 'retry') {
      const next: Delivery = { ...delivery, attempt: verdict.attempt, redelivered: false };
      this.#schedule(verdict.delayMs, () => {
        queue.enqueue(next);
      });
      this.#runner.observer.projected({ outcome: 'retried' });
    } else {
      queue.deadLetters.push({
        routingKey: delivery.routingKey,
        body: delivery.body,
        attempts: verdict.attempts,
        reason: verdict.reason,
      });
      this.#deadLettered.warn(
        'dead-lettered',
        { routingKey: delivery.routingKey, attempts: verdict.attempts, reason: verdict.reason },
        'dead-lettered',
      );
      this.#runner.observer.projected({ outcome: 'dead_lettered' });
    }
  }

  async #close(signal: AbortSignal | undefined): Promise<void> {
    this.#attached = false;
    this.#queue.detach(this);
    let drained = true;
    try {
      await abortable(this.#window.idle(), signal);
    } catch {
      drained = false;
      // As the broker does with unacknowledged deliveries of a closed channel.
      this.#window.clear();
      const abandoned = [...this.#inFlight].reverse();
      this.#inFlight.clear();
      for (const delivery of abandoned) this.#queue.enqueue({ ...delivery, redelivered: true }, true);
      this.#runner.abort(new TransportClosedError('The projector'));
    }
    this.#deadLettered.dispose();
    this.#runner.logger.info({ drained }, 'projector closed');
  }
}
