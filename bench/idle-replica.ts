// What a replica with no subscriber pays for the events of others
// (`npm run bench -- --only=idle-replica`): two replicas of the reference
// service on one exchange and database, the first projecting, the second
// (measured) with its projector off and no subscriber; 1,000 events/s
// published persistent and confirmed, uniform over 5,000 companies, for 20 s.
// The second replica's CPU (utime + stime from /proc) with INTEREST_ROUTING=all
// (every replica takes every event, as before) and with the default, `tenant`
// (INTEREST_LINGER_MS=1000, measured 2 s after the start: past the linger of
// a replica that serves nobody, whose notice listener has then closed).
import { spawn, type ChildProcess } from 'node:child_process';
import { randomUUID } from 'node:crypto';
import { readFile } from 'node:fs/promises';
import { connect } from 'amqplib';
import pg from 'pg';
import { defaultRetryDelaysMs } from 'pokegate';
import { retryQueueName } from 'pokegate/amqp';
import { commitChannel, decodeCommitNotice } from '../src/service/orders/commit-notice.js';
import { orderRoutingKey, type OrderEvent } from '../src/service/orders/events.js';
import { printTable } from './table.js';

const amqpUrl = process.env['AMQP_URL'] ?? 'amqp://guest:guest@127.0.0.1:5672';
const databaseUrl = process.env['DATABASE_URL'] ?? 'postgres://postgres@127.0.0.1:5432/test';
const rate = 1_000;
const seconds = 20;
const companies = 5_000;

interface Replica {
  readonly child: ChildProcess;
  readonly port: number;
}

function startReplica(env: Record<string, string>): Promise<Replica> {
  const child = spawn(
    process.execPath,
    ['--conditions=pokegate-source', '--import', 'tsx', 'src/service/main.ts'],
    { env: { ...process.env, PORT: '0', LOG_LEVEL: 'info', ...env }, stdio: ['ignore', 'pipe', 'inherit'] },
  );
  return new Promise((resolve, reject) => {
    let rest = '';
    child.stdout.on('data', (chunk: Buffer) => {
      const lines = (rest + chunk.toString('utf8')).split('\n');
      rest = lines.pop() ?? '';
      for (const line of lines) {
        if (!line.includes('pokegate listening')) continue;
        resolve({ child, port: (JSON.parse(line) as { port: number }).port });
      }
    });
    child.once('exit', (code) => reject(new Error(`the replica exited with ${code} before listening`)));
  });
}

async function stop(replica: Replica): Promise<void> {
  const exited = new Promise((resolve) => replica.child.once('exit', resolve));
  replica.child.kill('SIGTERM');
  await exited;
}

async function cpuUs(pid: number): Promise<number> {
  const stat = await readFile(`/proc/${pid}/stat`, 'utf8');
  const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
  return (Number(fields[11]) + Number(fields[12])) * 10_000; // USER_HZ is 100
}

async function received(replica: Replica): Promise<number> {
  const text = await (await fetch(`http://127.0.0.1:${replica.port}/metrics`)).text();
  let sum = 0;
  for (const line of text.split('\n'))
    if (line.startsWith('pokegate_events_total{')) sum += Number(line.split(' ')[1]);
  return sum;
}

