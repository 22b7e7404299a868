// `npm run bench:soak -- --seconds=180`: the reference service in a process of its
// own under everything at once — subscribe/unsubscribe churn, writes that must
// each be poked, garbage frames, and abusive queries — while its RSS, event-loop
// delay and open handles are sampled from its own /metrics. Fails on a lost poke
// or a crash; prints the samples, first against last, and asserts nothing about speed.
//
// Environment: AMQP_URL and DATABASE_URL as for `npm start` (unset: in-process bus and PGlite).
import { spawn } from 'node:child_process';
import { parseArgs } from 'node:util';
import { createClient } from 'graphql-ws';
import WebSocket from 'ws';
import { signToken } from '../src/service/auth.js';
import { devAuthSecret } from '../src/service/config.js';

const { values } = parseArgs({ options: { seconds: { type: 'string', default: '180' } } });
const durationMs = Number(values.seconds) * 1_000;
if (!Number.isFinite(durationMs) || durationMs < 10_000) throw new TypeError('Expected --seconds ≥ 10');

const server = spawn(process.execPath, ['--import', 'tsx', 'src/service/main.ts'], {
  // `info`: the line that says it listens, and on which ports.
  env: { ...process.env, PORT: '0', LOG_LEVEL: 'info', METRICS_PORT: '0' },
  stdio: ['ignore', 'pipe', 'inherit'],
});
const { port, metricsPort } = await new Promise<{ port: number; metricsPort: number }>((resolve, reject) => {
  let rest = '';
  server.stdout.on('data', (chunk: Buffer) => {
    const lines = (rest + chunk.toString('utf8')).split('\n');
    rest = lines.pop() ?? '';
    for (const line of lines) {
      if (line.includes('"pokegate listening"')) resolve(JSON.parse(line) as never);
    }
  });
  server.once('exit', (code) => reject(new Error(`the service exited with ${code}`)));
});
// Its logs matter only while starting; the soak reads its metrics.
server.stdout.resume();
const httpUrl = `http://127.0.0.1:${port}`;
const wsUrl = `ws://127.0.0.1:${port}/graphql`;
const user = await signToken({ sub: 'soak-user', companies: ['c1'] }, devAuthSecret);
const abuser = await signToken({ sub: 'soak-abuser', companies: ['c9'] }, devAuthSecret);
const deadline = Date.now() + durationMs;
const running = (): boolean => Date.now() < deadline;
const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

function client(jwt: string) {
  return createClient({
    url: wsUrl,
    webSocketImpl: WebSocket,
    connectionParams: { authorization: `Bearer ${jwt}` },
    retryAttempts: 0,
  });
}

async function post(jwt: string, query: string): Promise<Response> {
  return fetch(`${httpUrl}/graphql`, {
    method: 'POST',
    headers: { 'content-type': 'application/json', authorization: `Bearer ${jwt}` },
    body: JSON.stringify({ query }),
  });
}

/** Writes one order at a time and waits for its poke: any poke that does not come is lost. */
async function writes(): Promise<{ written: number; lost: number }> {
  const seen = new Set<string>();
  const ws = client(user);
  const stop = ws.subscribe<{ ordersChanged: { orderId: string | null } }>(
    { query: 'subscription { ordersChanged(companyId: "c1") { orderId } }' },
    {
      next: (result) => {
        const id = result.data?.ordersChanged.orderId;
        if (id) seen.add(id);
      },
      error: () => undefined,
      complete: () => undefined,
    },
  );
  await sleep(500);
  let written = 0;
  let lost = 0;
  while (running()) {
    const body = (await (
      await post(user, 'mutation { placeOrder(companyId: "c1", total: 1) { orderId } }')
    ).json()) as {
      data?: { placeOrder: { orderId: string } };
    };
    const orderId = body.data?.placeOrder.orderId;
    if (orderId === undefined) continue;
    written++;
    const waitUntil = Date.now() + 10_000;
    while (!seen.has(orderId) && Date.now() < waitUntil) await sleep(5);
    if (!seen.has(orderId)) lost++;
    await sleep(100);
  }
  stop();
  await ws.dispose();
  return { written, lost };
}

async function churn(): Promise<number> {
  let rounds = 0;
  while (running()) {
    const ws = client(user);
    const stop = ws.subscribe(
      { query: 'subscription { ordersChanged(companyId: "c1") { orderId } }' },
      { next: () => undefined, error: () => undefined, complete: () => undefined },
    );
    await sleep(50);
    stop();
    await ws.dispose();
    rounds++;
  }
  return rounds;
}

async function garbage(): Promise<number> {
  let sockets = 0;
  while (running()) {
    const socket = new WebSocket(wsUrl, 'graphql-transport-ws');
    await new Promise<void>((resolve) => {
      socket.once('open', () => socket.send('{"type": nonsense'));
      socket.once('close', () => resolve());
      socket.once('error', () => resolve());
    });
    sockets++;
    await sleep(20);
  }
  return sockets;
}

async function abuse(): Promise<number> {
  const fields = Array.from({ length: 1_800 }, (_, i) => `a${i}:orders(companyId:"c9"){id}`).join(' ');
  let refused = 0;
  while (running()) {
    const response = await post(abuser, `query{${fields}}`);
    await response.text();
    refused++;
  }
  return refused;
}

interface Sample {
  readonly atSec: number;
  readonly rssMiB: number;
  readonly lagP99Ms: number;
  readonly handles: number;
}

async function sample(atSec: number): Promise<Sample> {
  const text = await (await fetch(`http://127.0.0.1:${metricsPort}/metrics`)).text();
  const value = (name: string): number =>
    Number(new RegExp(`^${name}(?:\\{[^}]*\\})? (\\S+)$`, 'm').exec(text)?.[1] ?? Number.NaN);
  return {
    atSec,
    rssMiB: Math.round(value('process_resident_memory_bytes') / 1_048_576),
    lagP99Ms: Math.round(value('nodejs_eventloop_lag_p99_seconds') * 1_000),
    handles: value('nodejs_active_handles_total'),
  };
}

const samples: Sample[] = [];
const sampler = (async () => {
  const start = Date.now();
  while (running()) {
    samples.push(await sample(Math.round((Date.now() - start) / 1_000)));
    await sleep(Math.min(10_000, durationMs / 10));
  }
})();
const [load, rounds, sockets, refused] = await Promise.all([writes(), churn(), garbage(), abuse(), sampler]);
await sleep(2_000);
samples.push(await sample(Math.round(durationMs / 1_000) + 2));
server.kill('SIGTERM');
const exit = await new Promise<number | null>((resolve) => server.once('exit', (code) => resolve(code)));

console.log(
  `soak, ${durationMs / 1_000} s: ${rounds} churn rounds, ${sockets} garbage sockets, ${refused} abusive queries`,
);
console.table(samples);
const first = samples[1] ?? samples[0];
const last = samples.at(-1);
if (first !== undefined && last !== undefined) {
  console.log(
    `after warm-up → end: RSS ${first.rssMiB} → ${last.rssMiB} MiB, event-loop p99 ${first.lagP99Ms} → ${last.lagP99Ms} ms, handles ${first.handles} → ${last.handles}`,
  );
}
console.log(`writes ${load.written}, pokes lost ${load.lost}, service exit ${exit}`);
process.exit(load.lost === 0 && load.written > 0 && exit === 0 ? 0 : 1);
