// The side-by-side benchmark: the same workload, in one run, against
// A (a raw `ws` broadcast), B (graphql-yoga's pubsub with a per-subscriber
// check) and C (pokegate's reference service on RabbitMQ and PostgreSQL),
// with the load generator in a process of its own.
import { killChildren, spawnChild, type Child } from './ipc.js';
import type { ArrivalMode } from './paced-publisher.js';
import { createPlan, serverLabels, type Round, type ServerId } from './plan.js';
import { buildReport, updateReadme, writeResults, type Samples } from './report.js';
import { runRound, type Sample } from './runner.js';
import { startEnvironment } from './servers.js';

export interface CompareOptions {
  readonly mode: 'full' | 'quick';
  /** Writes a `--cpu-prof` profile of server C into this directory. */
  readonly profileDir?: string | undefined;
  /** Runs only these scenario ids, on the rounds that hold them (and never touches the benchmark report). */
  readonly only?: readonly string[] | undefined;
  /** Runs only these servers (and never touches the benchmark report). */
  readonly servers?: readonly ServerId[] | undefined;
  /** How the paced steps' events arrive; `ticks` is the earlier pattern, for comparison. @default 'even' */
  readonly arrival?: ArrivalMode | undefined;
  /** How long each many-keys and knee rate runs in a full run. @default 5 */
  readonly seconds?: number | undefined;
  readonly repetitions?: number | undefined;
  /** `transient` publishes C's events non-persistent, as the benchmark did before. @default 'persistent' */
  readonly publish?: 'persistent' | 'transient' | undefined;
}

const allServers: readonly ServerId[] = ['A', 'B', 'C'];

function summary(sample: Sample): string {
  const parts: string[] = [];
  const put = (name: string, value: number | undefined, digits = 1): void => {
    if (value !== undefined && Number.isFinite(value)) parts.push(`${name} ${value.toFixed(digits)}`);
  };
  put('del/s', sample.deliveriesPerSecond, 0);
  put('p50', sample.p50Ms);
  put('p99', sample.p99Ms);
  put('cpu/poke', sample.cpuUsPerPoke);
  put('checks/ev', sample.checksPerEvent, 2);
  put('checks', sample.checks, 0);
  put('pokes/sub', sample.pokesPerSubscriber, 0);
  put('first p50', sample.firstP50Ms);
  put('alone', sample.firstAloneP50Ms);
  put('hop', sample.hopMs, 2);
  put('pg/ev', sample.postgresUsPerEvent, 0);
  put('rabbit/ev', sample.rabbitmqUsPerEvent, 0);
  put('knee', sample.kneePerSecond, 0);
  put('after confirm', sample.afterConfirmMs);
  put('rss growth MB', (sample.rssGrowthBytes ?? NaN) / 2 ** 20);
  put('drain', sample.drainMs);
  put('flood', sample.floodMs, 0);
  put('broker p99', sample.brokerP99Ms);
  put('heap/sub', sample.heapBytesPerSubscription, 0);
  put('rss/sub', sample.rssBytesPerSubscription, 0);
  put('rabbit floor/ev', sample.rabbitmqFloorUsPerEvent, 0);
  put('rabbit/floor', sample.rabbitmqVsFloor, 2);
  put('arrival ev/s', sample.arrivalRate, 0);
  put('gap p50', sample.arrivalGapP50Ms, 2);
  put('gap p99', sample.arrivalGapP99Ms, 2);
  put('per write', sample.arrivalPerTurn, 0);
  put('confirm lag', sample.confirmLagMs, 1);
  if ((sample.lost ?? 0) > 0) parts.push(`LOST ${sample.lost}`);
  if ((sample.skipped ?? 0) > 0) parts.push(`skipped ${sample.skipped}`);
  if ((sample.floodSkipped ?? 0) > 0) parts.push(`flood skipped ${sample.floodSkipped}`);
  if ((sample.errors ?? 0) > 0) parts.push(`ERRORS ${sample.errors}`);
  return parts.join(', ');
}

