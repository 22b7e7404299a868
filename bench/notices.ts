// What a commit notice costs each replica (`npm run bench -- --only=notices`).
// Every replica LISTENs on one channel and hears every commit of every
// tenant; this measures whether that matters at 100 replicas:
// - in PostgreSQL: the CPU of the listening backends (read from /proc by their
//   pids) while one notifier sends the projector's payloads (50 commits each,
//   1,000 commits/s), with 1, 5 and 20 listeners, so the cost per listener
//   and commit can be extrapolated (100 listeners would take every connection
//   of a shared server);
// - in Node: the listener's own CPU per commit, pg's protocol and the JSON
//   decode included (`process.cpuUsage` of this process, all listeners in it);
// - the handling after the decode, in process: every commit handled as the
//   service does today (known states, gate progress, read-after wake-up),
//   against an early discard of the companies without a local receiver.
import { readFile } from 'node:fs/promises';
import pg from 'pg';
import { createGate, createRegistry } from 'pokegate';
import { commitNotices, decodeCommitNotice, type OrderCommit } from '../src/service/orders/commit-notice.js';
import { KnownStates } from '../src/service/orders/known-states.js';
import { printTable } from './table.js';

const databaseUrl = process.env['DATABASE_URL'] ?? 'postgres://postgres@127.0.0.1:5432/test';
const companies = 5_000;
const perPayload = 50;
const payloadsPerSecond = 20;
const seconds = 10;
const applicationName = 'pokegate notice bench';

/** A projector batch's notice: `perPayload` commits over random companies. */
function payload(seq: number): string {
  const commits: OrderCommit[] = Array.from({ length: perPayload }, (_, i) => ({
    companyId: `company-${Math.floor(Math.random() * companies)}`,
    orderId: `00000000-0000-4000-8000-${String(seq * perPayload + i).padStart(12, '0')}`,
    version: 1 + (i % 7),
    removed: false,
  }));
  const { notices } = commitNotices(commits);
  return `[${notices.join(',')}]`;
}

/** utime + stime of these processes, µs. */
async function cpuOf(pids: readonly number[]): Promise<number> {
  let ticks = 0;
  for (const pid of pids) {
    const stat = await readFile(`/proc/${pid}/stat`, 'utf8').catch(() => '');
    const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
    ticks += Number(fields[11] ?? 0) + Number(fields[12] ?? 0);
  }
  return ticks * 10_000; // USER_HZ is 100
}

const processCpu = (since: NodeJS.CpuUsage): number => {
  const { user, system } = process.cpuUsage(since);
  return user + system;
};

interface ListenRun {
  readonly listeners: number;
  /** PostgreSQL CPU of the listeners' backends per commit heard by one listener, µs. */
  readonly serverUs: number;
  /** This process's CPU per commit heard by one listener (pg parse, decode, handling), µs. */
  readonly clientUs: number;
  readonly heard: number;
}

async function listenRun(listeners: number, channel: string): Promise<ListenRun> {
  const clients: pg.Client[] = [];
  let heard = 0;
  try {
    for (let i = 0; i < listeners; i++) {
      const client = new pg.Client({ connectionString: databaseUrl, application_name: applicationName });
      await client.connect();
      client.on('notification', ({ payload: text }) => {
        const commits = decodeCommitNotice(text ?? '');
        heard += commits?.length ?? 0;
      });
      await client.query(`LISTEN ${client.escapeIdentifier(channel)}`);
      clients.push(client);
    }
    const notifier = new pg.Client({
      connectionString: databaseUrl,
      application_name: `${applicationName} notifier`,
    });
    await notifier.connect();
    const { rows } = await notifier.query<{ pid: number }>(
      'SELECT pid FROM pg_stat_activity WHERE application_name = $1',
      [applicationName],
    );
    const pids = rows.map((row) => row.pid);
    const payloads = Array.from({ length: payloadsPerSecond * seconds }, (_, i) => payload(i));
    const serverBefore = await cpuOf(pids);
    const clientBefore = process.cpuUsage();
    const start = performance.now();
    for (const [i, text] of payloads.entries()) {
      const due = start + (i * 1_000) / payloadsPerSecond;
      const wait = due - performance.now();
      if (wait > 0) await new Promise((resolve) => setTimeout(resolve, wait));
      await notifier.query('SELECT pg_notify($1, $2)', [channel, text]);
    }
    const expected = payloads.length * perPayload * listeners;
    const deadline = performance.now() + 30_000;
    while (heard < expected && performance.now() < deadline) await new Promise((r) => setTimeout(r, 20));
    const clientUs = processCpu(clientBefore);
    const serverUs = (await cpuOf(pids)) - serverBefore;
    await notifier.end();
    const perListenerCommit = payloads.length * perPayload * listeners;
    return {
      listeners,
      serverUs: serverUs / perListenerCommit,
      clientUs: clientUs / perListenerCommit,
      heard: heard / expected,
    };
  } finally {
    for (const client of clients) await client.end().catch(() => undefined);
  }
}

