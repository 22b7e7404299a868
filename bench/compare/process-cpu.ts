// CPU spent outside Node: PostgreSQL's processes and RabbitMQ's Erlang VM,
// read from /proc around a scenario (the benchmark runs alone on the machine).
import { execFile } from 'node:child_process';
import { readdir, readFile } from 'node:fs/promises';
import { promisify } from 'node:util';

/** CPU of the processes by name, µs, since each started. */
export interface ExternalCpu {
  readonly postgresUs: number;
  readonly rabbitmqUs: number;
}

let ticksPerSecond: number | undefined;

async function clockTicks(): Promise<number> {
  if (ticksPerSecond === undefined) {
    const { stdout } = await promisify(execFile)('getconf', ['CLK_TCK']);
    ticksPerSecond = Number(stdout.trim()) || 100;
  }
  return ticksPerSecond;
}

/**
 * Sums utime + stime of every `postgres` and `beam.smp` process, plus the
 * reaped children's (cutime + cstime): a PostgreSQL backend that exits during
 * the scenario still counts, in its postmaster.
 */
export async function externalCpu(): Promise<ExternalCpu> {
  const usPerTick = 1e6 / (await clockTicks());
  let postgres = 0;
  let rabbitmq = 0;
  for (const entry of await readdir('/proc')) {
    if (!/^\d+$/.test(entry)) continue;
    let stat: string;
    try {
      stat = await readFile(`/proc/${entry}/stat`, 'utf8');
    } catch {
      continue; // exited meanwhile
    }
    // `pid (comm) state …`: comm may hold spaces, so fields count from its closing parenthesis.
    const close = stat.lastIndexOf(')');
    const name = stat.slice(stat.indexOf('(') + 1, close);
    if (name !== 'postgres' && name !== 'beam.smp') continue;
    const fields = stat.slice(close + 2).split(' ');
    // Fields 14–17 of proc(5) (utime, stime, cutime, cstime), counted from `state` (field 3).
    const ticks = [11, 12, 13, 14].reduce((sum, i) => sum + Number(fields[i] ?? 0), 0);
    if (name === 'postgres') postgres += ticks;
    else rabbitmq += ticks;
  }
  return { postgresUs: postgres * usPerTick, rabbitmqUs: rabbitmq * usPerTick };
}

/**
 * PostgreSQL's and RabbitMQ's CPU around `work`, less their background: what
 * they spent over an idle window of `idleMs` just before, scaled to the
 * work's duration. On a machine shared with other users of the same broker
 * and database, the gross figure is mostly theirs.
 */
export async function externalCpuOf<T>(
  idleMs: number,
  work: () => Promise<T>,
): Promise<{ result: T; net: ExternalCpu; background: ExternalCpu; durationMs: number }> {
  const idleStart = await externalCpu();
  const idleFrom = performance.now();
  await new Promise((resolve) => setTimeout(resolve, idleMs));
  const start = await externalCpu();
  const from = performance.now();
  const idleSpan = from - idleFrom;
  const result = await work();
  const end = await externalCpu();
  const durationMs = performance.now() - from;
  const scale = durationMs / idleSpan;
  const background = {
    postgresUs: (start.postgresUs - idleStart.postgresUs) * scale,
    rabbitmqUs: (start.rabbitmqUs - idleStart.rabbitmqUs) * scale,
  };
  return {
    result,
    background,
    durationMs,
    net: {
      postgresUs: end.postgresUs - start.postgresUs - background.postgresUs,
      rabbitmqUs: end.rabbitmqUs - start.rabbitmqUs - background.rabbitmqUs,
    },
  };
}
