import { Counter, Gauge, type Registry as PromRegistry } from 'prom-client';
import type { EventOutcome, ProjectedOutcome, TransportObserver } from '../transport/transport-observer.js';

export interface PrometheusTransportObserverOptions {
  /** Where the metrics are registered. */
  readonly register: PromRegistry;
}

const eventOutcomes: readonly EventOutcome[] = ['accepted', 'malformed', 'unroutable'];
const projectedOutcomes: readonly ProjectedOutcome[] = ['applied', 'duplicate', 'retried', 'dead_lettered'];

/**
 * A TransportObserver that keeps the transport's metrics under the names
 * dashboards rely on: `pokegate_events_total{outcome}`,
 * `pokegate_broker_connected`, `pokegate_interest_bindings`,
 * `pokegate_interest_refused_total{registry}` and `pokegate_projections_total{outcome}`.
 * Every outcome starts at 0, so a rate is defined before the first one.
 */
export function createPrometheusTransportObserver(
  options: PrometheusTransportObserverOptions,
): TransportObserver {
  const registers = [options.register];
  const events = new Counter({
    name: 'pokegate_events_total',
    help: 'Messages from the broker, by outcome: accepted, malformed, unroutable',
    labelNames: ['outcome'],
    registers,
  });
  const connected = new Gauge({
    name: 'pokegate_broker_connected',
    help: '1 while the transient consumer is consuming',
    registers,
  });
  const bindings = new Gauge({
    name: 'pokegate_interest_bindings',
    help: "The transient queue's bindings now (its binding keys and those interest routing made)",
    registers,
  });
  const refused = new Counter({
    name: 'pokegate_interest_refused_total',
    help: 'Keys whose binding patterns could not be made; the wide patterns cover them',
    labelNames: ['registry'],
    registers,
  });
  const projections = new Counter({
    name: 'pokegate_projections_total',
    help: 'Deliveries the projector settled, by outcome: applied, duplicate, retried, dead_lettered',
    labelNames: ['outcome'],
    registers,
  });
  for (const outcome of eventOutcomes) events.inc({ outcome }, 0);
  for (const outcome of projectedOutcomes) projections.inc({ outcome }, 0);
  connected.set(0);
  bindings.set(0);

  return {
    event: (e) => events.inc({ outcome: e.outcome }),
    consuming: (e) => connected.set(e.consuming ? 1 : 0),
    bindings: (e) => bindings.set(e.bindings),
    interestRefused: (e) => refused.inc({ registry: e.registry }),
    projected: (e) => projections.inc({ outcome: e.outcome }),
  };
}
