// The steps that measure the event path under load: the knee, the noisy
// neighbour, a flood with a stalled client, and the CPU outside Node per event.
import { percentile } from '../table.js';
import type { DeliveryResult } from './drivers.js';
import type { NoisyResult } from './floods.js';
import type { Child } from './ipc.js';
import type { Plan, Step } from './plan.js';
import { externalCpu } from './process-cpu.js';
import { fromDeliveries, type Sample } from './samples.js';
import type { Server } from './servers.js';
import type { Layout, ServerStats } from './workload.js';

type StepOf<K extends Step['kind']> = Extract<Step, { kind: K }>;

function paced(
  loadgen: Child,
  layout: Layout,
  plan: Plan,
  runId: string,
  events: number,
  ratePerSecond: number,
): Promise<DeliveryResult> {
  return loadgen.request<DeliveryResult>({
    type: 'paced',
    params: { runId, companies: layout.subscribers, events, ratePerSecond, stallMs: plan.stallMs },
  });
}

/** A paced run, with PostgreSQL's and RabbitMQ's CPU around it (A uses neither; B uses PostgreSQL). */
export async function runPacedWithExternalCpu(
  loadgen: Child,
  server: Server,
  layout: Layout,
  step: StepOf<'paced'>,
  plan: Plan,
  runId: string,
): Promise<Sample> {
  const before = await server.stats();
  const outsideBefore = await externalCpu();
  const result = await paced(loadgen, layout, plan, runId, step.events, step.ratePerSecond);
  // The server's share of the broker and the database ends with its last poke.
  const outsideAfter = await externalCpu();
  return {
    ...fromDeliveries(result, before, await server.stats(), server.id !== 'A'),
    postgresUsPerEvent: (outsideAfter.postgresUs - outsideBefore.postgresUs) / result.events,
    rabbitmqUsPerEvent: (outsideAfter.rabbitmqUs - outsideBefore.rabbitmqUs) / result.events,
  };
}

/** Paced runs at rising rates; the knee is the last rate whose p99 stayed within the limit, with nothing lost. */
export async function runKnee(
  loadgen: Child,
  server: Server,
  layout: Layout,
  step: StepOf<'knee'>,
  plan: Plan,
  runId: string,
): Promise<Sample> {
  let knee = 0;
  for (const rate of step.ratesPerSecond) {
    const events = Math.max(step.minEvents, rate * step.seconds);
    const result = await paced(loadgen, layout, plan, `${runId}-${rate}`, events, rate);
    await server.settle();
    if (result.lost > 0 || !(percentile(result.toLastDeliveryMs, 99) <= step.p99LimitMs)) break;
    knee = rate;
  }
  return { kneePerSecond: knee };
}

/**
 * One company floods while another writes 10 events/s: the quiet one's
 * latency. Losses are the measure here (`skipped`), not a failure of the run.
 */
export async function runNoisy(
  loadgen: Child,
  server: Server,
  layout: Layout,
  step: StepOf<'noisy'>,
  plan: Plan,
  runId: string,
): Promise<Sample> {
  const { quiet, flood } = await loadgen.request<NoisyResult>({
    type: 'noisy',
    params: {
      runId,
      floodCompanyId: layout.extra?.[0] ?? 'flood',
      floodEvents: step.floodEvents,
      quietCompanyId: `${layout.prefix ?? 'c'}0`,
      quietSubscribers: layout.subscribers,
      quietRatePerSecond: step.quietRatePerSecond,
      quietMinEvents: step.quietMinEvents,
      maxMs: step.maxMs,
      stallMs: plan.stallMs,
    },
  });
  await server.settle();
  return {
    p50Ms: percentile(quiet.toLastDeliveryMs, 50),
    p99Ms: percentile(quiet.toLastDeliveryMs, 99),
    skipped: quiet.lost,
    floodSkipped: flood.lost,
    floodMs: flood.lastArrivalAt - flood.firstSentAt,
    duplicates: quiet.duplicates + flood.duplicates,
  };
}

/**
 * A flood while one client has stopped reading: the server's RSS growth (its
 * peak, sampled every 100 ms) and the others' last poke after the last publish.
 */
export async function runStalledFlood(
  loadgen: Child,
  server: Server,
  layout: Layout,
  step: StepOf<'flood'>,
  plan: Plan,
  runId: string,
): Promise<Sample> {
  const before = await server.stats(true);
  let peakRss = before.rssBytes;
  const done = new AbortController();
  const sampler = (async () => {
    while (!done.signal.aborted) {
      const stats: ServerStats = await server.stats();
      peakRss = Math.max(peakRss, stats.rssBytes);
      await new Promise((resolve) => setTimeout(resolve, 100));
    }
  })();
  let result: DeliveryResult;
  try {
    result = await loadgen.request<DeliveryResult>({
      type: 'stalledFlood',
      params: {
        runId,
        companyId: `${layout.prefix ?? 'c'}0`,
        subscribers: layout.subscribers,
        events: step.events,
        stallMs: plan.stallMs,
      },
    });
  } finally {
    done.abort();
    await sampler;
  }
  const after = await server.stats();
  return {
    rssGrowthBytes: Math.max(peakRss, after.rssBytes) - before.rssBytes,
    drainMs: result.lost === 0 ? result.lastArrivalAt - result.lastSentAt : NaN,
    p99Ms: percentile(result.toLastDeliveryMs, 99),
    skipped: result.lost,
    duplicates: result.duplicates + result.unexpected,
  };
}
