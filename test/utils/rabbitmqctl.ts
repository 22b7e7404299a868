import { execFile } from 'node:child_process';
import { promisify } from 'node:util';
import { afterAll, beforeEach } from 'vitest';

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

export interface QueueDepth {
  /** Messages waiting in the queue for a consumer. */
  readonly ready: number;
  /** Messages delivered and not acknowledged yet. */
  readonly unacknowledged: number;
}

/** The depth of the (one) queue bound to `exchange`, from the broker's own view; undefined when none is. */
export async function boundQueueDepth(exchange: string): Promise<QueueDepth | undefined> {
  const bindings = JSON.parse(
    await rabbitmqctl('list_bindings', '-q', '--formatter', 'json', 'source_name', 'destination_name'),
  ) as { source_name: string; destination_name: string }[];
  const queue = bindings.find((binding) => binding.source_name === exchange)?.destination_name;
  if (queue === undefined) return undefined;
  const queues = JSON.parse(
    await rabbitmqctl(
      'list_queues',
      '-q',
      '--formatter',
      'json',
      'name',
      'messages_ready',
      'messages_unacknowledged',
    ),
  ) as { name: string; messages_ready: number; messages_unacknowledged: number }[];
  const row = queues.find((candidate) => candidate.name === queue);
  return row === undefined
    ? undefined
    : { ready: row.messages_ready, unacknowledged: row.messages_unacknowledged };
}

/** The declaration arguments of every queue of the default virtual host whose name starts with `prefix`. */
export async function queueArguments(prefix: string): Promise<Map<string, Record<string, unknown>>> {
  const out = await rabbitmqctl('list_queues', '-q', '--formatter', 'json', 'name', 'arguments');
  // Each argument is printed as [name, type, value].
  const rows = JSON.parse(out) as { name: string; arguments: [string, string, unknown][] }[];
  return new Map(
    rows
      .filter((row) => row.name.startsWith(prefix))
      .map((row) => [row.name, Object.fromEntries(row.arguments.map(([name, , value]) => [name, value]))]),
  );
}

/** Adds `vhost` with every permission for the test user. */
export async function addVhost(vhost: string): Promise<void> {
  await rabbitmqctl('add_vhost', vhost);
  await rabbitmqctl('set_permissions', '-p', vhost, 'guest', '.*', '.*', '.*');
}

/**
 * A virtual host of the file's own, so that closing every connection in it
 * breaks no other test: added in each test, not once for the file (a broker
 * that is down fails every test rather than skipping it), deleted after the file.
 */
export function useVhost(vhost: string): void {
  let added: Promise<void> | undefined;
  beforeEach(async () => {
    added ??= addVhost(vhost);
    await added;
  });
  afterAll(async () => {
    if (added !== undefined) await rabbitmqctl('delete_vhost', vhost);
  });
}
