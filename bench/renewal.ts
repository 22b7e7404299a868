// Sessions that outlive their first token: clients with short tokens held for
// a while, renewing them in place (`getToken`, the refreshSession mutation)
// against reconnecting when the server closes them at expiry (4403), the way
// every graphql-ws client does it today. Each run holds the same clients on
// the reference service (its own process, on the real broker and database)
// while a writer places orders at a steady rate; a baseline run with tokens
// that outlive it gives the server's CPU without either.
//
// Reported per run: reconnects, resync pokes (and the server's resync rounds:
// a gap in the event stream, such as a broker restart, resyncs everyone in
// any mode), refetches (and how many of them a reconnect caused), renewals,
// the server's CPU (its own process_cpu_seconds_total, in cores: the mean,
// and the busiest second), PostgreSQL's CPU (every postgres process on the
// machine: noisy on a shared one), and the p99 latency from a write to its
// poke at each subscriber (the poke's arrival, as the client sees it; a poke
// lost while a client reconnects is counted apart, its reconnect's refetch
// heals it).
import WebSocket from 'ws';
import { createLiveClient, type LiveClient, type LiveQuery } from 'pokegate/client';
import { signToken } from '../src/service/auth.js';
import { devAuthSecret } from '../src/service/config.js';
import { OrdersChangedDocument, OrdersDocument } from '../src/service/generated/operations.js';
import { openAdmin, projectorQueues, uniqueName } from '../test/utils/amqp.js';
import { placeOrder } from '../test/utils/graphql-client.js';
import { createDatabase, metric, startService, type ServiceProcess } from '../test/utils/service.js';
import { waitFor } from '../test/utils/wait-for.js';
import { externalCpu } from './compare/process-cpu.js';
import { percentile, printTable } from './table.js';

export interface RenewalBenchOptions {
  /** Clients, each one connection with one live query. */
  readonly clients: number;
  /** Clients per company: they connect together, as a company's users who log in together. */
  readonly clientsPerCompany: number;
  /** Life of every token. */
  readonly tokenSec: number;
  /** How long each run holds its clients, once all are live. */
  readonly durationSec: number;
  /** Orders placed per second, over all companies in turn. */
  readonly writesPerSec: number;
  /** The client's `renewal.jitter`; its default when undefined. */
  readonly jitter?: number | undefined;
}

/** The issue's size: 5,000 clients with 60 s tokens for 10 minutes. */
export const fullRenewalBench: RenewalBenchOptions = {
  clients: 5_000,
  clientsPerCompany: 100,
  tokenSec: 60,
  durationSec: 600,
  writesPerSec: 2,
};

/** The smoke run: a few clients, tokens of seconds. */
export const quickRenewalBench: RenewalBenchOptions = {
  clients: 40,
  clientsPerCompany: 10,
  tokenSec: 8,
  durationSec: 20,
  writesPerSec: 2,
};

type Mode = 'baseline' | 'renew' | 'reconnect';

interface RunResult {
  readonly mode: Mode;
  readonly seconds: number;
  readonly reconnects: number;
  readonly resyncPokes: number;
  readonly refetches: number;
  readonly reconnectRefetches: number;
  readonly renewals: number;
  readonly renewalFailures: number;
  /** Server CPU, in cores (CPU seconds per second). */
  readonly serverCores: number;
  /** The busiest second's server CPU, in cores. */
  readonly peakCores: number;
  /** Every PostgreSQL process's CPU, in cores. */
  readonly postgresCores: number;
  /** Resync rounds of the server (gaps in its event stream). */
  readonly gapResyncs: number;
  readonly pokes: number;
  readonly lostPokes: number;
  readonly p50Ms: number;
  readonly p99Ms: number;
}

/** One client's live query, counted. */
interface Watched {
  readonly client: LiveClient;
  readonly live: LiveQuery<unknown>;
  readonly companyId: string;
  reconnects: number;
  resyncPokes: number;
  renewals: number;
  renewalFailures: number;
  /** Poke arrival times by order id. */
  readonly arrivals: Map<string, number>;
}

