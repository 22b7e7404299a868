import { toError } from '../common/errors.js';
import { expectFunction, expectInteger, expectShortString } from '../common/validate.js';
import { abortReason } from '../common/abort.js';
import { createDispatcher, type Dispatcher } from '../transport/dispatcher.js';
import { TransportClosedError } from '../transport/errors.js';
import { silentLogger, type Logger } from '../common/logger.js';
import type { DeadLetter, Projector, ProjectorOptions, TypedEvent } from '../transport/projector.js';
import type { Publisher, PublisherOptions, PublishOptions } from '../transport/publisher.js';
import { createTopicMatcher, type TopicMatcher } from '../transport/topic.js';
import type { TransientConsumer, TransientConsumerOptions } from '../transport/transient-consumer.js';
import type { Transport } from '../transport/transport.js';
import { BusProjector, BusQueue } from './in-process-projector.js';

export interface InProcessBusOptions {
  /** Told once, loudly (a warning at creation), that events do not leave this process. @default a silent logger */
  readonly logger?: Logger;
}

/**
 * The transport without a broker: the same publisher, transient consumer and
 * projector, with the same edge (bodies are JSON bytes, parsed and validated
 * on the way in), topic routing, competing projectors, retries and dead
 * letters. For unit tests, and for a single process with no `AMQP_URL`.
 * Nothing survives the process, and there are no gaps, hence no resyncs
 * after the first start. The same component options as on RabbitMQ
 * (`createAmqpTransport` in `pokegate/amqp`): a projector's `queue` names its
 * competing consumers and its dead letters here too.
 */
export interface InProcessBus extends Transport {
  /** Routes raw bytes as if a publisher had sent them: for tests of the edge. */
  publishRaw(routingKey: string, body: Uint8Array): void;
  /** What the projectors of `queue` dead-lettered so far, oldest first. */
  deadLetters(queue: string): readonly DeadLetter[];
  /** Closes every component (projectors without waiting for their batches) and clears every timer. Idempotent. */
  close(): Promise<void>;
}

export function createInProcessBus(options: InProcessBusOptions = {}): InProcessBus {
  return new Bus(options.logger ?? silentLogger);
}

interface Closable {
  close(): Promise<void>;
}

/** A started transient consumer, as the bus routes to it. */
interface Subscriber {
  offer(routingKey: string, body: Uint8Array): void;
}

class Bus implements InProcessBus {
  readonly #logger: Logger;
  readonly #consumers = new Set<Subscriber>();
  readonly #queues = new Map<string, BusQueue>();
  readonly #components = new Set<Closable>();
  readonly #timers = new Set<NodeJS.Timeout>();
  #closing: Promise<void> | undefined;

  constructor(logger: Logger) {
    this.#logger = logger.child({ component: 'in-process-bus' });
    this.#logger.warn('no broker: events go through the in-process bus, and reach this process only');
  }

  createPublisher<E>(options: PublisherOptions<E>): Publisher<E> {
    return this.#track(new BusPublisher(options, this));
  }

  createTransientConsumer<E>(options: TransientConsumerOptions<E>): TransientConsumer {
    return this.#track(new BusConsumer(options, this.#consumers));
  }

