// `npm run bench -- --only=scale-out`: R replica processes of the reference
// service on one broker and one database, behind the production HAProxy
// config; subscribers spread over them with and without the tenant hash;
// events published persistent and confirmed at a steady rate, uniform over
// the companies. Per replica: messages received and CPU; for the broker:
// deliveries per published event and CPU; publish → poke, lost, stale reads;
// and the cost of one more replica that serves nobody. With `--projection=apart`
// the replicas do not project: one more instance apart does, as docs/scaling.md
// deploys a wide fleet.
import { randomBytes } from 'node:crypto';
import { readFile } from 'node:fs/promises';
import { cpus } from 'node:os';
import { signToken } from '../../src/service/auth.js';
import { amqpUrl, urlForVhost } from '../../test/utils/amqp.js';
import { rabbitmqctl } from '../../test/utils/rabbitmqctl.js';
import { createDatabase } from '../../test/utils/service.js';
import type { DeliveryResult } from '../compare/drivers.js';
import { killChildren, spawnChild, type Child } from '../compare/ipc.js';
import { externalCpu } from '../compare/process-cpu.js';
import { queuedMessages } from '../compare/servers.js';
import type { ServerStats } from '../compare/workload.js';
import { percentile } from '../table.js';
import { startFleet, startReplica, type Fleet, type Replica } from './fleet.js';
import {
  checkTargets,
  createScaleOutPlan,
  configurationName,
  failures,
  type FleetPlan,
  type ScaleOutPlan,
  type ScaleOutSample,
} from './plan.js';
import type { ReadCheckResult } from './read-check.js';
import { printScaleOut } from './report.js';

const exchange = 'pokegate.events';

const sleep = (ms: number): Promise<void> => new Promise((resolve) => setTimeout(resolve, ms));

async function until(what: string, condition: () => Promise<boolean>, timeoutMs = 120_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!(await condition())) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await sleep(200);
  }
}

const statsOf = (replicas: readonly Replica[]): Promise<ServerStats[]> =>
  Promise.all(replicas.map((replica) => replica.stats()));

const total = (stats: readonly ServerStats[], field: (s: ServerStats) => number | undefined): number =>
  stats.reduce((sum, s) => sum + (field(s) ?? 0), 0);

/** The transient queues' bindings, summed; undefined where the service has no such gauge. */
async function bindings(replicas: readonly Replica[]): Promise<number | undefined> {
  const stats = await statsOf(replicas);
  return stats.every((s) => s.bindings === undefined) ? undefined : total(stats, (s) => s.bindings);
}

/** Waits until the bindings stop changing: every new company's binding is confirmed. */
async function bindingsSettled(replicas: readonly Replica[]): Promise<void> {
  let last = await bindings(replicas);
  if (last === undefined) return;
  for (let i = 0; i < 300; i++) {
    await sleep(500);
    const now = await bindings(replicas);
    if (now === last) return;
    last = now;
  }
}

/** One process's stats at both ends of the measured window. */
interface Window {
  readonly before: ServerStats;
  readonly after: ServerStats;
}

/** How much `field` of one process grew over the window. */
const grew = (window: Window, field: (s: ServerStats) => number | undefined): number =>
  (field(window.after) ?? 0) - (field(window.before) ?? 0);

interface Measured {
  readonly seconds: number;
  readonly fleet: { before: ServerStats[]; after: ServerStats[] };
  readonly idle: Window;
  /** The projecting instance apart from the fleet, with `--projection=apart`. */
  readonly projector: Window | undefined;
  readonly brokerCpuUs: number;
  /** The machine's cores busy over the window (all processes, from /proc/stat), in cores. */
  readonly machineBusyCores: number;
  readonly result: DeliveryResult & { reads: ReadCheckResult };
}

/** The machine's CPU time so far, busy and in all, in clock ticks (the first line of /proc/stat). */
async function machineTicks(): Promise<{ busy: number; all: number }> {
  const [line = ''] = (await readFile('/proc/stat', 'utf8')).split('\n');
  // user nice system idle iowait irq softirq steal …: idle and iowait are not busy.
  const ticks = line.trim().split(/\s+/).slice(1, 9).map(Number);
  const all = ticks.reduce((a, b) => a + b, 0);
  return { busy: all - (ticks[3] ?? 0) - (ticks[4] ?? 0), all };
}

