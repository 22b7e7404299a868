// What a replica with no subscriber pays for the events of others
// (`npm run bench -- --only=idle-replica`): two replicas of the reference
// service on one exchange and database, the first projecting, the second
// (measured) with its projector off and no subscriber; 1,000 events/s
// published persistent and confirmed, uniform over 5,000 companies, for 20 s.
// The second replica's CPU (utime + stime from /proc) with INTEREST_ROUTING=all
// (every replica takes every event, as before) and with the default, `tenant`.
import { spawn, type ChildProcess } from 'node:child_process';
import { randomUUID } from 'node:crypto';
import { readFile } from 'node:fs/promises';
import { connect } from 'amqplib';
import pg from 'pg';
import { defaultRetryDelaysMs } from 'pokegate';
import { retryQueueName } from 'pokegate/amqp';
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
    { env: { ...process.env, PORT: '0', LOG_LEVEL: 'warn', ...env }, stdio: ['ignore', 'pipe', 'inherit'] },
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
): Promise<{ cpuPercent: number; receivedPerSecond: number }> {
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
    const idle = await startReplica({ ...env, PROJECTOR_ENABLED: 'false', INTEREST_ROUTING: routing });
    replicas.push(idle);
    const occurredAt = new Date().toISOString();
    const cpuBefore = await cpuUs(idle.child.pid ?? 0);
    const receivedBefore = await received(idle);
    const start = performance.now();
    const confirms: Promise<void>[] = [];
    for (let i = 0; i < rate * seconds; i++) {
      const due = start + (i * 1_000) / rate;
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
    return {
      cpuPercent: (cpu / 1e6 / elapsedS) * 100,
      receivedPerSecond: ((await received(idle)) - receivedBefore) / elapsedS,
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
  for (const routing of ['all', 'tenant'] as const) {
    const run = await measure(routing);
    rows.push([routing, run.receivedPerSecond.toFixed(0), run.cpuPercent.toFixed(2)]);
  }
  printTable(
    `A replica with no subscriber, ${rate} events/s over ${companies} companies for ${seconds} s (another replica projects)`,
    ['INTEREST_ROUTING', 'events received per second', 'CPU (% of a core)'],
    rows,
  );
}