export async function benchRenewal(options: RenewalBenchOptions): Promise<boolean> {
  const { clients, clientsPerCompany, tokenSec, durationSec, writesPerSec } = options;
  console.log(
    `## Session renewal: ${clients} clients (${clientsPerCompany} per company), ${tokenSec} s tokens, ` +
      `${durationSec} s per run, ${writesPerSec} writes/s\n`,
  );
  const exchange = uniqueName('pokegate.bench.renewal');
  const database = await createDatabase();
  const admin = await openAdmin();
  let service: ServiceProcess | undefined;
  try {
    service = await startService({
      AMQP_URL: process.env['AMQP_URL'] ?? 'amqp://guest:guest@127.0.0.1:5672',
      DATABASE_URL: database.url,
      EXCHANGE: exchange,
      AUTH_SECRET: devAuthSecret,
      LOG_LEVEL: 'info',
    });
    const results: RunResult[] = [];
    // The baseline's CPU is a rate: a minute of it is enough.
    results.push(await run(service, options, 'baseline', Math.min(durationSec, 60)));
    results.push(await run(service, options, 'renew', durationSec));
    results.push(await run(service, options, 'reconnect', durationSec));
    return report(results, tokenSec);
  } finally {
    // Each step alone: a broker restarted meanwhile must not keep the database behind.
    for (const step of [
      () => service?.stop(),
      () => admin.deleteQueues(projectorQueues(`${exchange}.orders-projector`)),
      () => admin.deleteExchange(exchange),
      () => admin.close(),
      () => database.drop(),
    ]) {
      try {
        await step();
      } catch (error) {
        console.error(`cleanup: ${error instanceof Error ? error.message : String(error)}`);
      }
    }
  }

  async function run(on: ServiceProcess, _: RenewalBenchOptions, mode: Mode, seconds: number) {
    const companies = Math.max(1, Math.ceil(clients / clientsPerCompany));
    const watched: Watched[] = [];
    const started = Date.now();
    for (let c = 0; c < companies; c++) {
      const companyId = `r${c}`;
      const count = Math.min(clientsPerCompany, clients - c * clientsPerCompany);
      const batch = Array.from({ length: count }, (_, i) => open(on, mode, companyId, `${mode}-${c}-${i}`));
      watched.push(...batch);
      await waitFor(`company ${companyId} live`, () => batch.every((w) => w.live.status === 'live'), {
        timeoutMs: 120_000,
        intervalMs: 20,
      });
    }
    console.log(
      `${mode}: ${watched.length} clients live in ${((Date.now() - started) / 1_000).toFixed(1)} s`,
    );
    for (const w of watched) {
      w.reconnects = 0;
      w.resyncPokes = 0;
      w.renewals = 0;
      w.renewalFailures = 0;
      w.arrivals.clear();
    }
    const fetchesBefore = watched.reduce((sum, w) => sum + w.live.stats.fetches, 0);
    const resyncsBefore = await metric(on.httpUrl, 'pokegate_resyncs_total');
    const postgresBefore = (await externalCpu()).postgresUs;
    const cpuBefore = await metric(on.httpUrl, 'process_cpu_seconds_total');
    const windowStart = performance.now();
    const peak = sampleCpu(on);
    const writes = await writeFor(on, companies, seconds, writesPerSec);
    const peakCores = await peak.stop();
    const cpuAfter = await metric(on.httpUrl, 'process_cpu_seconds_total');
    const elapsed = (performance.now() - windowStart) / 1_000;
    const postgresCores = ((await externalCpu()).postgresUs - postgresBefore) / 1e6 / elapsed;
    const gapResyncs = (await metric(on.httpUrl, 'pokegate_resyncs_total')) - resyncsBefore;
    // The last writes' pokes: a little time to arrive.
    await new Promise((resolve) => setTimeout(resolve, 2_000));
    const fetches = watched.reduce((sum, w) => sum + w.live.stats.fetches, 0) - fetchesBefore;
    const latencies: number[] = [];
    let lost = 0;
    for (const write of writes) {
      for (const w of watched) {
        if (w.companyId !== write.companyId) continue;
        const arrived = w.arrivals.get(write.orderId);
        if (arrived === undefined) lost++;
        else latencies.push(arrived - write.sentAt);
      }
    }
    const sum = (pick: (w: Watched) => number): number => watched.reduce((total, w) => total + pick(w), 0);
    await Promise.all(watched.map((w) => w.client.dispose()));
    await waitFor(
      'every receiver closed',
      async () => (await metric(on.httpUrl, 'pokegate_receivers')) === 0,
      {
        timeoutMs: 60_000,
        intervalMs: 100,
      },
    );
    const reconnects = sum((w) => w.reconnects);
    return {
      mode,
      seconds: elapsed,
      reconnects,
      resyncPokes: sum((w) => w.resyncPokes),
      refetches: fetches,
      reconnectRefetches: reconnects,
      renewals: sum((w) => w.renewals),
      renewalFailures: sum((w) => w.renewalFailures),
      serverCores: (cpuAfter - cpuBefore) / elapsed,
      peakCores,
      postgresCores,
      gapResyncs,
      pokes: latencies.length,
      lostPokes: lost,
      p50Ms: percentile(latencies, 50),
      p99Ms: percentile(latencies, 99),
    };
  }

  function open(on: ServiceProcess, mode: Mode, companyId: string, sub: string): Watched {
    const issue = (): Promise<string> =>
      signToken(
        { sub, companies: [companyId], expiresInSec: mode === 'baseline' ? 3_600 : tokenSec },
        devAuthSecret,
      );
    const client = createLiveClient({
      url: on.wsUrl,
      webSocketImpl: WebSocket,
      ...(mode === 'renew'
        ? {
            getToken: issue,
            ...(options.jitter === undefined ? {} : { renewal: { jitter: options.jitter } }),
            onRenewal: (event) => {
              if (event.outcome === 'renewed') watched.renewals++;
              else watched.renewalFailures++;
            },
          }
        : {
            // Today's client: a fresh token for each connection, and a reconnect after the 4403 of an expiry.
            connectionParams: async () => ({ authorization: `Bearer ${await issue()}` }),
            shouldRetry: () => true,
          }),
    });
    const watched: Watched = {
      client,
      companyId,
      reconnects: 0,
      resyncPokes: 0,
      renewals: 0,
      renewalFailures: 0,
      arrivals: new Map(),
      live: client.liveQuery({
        query: OrdersDocument,
        variables: { companyId },
        pokes: OrdersChangedDocument,
        pokeVariables: { companyId },
        isFresh: (poke) => {
          const orderId = poke.ordersChanged.orderId;
          if (orderId === null) watched.resyncPokes++;
          else if (!watched.arrivals.has(orderId)) watched.arrivals.set(orderId, performance.now());
          return false;
        },
        onData: (_data, update) => {
          if (update.reason === 'reconnected') watched.reconnects++;
        },
      }),
    };
    return watched;
  }
}