async function measure(
  loadgen: Child,
  fleet: Fleet,
  idle: Replica,
  projector: Replica | undefined,
  params: Record<string, unknown>,
): Promise<Measured> {
  const [before, idleBefore, projectorBefore, cpuBefore, ticksBefore] = await Promise.all([
    statsOf(fleet.replicas),
    idle.stats(),
    projector?.stats(),
    externalCpu(),
    machineTicks(),
  ]);
  const startedAt = performance.now();
  const result = await loadgen.request<Measured['result']>({ type: 'pacedReads', params }, 600_000);
  const seconds = (performance.now() - startedAt) / 1_000;
  const [after, idleAfter, projectorAfter, cpuAfter, ticksAfter] = await Promise.all([
    statsOf(fleet.replicas),
    idle.stats(),
    projector?.stats(),
    externalCpu(),
    machineTicks(),
  ]);
  const cores = cpus().length;
  return {
    seconds,
    machineBusyCores:
      ((ticksAfter.busy - ticksBefore.busy) / Math.max(1, ticksAfter.all - ticksBefore.all)) * cores,
    fleet: { before, after },
    idle: { before: idleBefore, after: idleAfter },
    projector:
      projectorBefore === undefined || projectorAfter === undefined
        ? undefined
        : { before: projectorBefore, after: projectorAfter },
    brokerCpuUs: cpuAfter.rabbitmqUs - cpuBefore.rabbitmqUs,
    result,
  };
}

function toSample(
  m: Measured,
  rate: number,
  config: Pick<ScaleOutSample, 'replicas' | 'routing' | 'affinity' | 'subscribersPerCompany' | 'subscribers'>,
  bindingsNow: number | undefined,
  errors: number,
): ScaleOutSample {
  const { result } = m;
  // Costs per published event, stated per second of the nominal rate: on a
  // machine too busy to keep up, the window stretches, and a cost per second
  // of wall time would shrink with it.
  const seconds = result.events / rate;
  const delta = (field: (s: ServerStats) => number | undefined): number[] =>
    m.fleet.after.map((after, i) => (field(after) ?? 0) - (field(m.fleet.before[i] ?? after) ?? 0));
  const received = delta((s) => s.brokerEvents);
  const cpu = delta((s) => s.cpuUs);
  const apart = m.projector;
  const projected = [
    ...delta((s) => s.projected),
    ...(apart === undefined ? [] : [grew(apart, (s) => s.projected)]),
  ];
  const sum = (values: readonly number[]): number => values.reduce((a, b) => a + b, 0);
  return {
    ...config,
    publishedPerSecond: (result.events * 1_000) / Math.max(1, result.lastSentAt - result.firstSentAt),
    windowSeconds: m.seconds,
    timedOut: sum(delta((s) => s.timedOut)),
    receivedMaxPerSecond: Math.max(...received) / seconds,
    receivedMeanPerSecond: sum(received) / received.length / seconds,
    cpuMaxUsPerSecond: Math.max(...cpu) / seconds,
    cpuMeanUsPerSecond: sum(cpu) / cpu.length / seconds,
    replicaDeliveriesPerEvent: sum(received) / result.events,
    deliveriesPerEvent: (sum(received) + sum(projected)) / result.events,
    brokerCpuUsPerSecond: m.brokerCpuUs / seconds,
    machineBusyCores: m.machineBusyCores,
    bindings: bindingsNow,
    p50Ms: percentile(result.toLastDeliveryMs, 50),
    p99Ms: percentile(result.toLastDeliveryMs, 99),
    lost: result.lost,
    stale: result.reads.stale,
    reads: result.reads.reads,
    errors: errors + result.reads.failed,
    idleCpuUsPerSecond: grew(m.idle, (s) => s.cpuUs) / seconds,
    idleReceivedPerSecond: grew(m.idle, (s) => s.brokerEvents) / seconds,
    projectorApartCpuUsPerSecond: apart === undefined ? undefined : grew(apart, (s) => s.cpuUs) / seconds,
  };
}

interface Context {
  readonly plan: ScaleOutPlan;
  readonly loadgen: Child;
  readonly vhost: string;
  readonly authorization: string;
}