/** Runs the comparison; resolves false when a poke was lost or a protocol error seen. */
export async function benchCompare(options: CompareOptions): Promise<boolean> {
  const { arrival, seconds, repetitions } = options;
  const plan = createPlan(options.mode, { arrival, seconds, repetitions });
  // The table of record uses the defaults: any other arrival, length or count only prints.
  const standard =
    arrival === undefined &&
    seconds === undefined &&
    repetitions === undefined &&
    options.publish === undefined;
  const only = options.only;
  const order = allServers.filter((id) => options.servers?.includes(id) ?? true);
  // Narrowed to the scenarios asked for: a round opens its subscribers only if one of its steps is left.
  const rounds: readonly Round[] =
    only === undefined
      ? plan.rounds
      : plan.rounds
          .map((round) => ({ ...round, steps: round.steps.filter((step) => only.includes(step.id)) }))
          .filter((round) => round.steps.length > 0);
  const started = new Date();
  console.log(`## Side by side: raw ws (A), graphql-yoga pubsub (B), pokegate (C) — ${plan.mode} run\n`);
  console.log(
    `Arrival: ${plan.arrival === 'even' ? 'each event published at its own time, one per write' : 'every event due sent at once on a 1 ms timer'}, ${options.publish ?? 'persistent'}, on a confirm channel.\n`,
  );
  const environment = await startEnvironment({
    pokegateFlags:
      options.profileDir === undefined ? [] : ['--cpu-prof', `--cpu-prof-dir=${options.profileDir}`],
  });
  let loadgen: Child | undefined;
  try {
    loadgen = await spawnChild(new URL('./load-generator.ts', import.meta.url).pathname, {
      env: { BENCH_PUBLISH: options.publish ?? 'persistent' },
    });
    const { servers } = environment;
    for (const id of order) {
      for (const [i, round] of plan.warmUp.entries())
        await runRound(loadgen, servers[id], round, plan, `warm${i}-${id}`);
    }
    const samples: Samples = new Map();
    for (let rep = 0; rep < plan.repetitions; rep++) {
      // Rotating the order, so a slow moment of the shared machine does not always hit the same server.
      const turn = order.map((_, i) => order[(i + rep) % order.length] as ServerId);
      for (const round of rounds) {
        for (const id of turn.filter((server) => round.servers?.includes(server) ?? true)) {
          const server = round.fresh === true ? await environment.fresh(id, round.env) : servers[id];
          const results = await runRound(loadgen, server, round, plan, `r${rep}-${id}-${round.layout.name}`);
          if (round.fresh === true) {
            await loadgen.request({ type: 'release' });
            await server.child.stop();
          }
          for (const [step, sample] of results) {
            let byServer = samples.get(step);
            if (byServer === undefined) samples.set(step, (byServer = { A: [], B: [], C: [] }));
            byServer[id].push(sample);
            console.error(
              `  ${rep + 1}/${plan.repetitions} ${step.padEnd(11)} ${serverLabels[id].padEnd(13)} ${summary(sample)}`,
            );
          }
        }
      }
    }
    const report = buildReport(plan, samples, started);
    console.log(`${report.markdown}\n`);
    if (report.missed.length > 0)
      console.log(`Targets missed:\n${report.missed.map((m) => `- ${m}`).join('\n')}\n`);
    // Only a whole full run replaces the recorded results: a smoke or partial run only prints.
    if (plan.mode === 'full' && only === undefined && order.length === allServers.length && standard) {
      await writeResults(new URL('../results.json', import.meta.url), report.json);
      await updateReadme(new URL('../README.md', import.meta.url), plan, report.markdown, started);
    }
    for (const failure of report.failures) console.error(`FAILED: ${failure}`);
    return report.failures.length === 0;
  } finally {
    await loadgen?.stop();
    const problems = await environment.dispose();
    for (const problem of problems) console.error(`cleanup: ${problem}`);
    killChildren();
  }
}
