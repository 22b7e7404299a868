import type { Producer } from '../core/gate.js';
import type { Addressed, Registry, SubmitOptions } from '../core/registry.js';
import type { EventParser } from './event-parser.js';
import type { InterestOptions } from './interest-options.js';
import type { Logger } from '../common/logger.js';
import type { TransportObserver } from './transport-observer.js';

/** One submission an event asks for: the arguments of `registry.submit`, or of `registry.submitAddressed`. */
export type Route<T = unknown> = KeyedRoute<T> | AddressedRoute<T>;

export interface KeyedRoute<T = unknown> {
  readonly registry: Registry<T>;
  readonly keys: string | readonly string[];
  readonly producer: Producer<T>;
  readonly options?: SubmitOptions | undefined;
}

export interface AddressedRoute<T = unknown> {
  readonly registry: Registry<T>;
  /** Finds the keys with the value, once visible (see `Registry.submitAddressed`). */
  readonly addressed: Producer<Addressed<T>>;
  readonly options?: Omit<SubmitOptions, 'version'> | undefined;
}

/** Builds a `Route`, checking that the producer makes the registry's payload. */
export function route<T>(
  registry: Registry<T>,
  keys: string | readonly string[],
  producer: Producer<T>,
  options?: SubmitOptions,
): Route<T> {
  return { registry, keys, producer, options };
}

/**
 * Builds a route whose keys only the read view knows: the producer returns
 * them with the poke, e.g. every member of a company a company-wide event is about.
 */
export function routeAddressed<T>(
  registry: Registry<T>,
  producer: Producer<Addressed<T>>,
  options?: Omit<SubmitOptions, 'version'>,
): Route<T> {
  return { registry, addressed: producer, options };
}

export interface MapContext {
  /** The routing key the message was published with. */
  readonly routingKey: string;
}

/**
 * The service's routing: an event → the submissions it asks for. An empty
 * list means no registry claims the event (`unroutable`). A mapper that throws
 * is isolated: the message is counted as `unroutable`, logged, and
 * acknowledged like any other. It runs once per event and replica, on the
 * delivery path: keep it cheap and let the producers do the read-view work.
 */
export type Mapper<E> = (event: E, context: MapContext) => readonly Route[];

/** A registry the consumer serves, and the poke it sends every receiver after a gap. */
export interface ResyncTarget<T = unknown> {
  readonly registry: Registry<T>;
  /** The resync poke for a receiver, by its first key. */
  readonly poke: (key: string) => T;
}

export function resyncTarget<T>(registry: Registry<T>, poke: (key: string) => T): ResyncTarget<T> {
  return { registry, poke };
}

/** What every transient consumer is built from, on the broker or on the in-process bus. */
export interface TransientConsumerOptions<E> {
  /** Decodes and validates each message at the edge. */
  readonly parse: EventParser<E>;
  readonly map: Mapper<E>;
  /**
   * Every registry the mapper submits to: each gets a `resync` after every
   * gap in the event stream.
   * @default []
   */
  readonly registries?: readonly ResyncTarget[];
  /**
   * Topic patterns the consumer listens to (`*` one word, `#` any number),
   * always. With `interest`, the patterns of events that name no key (a
   * service's version-1 routing keys, say).
   * @default ['#']
   */
  readonly bindingKeys?: readonly string[];
  /**
   * Interest routing: the queue is bound, besides `bindingKeys`, to a key's
   * patterns only while the key has receivers in `registries` (and
   * `lingerMs` after), so the broker sends this replica only what its
   * receivers need. Receivers whose key was not bound yet get one resync
   * poke once the broker confirmed its binding.
   * @default undefined — `bindingKeys` only
   */
  readonly interest?: InterestOptions | undefined;
  readonly observer?: TransportObserver;
  /** @default a silent logger */
  readonly logger?: Logger;
}

export interface StartOptions {
  /** Aborting it gives up the start and closes the component. */
  readonly signal?: AbortSignal;
}

/**
 * The per-replica consumer of the event stream: it pokes the registries'
 * receivers through the gate, and resyncs them after every gap.
 */
export interface TransientConsumer {
  /** Whether it is consuming now; false before `start`, during a gap, and after `close`. */
  readonly consuming: boolean;
  /**
   * Connects and starts consuming; resolves once it consumes. Idempotent: a
   * second call returns the first call's promise.
   */
  start(options?: StartOptions): Promise<void>;
  /**
   * Stops consuming and releases the connection. Submissions already made go
   * on through the gate. Idempotent.
   */
  close(): Promise<void>;
  [Symbol.asyncDispose](): Promise<void>;
}
