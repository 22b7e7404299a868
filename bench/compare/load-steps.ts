// The steps that measure the event path under load: the knee, the noisy
// neighbour, a flood with a stalled client, and the CPU outside Node per event.
import { percentile } from '../table.js';
import { startBrokerFloor, type FloorQueueType } from './broker-floor.js';
import type { ArrivalPattern, DeliveryResult, PacedParams } from './drivers.js';
import type { NoisyResult } from './floods.js';
import type { Child } from './ipc.js';
import type { Plan, Step } from './plan.js';
import { externalCpuOf } from './process-cpu.js';
import { arrivalMetrics, fromDeliveries, type Sample } from './samples.js';
import type { Server } from './servers.js';
import type { Layout, ServerStats } from './workload.js';

type StepOf<K extends Step['kind']> = Extract<Step, { kind: K }>;

export function paced(
  loadgen: Child,
  layout: Layout,
  plan: Plan,
  runId: string,
  events: number,
  ratePerSecond: number,
): Promise<DeliveryResult> {
  const params: PacedParams = {
    runId,
    companies: layout.subscribers,
    events,
    ratePerSecond,
    stallMs: plan.stallMs,
    arrival: plan.arrival,
  };
  return loadgen.request<DeliveryResult>({ type: 'paced', params });
}

/** The exchange of the broker floor, beside C's own on its virtual host. */
const floorExchange = 'pokegate.bench-floor';

/**
 * RabbitMQ's CPU per event for the bare amqplib floor (see broker-floor.ts):
 * the same number of events, at the same rate and arrival, on C's broker.
 */
export async function brokerFloorUsPerEvent(
  loadgen: Child,
  server: Server,
  runId: string,
  events: number,
  ratePerSecond: number,
  queueType: FloorQueueType = 'classic',
): Promise<{ usPerEvent: number; arrival: ArrivalPattern }> {
  const sink = server.target.sink;
  if (sink.kind !== 'amqp') throw new Error('the broker floor needs a broker');
  const floor = await startBrokerFloor({ url: sink.url, exchange: floorExchange, queueType });
  try {
    const { result: arrival, net } = await externalCpuOf(idleWindowMs(events, ratePerSecond), async () => {
      const pattern = await loadgen.request<ArrivalPattern>({
        type: 'publish',
        params: { exchange: floorExchange, events, ratePerSecond, runId },
      });
      await floor.received(events, 60_000);
      return pattern;
    });
    return { usPerEvent: net.rabbitmqUs / events, arrival };
  } finally {
    await floor.close();
  }
}

/** The idle window a run's background is read over: as long as the run, within 2 – 10 s. */
function idleWindowMs(events: number, ratePerSecond: number): number {
  return Math.min(10_000, Math.max(2_000, (events / ratePerSecond) * 1_000));
}

/** The floor of every durable queue type at each rate, printed as a table of its own. */
export async function runQueueTypes(
  loadgen: Child,
  server: Server,
  step: StepOf<'queue-types'>,
  runId: string,
): Promise<Sample> {
  const lines = [
    '| durable queue type | events/s | RabbitMQ CPU per event (µs) | last publish → all confirmed (ms) | arrival gap p50 / p99 (ms) |',
    '| --- | --- | --- | --- | --- |',
  ];
  for (const rate of step.ratesPerSecond) {
    for (const type of step.queueTypes) {
      const events = rate * step.seconds;
      const { usPerEvent, arrival } = await brokerFloorUsPerEvent(
        loadgen,
        server,
        `${runId}-${type}-${rate}`,
        events,
        rate,
        type,
      );
      lines.push(
        `| ${type} | ${rate} | ${usPerEvent.toFixed(0)} | ${arrival.confirmLagMs.toFixed(1)} | ${arrival.gapP50Ms.toFixed(2)} / ${arrival.gapP99Ms.toFixed(2)} |`,
      );
    }
  }
  console.log(`\nBroker floor by durable queue type (${runId}):\n\n${lines.join('\n')}\n`);
  return {};
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
  // The server's share of the broker and the database ends with its last poke.
  const { result, net } = await externalCpuOf(idleWindowMs(step.events, step.ratePerSecond), () =>
    paced(loadgen, layout, plan, runId, step.events, step.ratePerSecond),
  );
  const rabbitmqUsPerEvent = net.rabbitmqUs / result.events;
  const sample: Sample = {
    ...fromDeliveries(result, before, await server.stats(), server.id !== 'A'),
    postgresUsPerEvent: net.postgresUs / result.events,
    rabbitmqUsPerEvent,
  };
  if (server.target.sink.kind !== 'amqp') return sample;
  // What would settle on C's queues must not count towards the floor's share.
  await server.settle();
  const floor = await brokerFloorUsPerEvent(
    loadgen,
    server,
    `${runId}-floor`,
    step.events,
    step.ratePerSecond,
  );
  return {
    ...sample,
    rabbitmqFloorUsPerEvent: floor.usPerEvent,
    rabbitmqVsFloor: rabbitmqUsPerEvent / floor.usPerEvent,
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
  let last: DeliveryResult | undefined;
  for (const rate of step.ratesPerSecond) {
    const events = Math.max(step.minEvents, rate * step.seconds);
    last = await paced(loadgen, layout, plan, `${runId}-${rate}`, events, rate);
    await server.settle();
    if (last.lost > 0 || !(percentile(last.toLastDeliveryMs, 99) <= step.p99LimitMs)) break;
    knee = rate;
  }
  return {
    kneePerSecond: knee,
    p99Ms: last === undefined ? NaN : percentile(last.toLastDeliveryMs, 99),
    ...(last?.arrival === undefined ? {} : arrivalMetrics(last.arrival)),
  };
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
  const { quiet, flood, quietAtBrokerMs } = await loadgen.request<NoisyResult>({
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
    ...(quietAtBrokerMs.length === 0 ? {} : { brokerP99Ms: percentile(quietAtBrokerMs, 99) }),
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