/** Samples the server's CPU every second; `stop` resolves with the busiest second's, in cores. */
function sampleCpu(on: ServiceProcess): { stop(): Promise<number> } {
  let peak = 0;
  const stopped = new AbortController();
  const sampling = (async () => {
    let last = await metric(on.httpUrl, 'process_cpu_seconds_total');
    let at = performance.now();
    while (!stopped.signal.aborted) {
      await new Promise((resolve) => setTimeout(resolve, 1_000));
      const now = await metric(on.httpUrl, 'process_cpu_seconds_total');
      const time = performance.now();
      peak = Math.max(peak, (now - last) / ((time - at) / 1_000));
      last = now;
      at = time;
    }
  })();
  return {
    async stop() {
      stopped.abort();
      await sampling;
      return peak;
    },
  };
}

/** Places orders at `perSec`, company after company, for `seconds`; the write's send time by order. */
async function writeFor(
  on: ServiceProcess,
  companies: number,
  seconds: number,
  perSec: number,
): Promise<{ companyId: string; orderId: string; sentAt: number }[]> {
  const writes: { companyId: string; orderId: string; sentAt: number }[] = [];
  const tokens = new Map<string, string>();
  const end = performance.now() + seconds * 1_000;
  const pending: Promise<void>[] = [];
  for (let n = 0; performance.now() < end; n++) {
    const companyId = `r${n % companies}`;
    let jwt = tokens.get(companyId);
    if (jwt === undefined) {
      jwt = await signToken({ sub: 'bench-writer', companies: [companyId] }, devAuthSecret);
      tokens.set(companyId, jwt);
    }
    const sentAt = performance.now();
    pending.push(
      placeOrder(on.httpUrl, jwt, companyId).then(
        (orderId) => void writes.push({ companyId, orderId, sentAt }),
        () => undefined,
      ),
    );
    const next = sentAt + 1_000 / perSec;
    await new Promise((resolve) => setTimeout(resolve, Math.max(0, next - performance.now())));
  }
  await Promise.all(pending);
  return writes;
}