/** The handling after the decode, per commit, µs: as today, and with an early discard. */
function handlingRun(): { decodeUs: number; fullUs: number; discardUs: number } {
  const gate = createGate();
  const registry = createRegistry<{ id: string }>({ name: 'ordersChanged', gate });
  // 50 of the 5,000 companies have a subscriber on this replica (1 %).
  for (let c = 0; c < companies; c += companies / 50) registry.addReceiver(`company-${c}`);
  const known = new KnownStates(10_000);
  const waiters = new Map<string, unknown>();
  const payloads = Array.from({ length: 2_000 }, (_, i) => payload(i));
  const commitsPerRound = payloads.length * perPayload;
  const time = (handle: (commit: OrderCommit) => void): number => {
    const start = performance.now();
    for (const text of payloads) for (const commit of decodeCommitNotice(text) ?? []) handle(commit);
    return ((performance.now() - start) * 1_000) / commitsPerRound;
  };
  const rounds = { decode: [] as number[], full: [] as number[], discard: [] as number[] };
  for (let round = 0; round < 5; round++) {
    rounds.decode.push(time(() => undefined));
    rounds.full.push(
      time(({ companyId, orderId, version, removed = false }) => {
        known.remember(orderId, { version, removed });
        registry.progress(companyId, orderId, version);
        waiters.get(orderId);
      }),
    );
    rounds.discard.push(
      time(({ companyId, orderId, version, removed = false }) => {
        if (!registry.hasReceivers(companyId) && !waiters.has(orderId)) return;
        known.remember(orderId, { version, removed });
        registry.progress(companyId, orderId, version);
      }),
    );
  }
  registry.dispose();
  gate.dispose();
  const best = (values: number[]): number => Math.min(...values);
  return { decodeUs: best(rounds.decode), fullUs: best(rounds.full), discardUs: best(rounds.discard) };
}

export async function benchNotices(): Promise<void> {
  const channel = `pokegate_notice_bench_${process.pid}`;
  const runs: ListenRun[] = [];
  for (const listeners of [1, 5, 20]) runs.push(await listenRun(listeners, channel));
  printTable(
    `Commit notices: ${perPayload} commits per payload, ${payloadsPerSecond * perPayload} commits/s for ${seconds} s`,
    [
      'listeners',
      'heard',
      'PostgreSQL CPU per commit and listener (µs)',
      'listener CPU per commit (µs, pg and decode)',
    ],
    runs.map((run) => [
      String(run.listeners),
      `${(run.heard * 100).toFixed(1)} %`,
      run.serverUs.toFixed(2),
      run.clientUs.toFixed(2),
    ]),
  );
  const handling = handlingRun();
  printTable(
    'After the decode, per commit (in process, best of 5 rounds of 100,000 commits, 1 % of companies subscribed)',
    ['handling', 'µs per commit'],
    [
      ['decode only', handling.decodeUs.toFixed(3)],
      ['as today: known states, gate progress, read-after wake-up', handling.fullUs.toFixed(3)],
      ['early discard of companies without a local receiver', handling.discardUs.toFixed(3)],
    ],
  );
}