/** Opens the subscribers through the proxy, warms up, measures, closes them again. */
async function runConfiguration(
  context: Context,
  fleet: Fleet & {
    readonly idle: Replica;
    readonly projector: Replica | undefined;
    readonly routing: FleetPlan['routing'];
  },
  affinity: boolean,
  subscribersPerCompany: number,
): Promise<ScaleOutSample> {
  const { plan, loadgen, vhost, authorization } = context;
  const { idle, projector, routing } = fleet;
  const replicas = fleet.replicas.length;
  const subscribers = plan.companies;
  const companies = subscribers / subscribersPerCompany;
  const runId = `so-${replicas}-${affinity ? 'a' : 'n'}-${subscribersPerCompany}-${randomBytes(2).toString('hex')}`;
  const baseline = await bindings(fleet.replicas);
  await loadgen.request({
    type: 'target',
    params: {
      wsUrl: fleet.wsUrl,
      authorization,
      sink: { kind: 'amqp', url: urlForVhost(vhost), exchange, persistent: true },
      tenantHint: affinity,
    },
  });
  const layout = { name: runId, subscribers, companies: 'each', perCompany: subscribersPerCompany };
  await loadgen.request({ type: 'open', params: { layout, perSocket: 1 } }, 300_000);
  await until(`${subscribers} subscriptions`, async () => {
    return total(await statsOf(fleet.replicas), (s) => s.subscriptions) === subscribers;
  });
  await bindingsSettled(fleet.replicas);
  const paced = {
    companies,
    perCompany: subscribersPerCompany,
    ratePerSecond: plan.ratePerSecond,
    stallMs: plan.stallMs,
  };
  const reads = { httpUrl: fleet.httpUrl, authorization, every: plan.readEvery, tenantHint: affinity };
  try {
    await loadgen.request(
      { type: 'pacedReads', params: { ...paced, runId: `${runId}-warm`, events: plan.warmUpEvents, reads } },
      600_000,
    );
    await until('the queues to drain', async () => (await queuedMessages(vhost)) === 0);
    const measured = await measure(loadgen, fleet, idle, projector, {
      ...paced,
      runId,
      events: plan.events,
      reads,
    });
    const errors = await loadgen.request<string[]>({ type: 'errors' });
    for (const error of errors.slice(0, 5)) console.error(`  ${runId}: ${error}`);
    for (const failure of measured.result.reads.failures) console.error(`  ${runId} read: ${failure}`);
    const sample = toSample(
      measured,
      plan.ratePerSecond,
      { replicas, routing, affinity, subscribersPerCompany, subscribers },
      await bindings(fleet.replicas),
      errors.length,
    );
    console.error(
      `  ${configurationName(sample)}: ` +
        `received max ${sample.receivedMaxPerSecond.toFixed(0)}/s, cpu max ${(sample.cpuMaxUsPerSecond / 1e4).toFixed(1)} %, ` +
        `deliveries/event ${sample.replicaDeliveriesPerEvent.toFixed(2)} + projector, p99 ${sample.p99Ms.toFixed(1)} ms, ` +
        `lost ${sample.lost} (gate timeouts ${sample.timedOut}), machine ${sample.machineBusyCores.toFixed(2)} cores busy, window ${sample.windowSeconds.toFixed(1)} s, stale ${sample.stale}/${sample.reads}, idle ${(sample.idleCpuUsPerSecond / 1e4).toFixed(1)} %`,
    );
    return sample;
  } finally {
    await loadgen.request({ type: 'release' });
    await until('the subscriptions to close', async () => {
      return total(await statsOf(fleet.replicas), (s) => s.subscriptions) === 0;
    });
    // The next configuration starts from the bindings this one found: the linger is short here.
    if (baseline !== undefined) {
      await until(
        'the bindings to linger out',
        async () => ((await bindings(fleet.replicas)) ?? 0) <= baseline,
      );
    }
  }
}

/** Runs the scale-out benchmark; resolves false on a lost poke, a stale read or a protocol error. */
export interface ScaleOutOptions {
  /** Only the fleets of these sizes (`--replicas=1,8`). */
  readonly replicas?: readonly number[] | undefined;
  /** Writes a `--cpu-prof` profile of every replica of the fleets into this directory (`--profile=<dir>`). */
  readonly profileDir?: string | undefined;
  /** Events published per second instead of the plan's (`--rate=300`); each row then lasts as long. */
  readonly ratePerSecond?: number | undefined;
  /**
   * `each` (the default): every replica projects, competing on the projector's
   * queue; `apart`: no replica does, one more instance apart from the fleet
   * (not behind the proxy, no subscribers) projects every event
   * (`--projection=apart`).
   */
  readonly projection?: 'each' | 'apart' | undefined;
}

