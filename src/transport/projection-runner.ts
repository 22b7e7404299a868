import {
  expectArray,
  expectFunction,
  expectInteger,
  expectKeys,
  expectNumber,
  expectOptionalFunction,
  expectShortString,
} from '../common/validate.js';
import { abortable } from '../common/abort.js';
import type { EventParser, ParseResult } from './event-parser.js';
import { reasonOf } from '../common/errors.js';
import { silentLogger, type Logger } from '../common/logger.js';
import { defaultRetryDelaysMs, type ProjectorOptions, type TypedEvent } from './projector.js';
import { toSafeTransportObserver, type SafeTransportObserver } from './transport-observer.js';

/** One delivery, as the broker or the bus hands it over. */
export interface Delivery {
  readonly body: Uint8Array;
  /** The routing key the event was first published with. */
  readonly routingKey: string;
  /** 1 on the first try; carried by the message from one retry to the next. */
  readonly attempt: number;
  readonly redelivered: boolean;
}

/** What to do with a delivery once its batch is projected. */
export type Verdict =
  | { readonly action: 'ack'; readonly outcome: 'applied' | 'duplicate' }
  | { readonly action: 'retry'; readonly attempt: number; readonly delayMs: number; readonly reason: string }
  | { readonly action: 'dead_letter'; readonly attempts: number; readonly reason: string };

/**
 * The projector's decisions, the same on the broker and on the bus: parsing,
 * the batch projection with its timeout, splitting a failed batch down to its
 * culprit, retry or dead letter. The transports only batch the deliveries and
 * carry the verdicts out.
 */
export interface ProjectionRunner {
  readonly queue: string;
  readonly bindingKeys: readonly string[];
  readonly prefetch: number;
  readonly maxBatchSize: number;
  /** The distinct retry delays, for declaring one retry queue each. */
  readonly retryDelays: readonly number[];
  readonly logger: Logger;
  readonly observer: SafeTransportObserver;
  /**
   * The delivery's tenant, for a fair batch window: its event parsed once,
   * on arrival, and kept for `run`. A malformed one is the tenant `''`.
   */
  tenantOf(delivery: Delivery): string;
  /** One verdict per delivery, in order. Never rejects. */
  run(deliveries: readonly Delivery[]): Promise<Verdict[]>;
  /** Aborts the projection in flight and fails the rest of its batch (a forced close). */
  abort(reason: Error): void;
}

/** The parsed events of a batch, with where each stands among its deliveries. */
interface Slice<E> {
  readonly events: readonly E[];
  readonly at: readonly number[];
}

/** The runner's options validated (a TypeError names a bad one), with their defaults. */
interface RunnerSettings<E extends TypedEvent> {
  readonly queue: string;
  readonly bindingKeys: readonly string[];
  readonly parse: EventParser<E>;
  readonly project: ProjectorOptions<E>['project'];
  readonly retryDelaysMs: readonly number[];
  readonly projectTimeoutMs: number;
  readonly prefetch: number;
  readonly maxBatchSize: number;
  readonly tenantOf: ((event: E) => string) | undefined;
  readonly observer: SafeTransportObserver;
  readonly logger: Logger;
}

function resolveRunnerOptions<E extends TypedEvent>(
  options: ProjectorOptions<E>,
  component: string,
): RunnerSettings<E> {
  const {
    queue,
    bindingKeys = ['#'],
    parse,
    project,
    retryDelaysMs = defaultRetryDelaysMs,
    projectTimeoutMs = 30_000,
    prefetch = 2_000,
    maxBatchSize = 250,
    tenantOf,
  } = options;
  expectShortString('queue', queue);
  const delays = expectArray('retryDelaysMs', retryDelaysMs);
  delays.forEach((delay, i) => expectNumber(`retryDelaysMs[${i}]`, delay, 1, 2 ** 31 - 1));
  return {
    queue,
    bindingKeys: expectKeys('bindingKeys', bindingKeys),
    parse: expectFunction('parse', parse),
    project: expectFunction('project', project),
    retryDelaysMs: [...delays],
    projectTimeoutMs: expectNumber('projectTimeoutMs', projectTimeoutMs, 1, 2 ** 31 - 1),
    prefetch: expectInteger('prefetch', prefetch, 1),
    maxBatchSize: expectInteger('maxBatchSize', maxBatchSize, 1),
    tenantOf: expectOptionalFunction('tenantOf', tenantOf),
    observer: toSafeTransportObserver(options.observer),
    logger: (options.logger ?? silentLogger).child({ component, queue }),
  };
}