  createProjector<E extends TypedEvent>(options: ProjectorOptions<E>): Projector {
    return this.#track(
      new BusProjector(
        options,
        (name) => this.#queue(name),
        (delayMs, run) => {
          this.#schedule(delayMs, run);
        },
      ),
    );
  }

  publishRaw(routingKey: string, body: Uint8Array): void {
    if (this.#closing !== undefined) throw new TransportClosedError('The in-process bus');
    expectShortString('routingKey', routingKey);
    // A copy, as a broker would hand each queue its own.
    for (const consumer of this.#consumers) consumer.offer(routingKey, body.slice());
    for (const queue of this.#queues.values()) {
      if (queue.matches(routingKey)) {
        queue.enqueue({ body: body.slice(), routingKey, attempt: 1, redelivered: false });
      }
    }
  }

  deadLetters(queue: string): readonly DeadLetter[] {
    return [...(this.#queues.get(queue)?.deadLetters ?? [])];
  }

  close(): Promise<void> {
    this.#closing ??= this.#close();
    return this.#closing;
  }

  [Symbol.asyncDispose](): Promise<void> {
    return this.close();
  }

  #track<C extends Closable>(component: C): C {
    if (this.#closing !== undefined) throw new TransportClosedError('The in-process bus');
    this.#components.add(component);
    return component;
  }

  #queue(name: string): BusQueue {
    let queue = this.#queues.get(name);
    if (queue === undefined) {
      queue = new BusQueue(name);
      this.#queues.set(name, queue);
    }
    return queue;
  }

  #schedule(delayMs: number, run: () => void): void {
    if (this.#closing !== undefined) return;
    const timer = setTimeout(() => {
      this.#timers.delete(timer);
      run();
    }, delayMs);
    this.#timers.add(timer);
  }

  async #close(): Promise<void> {
    for (const timer of this.#timers) clearTimeout(timer);
    this.#timers.clear();
    const aborted = AbortSignal.abort(new TransportClosedError('The in-process bus'));
    await Promise.all(
      [...this.#components].map((component) =>
        component instanceof BusProjector ? component.close({ signal: aborted }) : component.close(),
      ),
    );
  }
}

class BusConsumer<E> implements TransientConsumer, Subscriber {
  readonly #dispatcher: Dispatcher;
  /** The binding keys, then the patterns interest bound, in the order bound. */
  readonly #patterns: string[];
  #matches: TopicMatcher;
  readonly #registered: Set<Subscriber>;
  #starting: Promise<void> | undefined;
  #inbox: { readonly routingKey: string; readonly body: Uint8Array }[] = [];
  #consuming = false;
  #closed = false;

  constructor(options: TransientConsumerOptions<E>, registered: Set<Subscriber>) {
    this.#dispatcher = createDispatcher(options, 'transient-consumer');
    this.#patterns = [...this.#dispatcher.bindingKeys];
    this.#matches = createTopicMatcher(this.#patterns);
    this.#registered = registered;
  }

  get consuming(): boolean {
    return this.#consuming;
  }

  start(): Promise<void> {
    if (this.#closed) return Promise.reject(new TransportClosedError('The transient consumer'));
    this.#starting ??= this.#start();
    return this.#starting;
  }

  async #start(): Promise<void> {
    // Bound as a broker would, one confirmed step at a time: the same contract on both.
    await this.#dispatcher.interest?.attach({
      bind: (pattern) => {
        this.#patterns.push(pattern);
        this.#matches = createTopicMatcher(this.#patterns);
        return Promise.resolve();
      },
      unbind: (pattern) => {
        const index = this.#patterns.lastIndexOf(pattern);
        if (index >= this.#dispatcher.bindingKeys.length) this.#patterns.splice(index, 1);
        this.#matches = createTopicMatcher(this.#patterns);
        return Promise.resolve();
      },
    });
    if (this.#closed) throw new TransportClosedError('The transient consumer');
    this.#consuming = true;
    this.#registered.add(this);
    this.#dispatcher.observer.consuming({ consuming: true });
    this.#dispatcher.logger.info(
      { bindingKeys: this.#dispatcher.bindingKeys },
      'consuming from the in-process bus',
    );
    this.#dispatcher.resync(true);
    this.#dispatcher.interest?.connected();
  }

  /** Delivered on a later microtask, in order, as a broker would. */
  offer(routingKey: string, body: Uint8Array): void {
    if (!this.#matches(routingKey)) return;
    this.#inbox.push({ routingKey, body });
    if (this.#inbox.length === 1) {
      queueMicrotask(() => {
        const inbox = this.#inbox;
        this.#inbox = [];
        for (const message of inbox) {
          if (this.#consuming) this.#dispatcher.dispatch(message.routingKey, message.body);
        }
      });
    }
  }

  close(): Promise<void> {
    if (!this.#closed) {
      this.#closed = true;
      this.#dispatcher.interest?.dispose();
      this.#registered.delete(this);
      if (this.#consuming) {
        this.#consuming = false;
        this.#dispatcher.observer.consuming({ consuming: false });
      }
      this.#dispatcher.logger.info('closed');
    }
    return Promise.resolve();
  }

  [Symbol.asyncDispose](): Promise<void> {
    return this.close();
  }
}

class BusPublisher<E> implements Publisher<E> {
  readonly #bus: Bus;
  readonly #routingKey: (event: E) => string;
  #closed = false;

  constructor(options: PublisherOptions<E>, bus: Bus) {
    this.#routingKey = expectFunction('routingKey', options.routingKey);
    if (options.messageId !== undefined) expectFunction('messageId', options.messageId);
    expectInteger('maxBuffered', options.maxBuffered ?? 1_000, 1);
    this.#bus = bus;
  }

  get connected(): boolean {
    return !this.#closed;
  }

  start(): Promise<void> {
    return this.#closed ? Promise.reject(new TransportClosedError('The publisher')) : Promise.resolve();
  }

  publish(event: E, options: PublishOptions = {}): Promise<void> {
    if (this.#closed) return Promise.reject(new TransportClosedError('The publisher'));
    if (options.signal?.aborted === true) return Promise.reject(abortReason(options.signal));
    try {
      const routingKey = expectShortString('routingKey(event)', this.#routingKey(event));
      this.#bus.publishRaw(routingKey, Buffer.from(JSON.stringify(event)));
      return Promise.resolve();
    } catch (error) {
      return Promise.reject(toError(error));
    }
  }

  close(): Promise<void> {
    this.#closed = true;
    return Promise.resolve();
  }

  [Symbol.asyncDispose](): Promise<void> {
    return this.close();
  }
}
