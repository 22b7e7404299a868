// The samples of the side-by-side benchmark: the metrics of one step on one
// server, from what the load generator saw and what the server spent.
import { percentile } from '../table.js';
import type { ArrivalPattern, BurstResult, DeliveryResult, ResyncResult } from './drivers.js';
import type { ServerStats } from './workload.js';

/** The metrics of one step on one server; absent where they do not apply. */
export type Sample = Partial<Record<MetricName, number>>;

export type MetricName =
  | 'deliveriesPerSecond'
  | 'p50Ms'
  | 'p99Ms'
  | 'cpuUsPerPoke'
  | 'cpuUsPerEvent'
  | 'lost'
  | 'duplicates'
  | 'checksPerEvent'
  | 'checks'
  | 'pokesPerSubscriber'
  | 'late'
  | 'sendSpreadMs'
  | 'heapBytesPerSubscription'
  | 'rssBytesPerSubscription'
  | 'errors'
  | 'firstP50Ms'
  | 'firstAloneP50Ms'
  | 'hopMs'
  | 'firstMinusHopMs'
  | 'postgresUsPerEvent'
  | 'rabbitmqUsPerEvent'
  | 'kneePerSecond'
  | 'skipped'
  | 'brokerP99Ms'
  | 'floodSkipped'
  | 'floodMs'
  | 'rssGrowthBytes'
  | 'drainMs'
  | 'afterConfirmMs'
  | 'arrivalRate'
  | 'arrivalGapP50Ms'
  | 'arrivalGapP99Ms'
  | 'arrivalPerTurn'
  | 'confirmLagMs'
  | 'rabbitmqFloorUsPerEvent'
  | 'rabbitmqVsFloor';

export function fromDeliveries(
  result: DeliveryResult,
  before: ServerStats,
  after: ServerStats,
  countChecks: boolean,
): Sample {
  const durationMs = result.lastArrivalAt - result.firstSentAt;
  return {
    deliveriesPerSecond: result.deliveries > 0 ? (result.deliveries / durationMs) * 1_000 : 0,
    p50Ms: percentile(result.toLastDeliveryMs, 50),
    p99Ms: percentile(result.toLastDeliveryMs, 99),
    firstP50Ms: percentile(result.toFirstDeliveryMs, 50),
    cpuUsPerEvent: (after.cpuUs - before.cpuUs) / Math.max(1, result.events),
    cpuUsPerPoke: (after.cpuUs - before.cpuUs) / Math.max(1, result.deliveries),
    lost: result.lost,
    duplicates: result.duplicates + result.unexpected,
    ...(countChecks ? { checksPerEvent: (after.checks - before.checks) / result.events } : {}),
    ...(result.arrival === undefined ? {} : arrivalMetrics(result.arrival)),
  };
}

/** The arrival pattern, reported with every paced figure. */
export function arrivalMetrics(arrival: ArrivalPattern): Sample {
  return {
    arrivalRate: arrival.ratePerSecond,
    arrivalGapP50Ms: arrival.gapP50Ms,
    arrivalGapP99Ms: arrival.gapP99Ms,
    arrivalPerTurn: arrival.maxPerTurn,
    confirmLagMs: arrival.confirmLagMs,
  };
}

export function fromBurst(
  result: BurstResult,
  versions: number,
  before: ServerStats,
  after: ServerStats,
  countChecks: boolean,
): Sample {
  // One sample: the last event sent → the last subscriber's poke for it.
  const finalMs = result.lost === 0 ? result.lastFinalAt - result.lastSentAt : NaN;
  return {
    deliveriesPerSecond: (result.pokes / (result.lastFinalAt - result.firstSentAt)) * 1_000,
    p50Ms: finalMs,
    p99Ms: finalMs,
    cpuUsPerPoke: (after.cpuUs - before.cpuUs) / Math.max(1, result.pokes),
    // Per event: C projects all of them and pokes a few times; B and A poke for each.
    cpuUsPerEvent: (after.cpuUs - before.cpuUs) / versions,
    lost: result.lost,
    duplicates: result.unexpected,
    pokesPerSubscriber: result.maxPokesPerSubscriber,
    afterConfirmMs: result.lost === 0 ? result.lastFinalAt - result.lastConfirmedAt : NaN,
    late: result.late,
    sendSpreadMs: result.lastSentAt - result.firstSentAt,
    ...(countChecks ? { checks: after.checks - before.checks } : {}),
  };
}

export function fromResync(
  result: ResyncResult,
  startedAt: number,
  before: ServerStats,
  after: ServerStats,
): Sample {
  const latencies = result.arrivals.map((at) => at - startedAt);
  const last = latencies.at(-1) ?? NaN;
  return {
    deliveriesPerSecond: (result.arrivals.length / last) * 1_000,
    p50Ms: percentile(latencies, 50),
    p99Ms: percentile(latencies, 99),
    cpuUsPerPoke: (after.cpuUs - before.cpuUs) / Math.max(1, result.arrivals.length),
    lost: result.lost,
    duplicates: result.duplicates + result.unexpected,
  };
}
