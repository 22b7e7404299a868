import { Counter, Gauge, Histogram, type Registry as PromRegistry } from 'prom-client';
import type { DropReason, Observer, SkipReason } from '../core/observer.js';

export interface PrometheusObserverOptions {
  /** Where the metrics are registered. */
  readonly register: PromRegistry;
  /**
   * Buckets of `pokegate_gate_seconds` and `pokegate_visibility_lag_seconds`.
   * @default [0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10]
   */
  readonly buckets?: readonly number[];
  /**
   * Registries whose labelled counters start at 0 for every reason, so that a
   * dashboard's `rate()` is defined (0) before the first drop or skip.
   * @default [] — each series appears with its first increment
   */
  readonly registries?: readonly string[];
}

const dropReasons: readonly DropReason[] = ['buffer_full', 'duplicate'];
const skipReasons: readonly SkipReason[] = ['timeout', 'overloaded', 'error', 'no_receivers', 'disposed'];

const defaultBuckets = [0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10];

/**
 * An Observer that keeps the metrics of the core (registry, gate) under the
 * names dashboards rely on, each with the `registry` label.
 */
export function createPrometheusObserver(options: PrometheusObserverOptions): Observer {
  const registers = [options.register];
  const buckets = [...(options.buckets ?? defaultBuckets)];
  const receivers = new Gauge({
    name: 'pokegate_receivers',
    help: 'Receivers open now',
    labelNames: ['registry'],
    registers,
  });
  const pokes = new Counter({
    name: 'pokegate_pokes_total',
    help: 'Pokes handed to receivers (one per receiver)',
    labelNames: ['registry'],
    registers,
  });
  const dropped = new Counter({
    name: 'pokegate_dropped_total',
    help: 'Pokes a receiver did not get',
    labelNames: ['registry', 'reason'],
    registers,
  });
  const skipped = new Counter({
    name: 'pokegate_skipped_total',
    help: 'Submissions that produced no poke',
    labelNames: ['registry', 'reason'],
    registers,
  });
  const checks = new Counter({
    name: 'pokegate_gate_checks_total',
    help: 'Producer runs, i.e. read-view visibility checks',
    labelNames: ['registry', 'outcome'],
    registers,
  });
  const fallbackChecks = new Counter({
    name: 'pokegate_gate_fallback_checks_total',
    help: 'Checks of a versioned submission that a poll, not a progress report, started',
    labelNames: ['registry'],
    registers,
  });
  const retries = new Counter({
    name: 'pokegate_gate_retries_total',
    help: 'Checks that found nothing and were tried again after a wait',
    labelNames: ['registry'],
    registers,
  });
  const coalesced = new Counter({
    name: 'pokegate_coalesced_total',
    help: 'Submissions merged into a newer one for the same thing',
    labelNames: ['registry'],
    registers,
  });
  const gateSeconds = new Histogram({
    name: 'pokegate_gate_seconds',
    help: 'Submit to visible',
    labelNames: ['registry'],
    buckets,
    registers,
  });
  const lagSeconds = new Histogram({
    name: 'pokegate_visibility_lag_seconds',
    help: 'Event occurredAt to poke sent',
    labelNames: ['registry'],
    buckets,
    registers,
  });
  const queueDepth = new Gauge({
    name: 'pokegate_gate_queue_depth',
    help: 'Submissions waiting in the pool',
    labelNames: ['registry'],
    registers,
  });
  const resyncs = new Counter({
    name: 'pokegate_resyncs_total',
    help: 'Resync rounds after a gap',
    labelNames: ['registry'],
    registers,
  });

  for (const registry of options.registries ?? []) {
    for (const reason of dropReasons) dropped.inc({ registry, reason }, 0);
    for (const reason of skipReasons) skipped.inc({ registry, reason }, 0);
    for (const counter of [pokes, retries, coalesced, resyncs]) counter.inc({ registry }, 0);
  }

  return {
    delivered: (e) => pokes.inc({ registry: e.registry }, e.receivers),
    dropped: (e) => dropped.inc({ registry: e.registry, reason: e.reason }, e.count),
    skipped: (e) => skipped.inc({ registry: e.registry, reason: e.reason }),
    gateCheck: (e) => checks.inc({ registry: e.registry, outcome: e.outcome }),
    fallbackCheck: (e) => fallbackChecks.inc({ registry: e.registry }),
    retry: (e) => retries.inc({ registry: e.registry }),
    coalesced: (e) => coalesced.inc({ registry: e.registry }),
    visible: (e) => {
      gateSeconds.observe({ registry: e.registry }, e.gateMs / 1000);
      // A clock skewed between the producer's host and ours must not record negative lag.
      if (e.lagMs !== undefined) lagSeconds.observe({ registry: e.registry }, Math.max(0, e.lagMs) / 1000);
    },
    resync: (e) => resyncs.inc({ registry: e.registry }),
    queueDepth: (e) => queueDepth.set({ registry: e.registry }, e.depth),
    receivers: (e) => receivers.set({ registry: e.registry }, e.open),
  };
}