export function createProjectionRunner<E extends TypedEvent>(
  options: ProjectorOptions<E>,
  component: string,
): ProjectionRunner {
  const settings = resolveRunnerOptions(options, component);
  const { queue, bindingKeys: keys, parse: parseBody, project, prefetch, maxBatchSize, tenantOf } = settings;
  const { retryDelaysMs: delays, projectTimeoutMs: timeoutMs, observer, logger } = settings;
  /** Parsed on arrival by `tenantOf`, taken by `run`. */
  const parsedOnArrival = new WeakMap<Delivery, ParseResult<E>>();
  let tenantOfThrew = false;
  const maxAttempts = delays.length + 1;
  const controllers = new Set<AbortController>();
  /** Set by a forced close: nothing more is projected. */
  let aborted: Error | undefined;

  function failed(attempt: number, reason: string): Verdict {
    if (attempt < maxAttempts) {
      return { action: 'retry', attempt: attempt + 1, delayMs: delays[attempt - 1] ?? 0, reason };
    }
    return { action: 'dead_letter', attempts: attempt, reason };
  }

  function verdictFor(result: unknown, attempt: number): Verdict {
    if (result === 'applied' || result === 'duplicate') return { action: 'ack', outcome: result };
    if (result === 'early') return failed(attempt, 'version early: its predecessor is not projected yet');
    if (result instanceof Error) return failed(attempt, `the projection failed: ${reasonOf(result)}`);
    // Typed, but a projection written in JavaScript may return anything.
    return failed(attempt, `the projection returned ${JSON.stringify(result)}`);
  }

  /** The projection's results for `events`, or a throw that fails them all. */
  async function projectOnce(events: readonly E[]): Promise<readonly unknown[]> {
    if (aborted !== undefined) throw aborted;
    const controller = new AbortController();
    controllers.add(controller);
    const timer = setTimeout(() => {
      controller.abort(new Error(`the projection took longer than ${timeoutMs} ms`));
    }, timeoutMs);
    try {
      const results: unknown = await abortable(
        Promise.resolve(project(events, { signal: controller.signal })),
        controller.signal,
      );
      if (!Array.isArray(results) || results.length !== events.length) {
        throw new Error(
          `the projection returned ${Array.isArray(results) ? `${results.length} results` : typeof results} for ${events.length} events`,
        );
      }
      return results as unknown[];
    } finally {
      clearTimeout(timer);
      controllers.delete(controller);
    }
  }

  /**
   * Projects the slice; when the whole of it fails, projects each half in
   * turn (earlier deliveries first, so versions keep their order), down to
   * the single event that fails.
   */
  async function projectSplitting(slice: Slice<E>, deliveries: readonly Delivery[], verdicts: Verdict[]) {
    const { events, at } = slice;
    if (events.length === 0) return;
    try {
      const results = await projectOnce(events);
      results.forEach((result, j) => {
        const i = at[j] as number;
        verdicts[i] = verdictFor(result, (deliveries[i] as Delivery).attempt);
      });
    } catch (error) {
      if (events.length === 1 || aborted !== undefined) {
        for (const i of at) {
          verdicts[i] = failed(
            (deliveries[i] as Delivery).attempt,
            `the projection failed: ${reasonOf(error)}`,
          );
        }
        return;
      }
      logger.debug({ events: events.length, reason: reasonOf(error) }, 'a batch failed; splitting it');
      const half = Math.ceil(events.length / 2);
      await projectSplitting({ events: events.slice(0, half), at: at.slice(0, half) }, deliveries, verdicts);
      await projectSplitting({ events: events.slice(half), at: at.slice(half) }, deliveries, verdicts);
    }
  }

  return {
    queue,
    bindingKeys: keys,
    prefetch,
    maxBatchSize,
    retryDelays: [...new Set(delays)],
    logger,
    observer,
    tenantOf(delivery) {
      if (tenantOf === undefined) return '';
      const parsed = parseBody(delivery.body);
      parsedOnArrival.set(delivery, parsed);
      if (!parsed.ok) return '';
      try {
        return tenantOf(parsed.event);
      } catch (error) {
        // A bug in the mapper, not in the event: said once, and the event still projected.
        if (!tenantOfThrew)
          logger.warn({ reason: reasonOf(error) }, 'tenantOf threw; such events share the tenant ""');
        tenantOfThrew = true;
        return '';
      }
    },
    async run(deliveries) {
      const verdicts: Verdict[] = [];
      const events: E[] = [];
      const at: number[] = [];
      deliveries.forEach((delivery, i) => {
        const parsed = parsedOnArrival.get(delivery) ?? parseBody(delivery.body);
        if (parsed.ok) {
          events.push(parsed.event);
          at.push(i);
        } else {
          verdicts[i] = {
            action: 'dead_letter',
            attempts: delivery.attempt,
            reason: `malformed (${parsed.reason}): ${parsed.detail}`,
          };
        }
      });
      await projectSplitting({ events, at }, deliveries, verdicts);
      return verdicts;
    },
    abort(reason) {
      aborted = reason;
      for (const controller of controllers) controller.abort(reason);
    },
  };
}