export async function benchScaleOut(mode: 'full' | 'quick', options: ScaleOutOptions = {}): Promise<boolean> {
  const { replicas: sizes, profileDir, ratePerSecond, projection = 'each' } = options;
  const planned = createScaleOutPlan(mode);
  const rate = ratePerSecond ?? planned.ratePerSecond;
  // Another rate keeps each row's duration: the events scale with it.
  const scale = rate / planned.ratePerSecond;
  const plan: ScaleOutPlan = {
    ...planned,
    fleets: sizes === undefined ? planned.fleets : planned.fleets.filter((f) => sizes.includes(f.replicas)),
    ratePerSecond: rate,
    events: Math.round(planned.events * scale),
    warmUpEvents: Math.round(planned.warmUpEvents * scale),
  };
  const nodeFlags = profileDir === undefined ? [] : ['--cpu-prof', `--cpu-prof-dir=${profileDir}`];
  console.log(
    `## Scale-out: R replicas behind HAProxy, one broker, one database — ${mode} run, ` +
      `${projection === 'apart' ? 'projecting apart from the replicas' : 'every replica projecting'}\n`,
  );
  const undo: (() => Promise<unknown>)[] = [];
  try {
    const vhost = `pokegate-scale-out-${process.pid}-${randomBytes(3).toString('hex')}`;
    await rabbitmqctl('add_vhost', vhost);
    undo.push(() => rabbitmqctl('delete_vhost', vhost));
    const user = decodeURIComponent(new URL(amqpUrl).username || 'guest');
    await rabbitmqctl('set_permissions', '-p', vhost, user, '.*', '.*', '.*');
    const database = await createDatabase();
    undo.push(() => database.drop());
    const secret = randomBytes(32).toString('hex');
    const authorization = `Bearer ${await signToken({ sub: 'bench', companies: [], admin: true, expiresInSec: 86_400 }, secret)}`;
    const env = {
      PORT: '0',
      AMQP_URL: urlForVhost(vhost),
      DATABASE_URL: database.url,
      AUTH_SECRET: secret,
      EXCHANGE: exchange,
      LOG_LEVEL: 'warn',
      // One token for thousands of subscriptions, where a browser has one per user.
      RATE_LIMIT_TOKEN_PER_SEC: '1000000',
      RATE_LIMIT_TOKEN_BURST: '1000000',
      // A company's binding goes 1 s after its last subscriber, so that configurations do not overlap.
      INTEREST_LINGER_MS: '1000',
      // Every company of the scenario may be bound on one replica: at R = 2 and 4 a replica holds
      // 2,500 and 1,250 companies, past the default cap, where it would bind every event instead
      // (docs/scaling.md sizes R so that a replica's companies stay under the cap).
      INTEREST_MAX_BINDINGS: String(plan.companies),
      // Nine replicas at once on a PostgreSQL that others use too: 3 + 5 connections each at most.
      DATABASE_POOL_MAX: '3',
    };
    const loadgen = await spawnChild(new URL('../compare/load-generator.ts', import.meta.url).pathname);
    undo.push(() => loadgen.stop());
    const context: Context = { plan, loadgen, vhost, authorization };
    const samples: ScaleOutSample[] = [];
    for (const { replicas, routing, subscribersPerCompany, affinity } of plan.fleets) {
      const fleetEnv = {
        ...env,
        INTEREST_ROUTING: routing,
        ...(projection === 'apart' ? { PROJECTOR_ENABLED: 'false' } : {}),
      };
      const started: Replica[] = [];
      try {
        // The first start creates the read view's tables; the others find them.
        const idle = await startReplica({ ...fleetEnv, PROJECTOR_ENABLED: 'false' });
        started.push(idle);
        const projector =
          projection === 'apart' ? await startReplica({ ...fleetEnv, PROJECTOR_ENABLED: 'true' }) : undefined;
        if (projector !== undefined) started.push(projector);
        const fleet = await startFleet(replicas, fleetEnv, nodeFlags);
        try {
          for (const perCompany of subscribersPerCompany) {
            for (const hashed of affinity) {
              const on = { ...fleet, idle, projector, routing };
              samples.push(await runConfiguration(context, on, hashed, perCompany));
            }
          }
        } finally {
          await fleet.stop();
        }
      } finally {
        await Promise.all(started.map((replica) => replica.child.stop().catch(() => undefined)));
      }
    }
    const checks = checkTargets(samples, plan.ratePerSecond);
    printScaleOut(plan, samples, checks);
    const failed = failures(samples);
    for (const failure of failed) console.error(`FAILED: ${failure}`);
    return failed.length === 0;
  } finally {
    for (const step of undo.splice(0).reverse()) {
      await step().catch((error: unknown) => console.error(`cleanup: ${String(error)}`));
    }
    killChildren();
  }
}