async function measure(
  routing: 'all' | 'tenant',
  eventsPerSecond: number,
): Promise<{ cpuPercent: number; receivedPerSecond: number; noticesPerSecond: number }> {
  const exchange = `pokegate.bench.idle.${randomUUID().slice(0, 8)}`;
  const name = `pokegate_bench_${randomUUID().replaceAll('-', '').slice(0, 12)}`;
  const admin = new pg.Client({ connectionString: databaseUrl });
  await admin.connect();
  await admin.query(`CREATE DATABASE ${name}`);
  const url = new URL(databaseUrl);
  url.pathname = `/${name}`;
  const env = { AMQP_URL: amqpUrl, DATABASE_URL: url.toString(), EXCHANGE: exchange };
  const replicas: Replica[] = [];
  const model = await connect(amqpUrl);
  const channel = await model.createConfirmChannel();
  try {
    const projecting = await startReplica(env);
    replicas.push(projecting);
    const idle = await startReplica({
      ...env,
      PROJECTOR_ENABLED: 'false',
      INTEREST_ROUTING: routing,
      INTEREST_LINGER_MS: '1000',
    });
    replicas.push(idle);
    // What every replica's listener hears: the notices (payloads) and the commits in them.
    const listener = new pg.Client({ connectionString: url.toString() });
    await listener.connect();
    let notices = 0;
    listener.on('notification', ({ payload }) => {
      notices += decodeCommitNotice(payload ?? '') === undefined ? 0 : 1;
    });
    await listener.query(`LISTEN ${listener.escapeIdentifier(commitChannel('public'))}`);
    // Past the linger of a replica that serves nobody: its notice listener has closed (with `tenant`).
    await new Promise((resolve) => setTimeout(resolve, 2_000));
    const occurredAt = new Date().toISOString();
    const cpuBefore = await cpuUs(idle.child.pid ?? 0);
    const receivedBefore = await received(idle);
    const start = performance.now();
    const confirms: Promise<void>[] = [];
    if (eventsPerSecond === 0) await new Promise((resolve) => setTimeout(resolve, seconds * 1_000));
    for (let i = 0; i < eventsPerSecond * seconds; i++) {
      const due = start + (i * 1_000) / eventsPerSecond;
      const wait = due - performance.now();
      if (wait > 1) await new Promise((resolve) => setTimeout(resolve, wait));
      const event: OrderEvent = {
        eventId: randomUUID(),
        type: 'OrderPlaced',
        companyId: `company-${Math.floor(Math.random() * companies)}`,
        orderId: randomUUID(),
        version: 1,
        occurredAt,
        data: { total: 1, status: 'PLACED' },
      };
      confirms.push(
        new Promise((resolve, reject) => {
          channel.publish(
            exchange,
            orderRoutingKey(event),
            Buffer.from(JSON.stringify(event)),
            { persistent: true },
            (error: unknown) => {
              if (error === null || error === undefined) resolve();
              else reject(new Error('nacked'));
            },
          );
        }),
      );
    }
    await Promise.all(confirms);
    const elapsedS = (performance.now() - start) / 1_000;
    const cpu = (await cpuUs(idle.child.pid ?? 0)) - cpuBefore;
    await listener.end();
    return {
      cpuPercent: (cpu / 1e6 / elapsedS) * 100,
      receivedPerSecond: ((await received(idle)) - receivedBefore) / elapsedS,
      noticesPerSecond: notices / elapsedS,
    };
  } finally {
    for (const replica of replicas.reverse()) await stop(replica);
    const queue = `${exchange}.orders-projector`;
    const retries = [...new Set(defaultRetryDelaysMs)].map((delayMs) => retryQueueName(queue, delayMs));
    for (const name of [queue, `${queue}.dlq`, ...retries]) await channel.deleteQueue(name);
    await channel.deleteExchange(exchange);
    await model.close();
    await admin.query(`DROP DATABASE IF EXISTS ${name} WITH (FORCE)`);
    await admin.end();
  }
}

export async function benchIdleReplica(): Promise<void> {
  const rows: string[][] = [];
  const runs = [
    ['all', rate],
    ['tenant', rate],
    ['tenant', 0],
  ] as const;
  for (const [routing, eventsPerSecond] of runs) {
    const run = await measure(routing, eventsPerSecond);
    rows.push([
      routing,
      String(eventsPerSecond),
      run.receivedPerSecond.toFixed(0),
      run.noticesPerSecond.toFixed(0),
      run.cpuPercent.toFixed(2),
    ]);
  }
  printTable(
    `A replica with no subscriber, events over ${companies} companies for ${seconds} s (another replica projects)`,
    [
      'INTEREST_ROUTING',
      'events/s published',
      'events received per second',
      'commit notices heard per second',
      'CPU (% of a core)',
    ],
    rows,
  );
}
