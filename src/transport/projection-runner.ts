import { expectInteger, expectNumber } from '../core/validate.js';
import { abortable } from './abort.js';
import type { EventParser } from './event-parser.js';
import { reasonOf, silentLogger, type Logger } from './logger.js';
import type { ProjectionContext, ProjectionHandlers, ProjectorOptions, TypedEvent } from './projector.js';
import { toSafeTransportObserver, type SafeTransportObserver } from './transport-observer.js';
import { expectArray, expectFunction, expectKeys, expectShortString } from './validate.js';

/** One delivery, as the broker or the bus hands it over. */
export interface Delivery {
  readonly body: Uint8Array;
  /** The routing key the event was first published with. */
  readonly routingKey: string;
  /** 1 on the first try; carried by the message from one retry to the next. */
  readonly attempt: number;
  readonly redelivered: boolean;
}

/** What to do with a delivery once its handler is done. */
export type Verdict =
  | { readonly action: 'ack'; readonly outcome: 'applied' | 'duplicate' }
  | { readonly action: 'retry'; readonly attempt: number; readonly delayMs: number; readonly reason: string }
  | { readonly action: 'dead_letter'; readonly attempts: number; readonly reason: string };

/**
 * The projector's decisions, the same on the broker and on the bus: parsing,
 * ordering by key, the handler with its timeout, retry or dead letter. The
 * transports only carry the verdicts out.
 */
export interface ProjectionRunner {
  readonly queue: string;
  readonly bindingKeys: readonly string[];
  readonly prefetch: number;
  /** The distinct retry delays, for declaring one retry queue each. */
  readonly retryDelays: readonly number[];
  readonly logger: Logger;
  readonly observer: SafeTransportObserver;
  /** Never rejects. */
  run(delivery: Delivery): Promise<Verdict>;
  /** Aborts the signal of every handler in flight (a forced close). */
  abort(reason: Error): void;
}

const settled = Promise.resolve();

type AnyHandler = (
  event: TypedEvent,
  context: ProjectionContext,
) => ReturnType<ProjectionHandlers<TypedEvent>[string]>;

export function createProjectionRunner<E extends TypedEvent>(
  options: ProjectorOptions<E>,
  component: string,
): ProjectionRunner {
  const {
    queue,
    bindingKeys = ['#'],
    parse,
    handlers,
    orderKey = () => '',
    retryDelaysMs = [50, 250, 1_000, 5_000],
    handlerTimeoutMs = 30_000,
    prefetch = 16,
  } = options;
  expectShortString('queue', queue);
  const keys = expectKeys('bindingKeys', bindingKeys);
  const parseBody: EventParser<E> = expectFunction('parse', parse);
  if (typeof handlers !== 'object')
    throw new TypeError(`Expected \`handlers\` to be an object, got ${typeof handlers}`);
  expectFunction('orderKey', orderKey);
  const delays = [...expectArray('retryDelaysMs', retryDelaysMs)];
  delays.forEach((delay, i) => expectNumber(`retryDelaysMs[${i}]`, delay, 1, 2 ** 31 - 1));
  const timeoutMs = expectNumber('handlerTimeoutMs', handlerTimeoutMs, 1, 2 ** 31 - 1);
  expectInteger('prefetch', prefetch, 1);
  const observer = toSafeTransportObserver(options.observer);
  const logger = (options.logger ?? silentLogger).child({ component, queue });
  const maxAttempts = delays.length + 1;
  /** The tail of each key's chain; deleted when it settles and nothing was queued behind it. */
  const chains = new Map<string, Promise<unknown>>();
  const controllers = new Set<AbortController>();

  function failed(attempt: number, reason: string): Verdict {
    if (attempt < maxAttempts) {
      return { action: 'retry', attempt: attempt + 1, delayMs: delays[attempt - 1] ?? 0, reason };
    }
    return { action: 'dead_letter', attempts: attempt, reason };
  }

  async function handle(event: E, delivery: Delivery): Promise<Verdict> {
    // The mapped type guarantees the handler takes this event's type; the lookup by name cannot say so.
    const handler = (handlers as unknown as Record<string, AnyHandler | undefined>)[event.type];
    if (typeof handler !== 'function') {
      return {
        action: 'dead_letter',
        attempts: delivery.attempt,
        reason: `no handler for type "${event.type}"`,
      };
    }
    const controller = new AbortController();
    controllers.add(controller);
    const timer = setTimeout(() => {
      controller.abort(new Error(`the handler took longer than ${timeoutMs} ms`));
    }, timeoutMs);
    const context: ProjectionContext = {
      signal: controller.signal,
      attempt: delivery.attempt,
      redelivered: delivery.redelivered,
      routingKey: delivery.routingKey,
    };
    try {
      // Typed, but a handler written in JavaScript may return anything.
      const outcome: unknown = await abortable(Promise.resolve(handler(event, context)), controller.signal);
      if (outcome === 'applied' || outcome === 'duplicate') return { action: 'ack', outcome };
      if (outcome === 'early') {
        return failed(delivery.attempt, `version early: its predecessor is not projected yet`);
      }
      return failed(delivery.attempt, `the handler returned ${JSON.stringify(outcome)}`);
    } catch (error) {
      return failed(delivery.attempt, `the handler failed: ${reasonOf(error)}`);
    } finally {
      clearTimeout(timer);
      controllers.delete(controller);
    }
  }

  return {
    queue,
    bindingKeys: keys,
    prefetch,
    retryDelays: [...new Set(delays)],
    logger,
    observer,
    run(delivery) {
      const parsed = parseBody(delivery.body);
      if (!parsed.ok) {
        return Promise.resolve({
          action: 'dead_letter',
          attempts: delivery.attempt,
          reason: `malformed (${parsed.reason}): ${parsed.detail}`,
        });
      }
      let key: string;
      try {
        key = orderKey(parsed.event);
      } catch (error) {
        return Promise.resolve(failed(delivery.attempt, `orderKey threw: ${reasonOf(error)}`));
      }
      const previous = chains.get(key) ?? settled;
      const verdict = previous.then(() => handle(parsed.event, delivery));
      chains.set(key, verdict);
      void verdict.then(() => {
        if (chains.get(key) === verdict) chains.delete(key);
      });
      return verdict;
    },
    abort(reason) {
      for (const controller of controllers) controller.abort(reason);
    },
  };
}
