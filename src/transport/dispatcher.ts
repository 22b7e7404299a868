import type { EventParser } from './event-parser.js';
import { InterestBindings } from './interest.js';
import { createLogThrottle } from '../common/log-throttle.js';
import { reasonOf } from '../common/errors.js';
import { silentLogger, type Logger } from '../common/logger.js';
import type { Mapper, ResyncTarget, TransientConsumerOptions } from './transient-consumer.js';
import {
  toSafeTransportObserver,
  type EventOutcome,
  type SafeTransportObserver,
} from './transport-observer.js';
import { expectArray, expectFunction, expectKeys, expectObject } from '../common/validate.js';

/**
 * The transient consumer's work, the same on the broker and on the bus:
 * message → parser → mapper → `submit`, and the resync after a gap.
 */
export interface Dispatcher {
  readonly bindingKeys: readonly string[];
  readonly logger: Logger;
  readonly observer: SafeTransportObserver;
  /** The bindings that follow the registries' receivers, with the `interest` option. */
  readonly interest: InterestBindings | undefined;
  /** Never throws: whatever the message, it is counted and may be acknowledged. */
  dispatch(routingKey: string, body: Uint8Array): EventOutcome;
  /**
   * Resyncs the registries, all of them or only those with receivers (the
   * gap before the first start only matters to receivers already open).
   * Returns the receivers poked, counted when the resync starts.
   */
  resync(onlyWithReceivers: boolean): number;
}

export function createDispatcher<E>(options: TransientConsumerOptions<E>, component: string): Dispatcher {
  const parse: EventParser<E> = expectFunction('parse', options.parse);
  const map: Mapper<E> = expectFunction('map', options.map);
  const registries: readonly ResyncTarget[] = expectArray('registries', options.registries ?? []);
  registries.forEach((target, i) => {
    expectObject(`registries[${i}]`, target);
    expectObject(`registries[${i}].registry`, target.registry);
    expectFunction(`registries[${i}].poke`, target.poke);
  });
  const bindingKeys = expectKeys('bindingKeys', options.bindingKeys ?? ['#']);
  const observer = toSafeTransportObserver(options.observer);
  const logger = (options.logger ?? silentLogger).child({ component });
  // A poison flood is one line, then one summary per interval: the counter has every one.
  const malformed = createLogThrottle({ logger });
  const interest =
    options.interest === undefined
      ? undefined
      : new InterestBindings(options.interest, { targets: registries, bindingKeys, observer, logger });

  return {
    bindingKeys,
    logger,
    observer,
    interest,
    dispatch(routingKey, body) {
      const parsed = parse(body);
      if (!parsed.ok) {
        observer.event({ outcome: 'malformed', routingKey });
        malformed.warn(
          parsed.reason,
          { routingKey, reason: parsed.reason, detail: parsed.detail, bytes: body.byteLength },
          'malformed message acknowledged and dropped',
        );
        return 'malformed';
      }
      let submitted = 0;
      try {
        const routes = map(parsed.event, { routingKey });
        for (const target of routes) {
          // submit never rejects: the gate owns the outcome from here on.
          if ('addressed' in target) void target.registry.submitAddressed(target.addressed, target.options);
          else void target.registry.submit(target.keys, target.producer, target.options);
          submitted++;
        }
      } catch (error) {
        observer.event({ outcome: 'unroutable', routingKey });
        logger.error(
          { routingKey, reason: reasonOf(error), submitted },
          'the mapper threw; message acknowledged',
        );
        return 'unroutable';
      }
      const outcome = submitted === 0 ? 'unroutable' : 'accepted';
      observer.event({ outcome, routingKey });
      return outcome;
    },
    resync(onlyWithReceivers) {
      let receivers = 0;
      let rounds = 0;
      for (const { registry, poke } of registries) {
        if (onlyWithReceivers && registry.size === 0) continue;
        receivers += registry.size;
        rounds++;
        registry.resync(poke).catch((error: unknown) => {
          logger.error({ registry: registry.name, reason: reasonOf(error) }, 'resync failed');
        });
      }
      if (rounds > 0)
        logger.info({ registries: rounds, receivers }, 'resync after a gap in the event stream');
      return receivers;
    },
  };
}
