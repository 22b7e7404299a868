import { execFile } from 'node:child_process';
import { promisify } from 'node:util';

const run = promisify(execFile);

/** Runs `rabbitmqctl` with `args` and returns what it printed. */
export async function rabbitmqctl(...args: string[]): Promise<string> {
  const { stdout } = await run('rabbitmqctl', args, { timeout: 60_000 });
  return stdout;
}

export interface ConsumerInfo {
  readonly queue_name: string;
  readonly consumer_tag: string;
}

/** The consumers of a virtual host, from the broker's own view. */
export async function listConsumers(vhost: string): Promise<ConsumerInfo[]> {
  const out = await rabbitmqctl(
    'list_consumers',
    '-q',
    '-p',
    vhost,
    '--formatter',
    'json',
    'queue_name',
    'consumer_tag',
  );
  return JSON.parse(out) as ConsumerInfo[];
}

/** The heartbeat (seconds) the broker negotiated with each connection, by connection name. */
export async function connectionHeartbeats(): Promise<Map<string, number>> {
  const out = await rabbitmqctl(
    'list_connections',
    '-q',
    '--formatter',
    'json',
    'client_properties',
    'timeout',
  );
  const rows = JSON.parse(out) as { client_properties: [string, string, unknown][]; timeout: number }[];
  const heartbeats = new Map<string, number>();
  for (const row of rows) {
    const name = row.client_properties.find(([key]) => key === 'connection_name')?.[2];
    if (typeof name === 'string') heartbeats.set(name, row.timeout);
  }
  return heartbeats;
}
