// Runs one round (a layout of subscribers and its steps) against one server,
// and turns what the load generator saw and what the server spent into samples.
import type { BurstResult, DeliveryResult, ResyncResult } from './drivers.js';
import type { Child } from './ipc.js';
import type { Plan, Round, Step } from './plan.js';
import type { Server } from './servers.js';
import type { Layout, ServerStats } from './workload.js';

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
  | 'errors';

/** Nearest-rank percentile of unsorted values; NaN for none. */
export function percentile(values: readonly number[], p: number): number {
  if (values.length === 0) return NaN;
  const sorted = [...values].sort((a, b) => a - b);
  return sorted[Math.min(sorted.length - 1, Math.max(0, Math.ceil((p / 100) * sorted.length) - 1))] ?? NaN;
}

async function waitForSubscriptions(server: Server, count: number): Promise<void> {
  const deadline = Date.now() + 120_000;
  for (;;) {
    const { subscriptions } = await server.stats();
    if (subscriptions === count) return;
    if (Date.now() > deadline) {
      throw new Error(`server ${server.id} has ${subscriptions} subscriptions, expected ${count}`);
    }
    await new Promise((resolve) => setTimeout(resolve, 50));
  }
}

function fromDeliveries(
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
    cpuUsPerPoke: (after.cpuUs - before.cpuUs) / Math.max(1, result.deliveries),
    lost: result.lost,
    duplicates: result.duplicates + result.unexpected,
    ...(countChecks ? { checksPerEvent: (after.checks - before.checks) / result.events } : {}),
  };
}

function fromBurst(
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
    late: result.late,
    sendSpreadMs: result.lastSentAt - result.firstSentAt,
    ...(countChecks ? { checks: after.checks - before.checks } : {}),
  };
}

function fromResync(
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

async function runStep(
  loadgen: Child,
  server: Server,
  layout: Layout,
  step: Step,
  plan: Plan,
  runId: string,
): Promise<Sample> {
  const { stallMs } = plan;
  const countChecks = server.id !== 'A'; // the raw baseline has no read view
  switch (step.kind) {
    case 'memory':
      throw new Error('memory is measured around the opening of the round');
    case 'stream': {
      const before = await server.stats();
      const result = await loadgen.request<DeliveryResult>({
        type: 'stream',
        params: {
          runId,
          companyId: 'c0',
          subscribers: layout.subscribers,
          events: step.events,
          window: step.window,
          stallMs,
        },
      });
      return fromDeliveries(result, before, await server.stats(), countChecks);
    }
    case 'paced': {
      const before = await server.stats();
      const result = await loadgen.request<DeliveryResult>({
        type: 'paced',
        params: {
          runId,
          companies: layout.subscribers,
          events: step.events,
          ratePerSecond: step.ratePerSecond,
          stallMs,
        },
      });
      return fromDeliveries(result, before, await server.stats(), countChecks);
    }
    case 'burst': {
      const before = await server.stats();
      const result = await loadgen.request<BurstResult>({
        type: 'burst',
        params: {
          companyId: 'c0',
          orderId: `${runId}-burst`,
          subscribers: layout.subscribers,
          versions: step.versions,
          spreadMs: step.spreadMs,
          stallMs,
        },
      });
      return fromBurst(result, step.versions, before, await server.stats(), countChecks);
    }
    case 'resync': {
      await loadgen.request({ type: 'armResync', params: { subscribers: layout.subscribers, stallMs } });
      const before = await server.stats();
      const startedAt = await server.resync();
      const result = await loadgen.request<ResyncResult>({ type: 'awaitResync' });
      return fromResync(result, startedAt, before, await server.stats());
    }
  }
}

/** Opens the round's subscribers on `server`, runs its steps, closes them; samples by step id. */
export async function runRound(
  loadgen: Child,
  server: Server,
  round: Round,
  plan: Plan,
  runId: string,
): Promise<Map<string, Sample>> {
  const { layout, steps } = round;
  const samples = new Map<string, Sample>();
  await loadgen.request({ type: 'target', params: server.target });
  const measureMemory = steps.some((step) => step.kind === 'memory');
  let idle: ServerStats | undefined;
  let base = 0;
  if (measureMemory) {
    base = plan.memoryBase.subscribers;
    await loadgen.request({ type: 'open', params: { layout: plan.memoryBase, perSocket: plan.perSocket } });
    await waitForSubscriptions(server, base);
    idle = await server.stats(true);
  }
  await loadgen.request({ type: 'open', params: { layout, perSocket: plan.perSocket } });
  await waitForSubscriptions(server, base + layout.subscribers);
  try {
    for (const step of steps) {
      if (step.kind === 'memory') {
        const open = await server.stats(true);
        samples.set(step.id, {
          heapBytesPerSubscription: (open.heapBytes - (idle?.heapBytes ?? 0)) / layout.subscribers,
          rssBytesPerSubscription: (open.rssBytes - (idle?.rssBytes ?? 0)) / layout.subscribers,
        });
        continue;
      }
      const sample = await runStep(loadgen, server, layout, step, plan, `${runId}-${step.id}`);
      const errors = await loadgen.request<string[]>({ type: 'errors' });
      for (const error of errors.slice(0, 5)) console.error(`  ${server.id} ${step.id}: ${error}`);
      samples.set(step.id, { ...sample, errors: errors.length });
    }
  } finally {
    await loadgen.request({ type: 'close' });
    await waitForSubscriptions(server, 0);
  }
  return samples;
}
