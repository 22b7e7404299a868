import { spawn, type ChildProcess } from 'node:child_process';
import { randomUUID } from 'node:crypto';
import pg from 'pg';
import { collectPokes, token, wsClient } from './graphql-client.js';
import { databaseUrl } from './postgres.js';
import { waitFor } from './wait-for.js';

export interface ServiceProcess {
  readonly port: number;
  readonly httpUrl: string;
  readonly wsUrl: string;
  /** `http://127.0.0.1:<METRICS_PORT>` when the service has a metrics port of its own. */
  readonly metricsUrl: string | undefined;
  /** Every log line so far, parsed. */
  readonly logs: readonly Record<string, unknown>[];
  /** Lines that were not JSON logs (a crash's stack trace, a warning of node's). */
  readonly stray: readonly string[];
  /** Sends the signal and resolves with how the process ended. */
  stop(signal?: NodeJS.Signals): Promise<{ code: number | null; signal: NodeJS.Signals | null }>;
}

const running = new Set<ChildProcess>();
// A test file whose cleanup never ran (a failed beforeAll) leaves no service
// behind when its worker exits: an orphan would go on declaring its queues.
process.once('exit', () => {
  killAll();
});

export interface StartServiceOptions {
  /** @default 60000 */
  readonly timeoutMs?: number;
  /** Node's arguments. @default the sources, as `npm start` runs them */
  readonly args?: readonly string[];
  /** @default the repository */
  readonly cwd?: string;
}

/**
 * Starts the reference service the way `npm start` does, on a free port, and
 * resolves once it logs that it listens.
 */
export async function startService(
  env: Record<string, string>,
  options: StartServiceOptions = {},
): Promise<ServiceProcess> {
  const {
    timeoutMs = 60_000,
    args = [
      '--conditions=pokegate-source',
      '--max-semi-space-size=16',
      '--import',
      'tsx',
      'src/service/main.ts',
    ],
    cwd,
  } = options;
  const child = spawn(process.execPath, [...args], {
    env: { ...process.env, PORT: '0', LOG_LEVEL: 'info', ...env },
    stdio: ['ignore', 'pipe', 'pipe'],
    cwd,
  });
  running.add(child);
  const logs: Record<string, unknown>[] = [];
  const stray: string[] = [];
  const exited = new Promise<{ code: number | null; signal: NodeJS.Signals | null }>((resolve) =>
    child.once('exit', (code, signal) => {
      running.delete(child);
      resolve({ code, signal });
    }),
  );
  let onLine: ((log: Record<string, unknown>) => void) | undefined;
  const read = (chunk: Buffer, buffer: { rest: string }): void => {
    const lines = (buffer.rest + chunk.toString('utf8')).split('\n');
    buffer.rest = lines.pop() ?? '';
    for (const line of lines) {
      if (line.trim() === '') continue;
      try {
        const log = JSON.parse(line) as Record<string, unknown>;
        logs.push(log);
        onLine?.(log);
      } catch {
        stray.push(line);
      }
    }
  };
  const out = { rest: '' };
  const err = { rest: '' };
  child.stdout.on('data', (chunk: Buffer) => read(chunk, out));
  child.stderr.on('data', (chunk: Buffer) => read(chunk, err));

  let metricsPort: unknown;
  const port = await new Promise<number>((resolve, reject) => {
    const timer = setTimeout(
      () => reject(new Error(`service did not start within ${timeoutMs} ms:\n${stray.join('\n')}`)),
      timeoutMs,
    );
    onLine = (log) => {
      if (log['msg'] === 'pokegate listening') {
        clearTimeout(timer);
        metricsPort = log['metricsPort'];
        resolve(log['port'] as number);
      }
    };
    void exited.then(({ code }) => {
      clearTimeout(timer);
      reject(new Error(`service exited with ${code} before listening:\n${stray.join('\n')}`));
    });
  });
  return {
    port,
    httpUrl: `http://127.0.0.1:${port}`,
    wsUrl: `ws://127.0.0.1:${port}/graphql`,
    metricsUrl: typeof metricsPort === 'number' ? `http://127.0.0.1:${metricsPort}` : undefined,
    logs,
    stray,
    stop(signal = 'SIGTERM') {
      if (child.exitCode === null && child.signalCode === null) child.kill(signal);
      return exited;
    },
  };
}

/** Kills whatever a failed test left running. */
export function killAll(): void {
  for (const child of running) child.kill('SIGKILL');
}

/** A database of its own for one test file, so files run side by side; drop it when done. */
export async function createDatabase(): Promise<{ url: string; drop(): Promise<void> }> {
  const name = `pokegate_e2e_${randomUUID().replaceAll('-', '').slice(0, 12)}`;
  const admin = new pg.Client({ connectionString: databaseUrl });
  await admin.connect();
  try {
    await admin.query(`CREATE DATABASE ${name}`);
  } finally {
    await admin.end();
  }
  const url = new URL(databaseUrl);
  url.pathname = `/${name}`;
  return {
    url: url.toString(),
    async drop() {
      const client = new pg.Client({ connectionString: databaseUrl });
      await client.connect();
      try {
        await client.query(`DROP DATABASE IF EXISTS ${name} WITH (FORCE)`);
      } finally {
        await client.end();
      }
    },
  };
}

/** A metric's value from `/metrics` (the sum over series matching `labels`). */
export async function metric(
  httpUrl: string,
  name: string,
  labels: Record<string, string> = {},
): Promise<number> {
  const text = await (await fetch(`${httpUrl}/metrics`)).text();
  let sum = 0;
  for (const line of text.split('\n')) {
    if (!line.startsWith(name)) continue;
    const match = /^([a-z_]+)(?:\{(.*)\})? (.+)$/.exec(line);
    if (match?.[1] !== name) continue;
    const series = match[2] ?? '';
    if (Object.entries(labels).every(([key, value]) => series.includes(`${key}="${value}"`)))
      sum += Number(match[3]);
  }
  return sum;
}

/** Subscribes to `companyId`'s pokes on `replica`; resolves once the service counts the new receiver. */
export async function subscribeOn(replica: ServiceProcess, companyId: string) {
  const before = await metric(replica.httpUrl, 'pokegate_receivers');
  const client = wsClient(replica.wsUrl, await token({ companies: [companyId] }));
  const subscription = collectPokes(client, companyId);
  await waitFor(
    'the subscription to be open',
    async () => (await metric(replica.httpUrl, 'pokegate_receivers')) > before,
  );
  return { client, subscription };
}