function report(results: readonly RunResult[], tokenSec: number): boolean {
  const byMode = (mode: Mode): RunResult | undefined => results.find((r) => r.mode === mode);
  const fixed = (value: number, digits = 1): string => (Number.isFinite(value) ? value.toFixed(digits) : '–');
  printTable(
    'Renewing in place vs reconnecting at expiry',
    [
      'run',
      'seconds',
      'reconnects',
      'resync pokes',
      'refetches (by reconnects)',
      'renewals (failed)',
      'gap resyncs',
      'server CPU, cores (busiest second)',
      'PostgreSQL CPU, cores',
      'pokes (lost)',
      'poke p50 / p99 ms',
    ],
    results.map((r) => [
      r.mode === 'baseline' ? `baseline (tokens outlive the run)` : `${r.mode} (${tokenSec} s tokens)`,
      fixed(r.seconds, 0),
      String(r.reconnects),
      String(r.resyncPokes),
      `${r.refetches} (${r.reconnectRefetches})`,
      `${r.renewals} (${r.renewalFailures})`,
      String(r.gapResyncs),
      `${fixed(r.serverCores, 3)} (${fixed(r.peakCores, 2)})`,
      fixed(r.postgresCores, 3),
      `${r.pokes} (${r.lostPokes})`,
      `${fixed(r.p50Ms)} / ${fixed(r.p99Ms)}`,
    ]),
  );
  const baseline = byMode('baseline');
  const renew = byMode('renew');
  const reconnect = byMode('reconnect');
  if (baseline === undefined || renew === undefined || reconnect === undefined) return false;
  const ratio = renew.serverCores / reconnect.serverCores;
  const net = (renew.serverCores - baseline.serverCores) / (reconnect.serverCores - baseline.serverCores);
  const peak = renew.peakCores / reconnect.peakCores;
  const withDatabase =
    (renew.serverCores + renew.postgresCores) / (reconnect.serverCores + reconnect.postgresCores);
  const met = renew.reconnects === 0 && renew.resyncPokes === 0 && ratio <= 0.2;
  console.log(
    `server CPU, renew / reconnect: ${fixed(ratio, 2)}× (above the baseline: ${fixed(net, 2)}×; ` +
      `busiest second: ${fixed(peak, 2)}×; with PostgreSQL: ${fixed(withDatabase, 2)}×); ` +
      `target: 0 reconnects, 0 resyncs and ≤ 0.2× — ${met ? 'met' : 'NOT met'}\n`,
  );
  return renew.renewalFailures === 0;
}
