// The three servers of the side-by-side benchmark, each in its own process,
// and what they need: a RabbitMQ virtual host and a database each for B and C,
// all removed by `dispose`.
import { randomBytes } from 'node:crypto';
import { signToken } from '../../src/service/auth.js';
import { amqpUrl, urlForVhost } from '../../test/utils/amqp.js';
import { rabbitmqctl } from '../../test/utils/rabbitmqctl.js';
import { createDatabase } from '../../test/utils/service.js';
import { spawnChild, type Child } from './ipc.js';
import type { TargetSpec } from './load-generator.js';
import type { ServerId } from './plan.js';
import type { ServerStats } from './workload.js';

export interface Server {
  readonly id: ServerId;
  readonly child: Child;
  /** How the load generator reaches it. */
  readonly target: TargetSpec;
  /** After a full collection when `gc` is set. */
  stats(gc?: boolean): Promise<ServerStats>;
  /** Starts a resync of every subscriber; resolves with its start, in epoch ms. */
  resync(): Promise<number>;
  /** Resolves once the server has nothing queued (C's queues on the broker are empty). */
  settle(): Promise<void>;
}

export interface Environment {
  readonly servers: Readonly<Record<ServerId, Server>>;
  /**
   * Starts one more process of a server (for C, a second replica on the same
   * broker and database); the caller stops it with `child.stop()`. With `env`,
   * C runs with that extra environment on a virtual host and a database of its
   * own, so no other replica shares its work.
   */
  fresh(id: ServerId, env?: Readonly<Record<string, string>>): Promise<Server>;
  /** Stops every server, then drops the databases and the virtual host. Never throws. */
  dispose(): Promise<string[]>;
}

export interface EnvironmentOptions {
  /** Extra node flags for server C (pokegate), e.g. `--cpu-prof`; not for its fresh processes. */
  readonly pokegateFlags?: readonly string[] | undefined;
}

const dir = new URL('./', import.meta.url);
const file = (name: string): string => new URL(name, dir).pathname;

/** The connection the transient consumer of the reference service holds, by the name it gives the broker. */
async function transientConsumerConnection(vhost: string): Promise<string> {
  // The table output, not JSON: only it prints the pid in the form `close_connection` takes.
  const out = await rabbitmqctl(
    'list_connections',
    '-q',
    '--no-table-headers',
    'pid',
    'vhost',
    'client_properties',
  );
  for (const line of out.split('\n')) {
    const [pid, host, properties] = line.split('\t');
    if (
      host === vhost &&
      properties?.includes('{"connection_name","pokegate transient-consumer"}') === true
    ) {
      return pid ?? '';
    }
  }
  throw new Error(`no transient-consumer connection in ${vhost}`);
}

/** Messages ready or unacknowledged in the queues of `vhost`. */
export async function queuedMessages(vhost: string): Promise<number> {
  const out = await rabbitmqctl(
    'list_queues',
    '-q',
    '--no-table-headers',
    '-p',
    vhost,
    'messages_ready',
    'messages_unacknowledged',
  );
  return out
    .split(/\s+/)
    .filter((field) => field !== '')
    .reduce((sum, field) => sum + Number(field), 0);
}

/** The time of the reference service's "resync after a gap" log line, if this line is one. */
function resyncLogTime(line: string): number | undefined {
  try {
    const log = JSON.parse(line) as { msg?: unknown; time?: unknown };
    return log.msg === 'resync after a gap in the event stream' && typeof log.time === 'number'
      ? log.time
      : undefined;
  } catch {
    return undefined; // not a log line: a warning of node's
  }
}

export async function startEnvironment(options: EnvironmentOptions = {}): Promise<Environment> {
  const undo: (() => Promise<unknown>)[] = [];
  const dispose = async (): Promise<string[]> => {
    const problems: string[] = [];
    for (const step of undo.splice(0).reverse()) {
      try {
        await step();
      } catch (error) {
        problems.push(error instanceof Error ? error.message : String(error));
      }
    }
    return problems;
  };
  try {
    const user = decodeURIComponent(new URL(amqpUrl).username || 'guest');
    /** A virtual host of C's own, deleted by `dispose`. */
    const addVhost = async (): Promise<string> => {
      const vhost = `pokegate-bench-${process.pid}-${randomBytes(3).toString('hex')}`;
      await rabbitmqctl('add_vhost', vhost);
      undo.push(() => rabbitmqctl('delete_vhost', vhost));
      await rabbitmqctl('set_permissions', '-p', vhost, user, '.*', '.*', '.*');
      return vhost;
    };
    const database = async (): Promise<string> => {
      const created = await createDatabase();
      undo.push(() => created.drop());
      return created.url;
    };
    const vhost = await addVhost();
    const url = urlForVhost(vhost);
    const databaseB = await database();
    const databaseC = await database();

    const secret = randomBytes(32).toString('hex');
    const authorization = `Bearer ${await signToken({ sub: 'bench', companies: [], admin: true, expiresInSec: 86_400 }, secret)}`;
    const exchange = 'pokegate.events';

    const specs: Record<ServerId, { file: string; env: Record<string, string>; flags: readonly string[] }> = {
      A: { file: 'server-raw.ts', env: {}, flags: [] },
      B: { file: 'server-yoga.ts', env: { DATABASE_URL: databaseB, AUTH_SECRET: secret }, flags: [] },
      C: {
        file: 'server-pokegate.ts',
        env: {
          PORT: '0',
          AMQP_URL: url,
          DATABASE_URL: databaseC,
          AUTH_SECRET: secret,
          EXCHANGE: exchange,
          LOG_LEVEL: 'info',
          // The load generator opens thousands of subscriptions with one token, where a
          // browser has a token per user: lift the per-token rate limit, keep the rest.
          RATE_LIMIT_TOKEN_PER_SEC: '1000000',
          RATE_LIMIT_TOKEN_BURST: '1000000',
        },
        // As `npm start` and the image run it.
        flags: ['--max-semi-space-size=16', ...(options.pokegateFlags ?? [])],
      },
    };

    const start = async (
      id: ServerId,
      fresh: boolean,
      extraEnv: Readonly<Record<string, string>> = {},
      ownVhost = vhost,
    ): Promise<Server> => {
      const { file: name, env, flags } = specs[id];
      // A fresh process measures memory: a small, fixed young generation keeps its
      // growth (garbage of the subscribes, collected but still committed) out of RSS.
      const nodeFlags = fresh ? ['--max-semi-space-size=1'] : flags;
      const child = await spawnChild(file(name), { env: { ...env, ...extraEnv }, nodeFlags });
      undo.push(() => child.stop());
      const port = child.ready['port'] as number;
      const stats = (gc = false): Promise<ServerStats> => child.request<ServerStats>({ type: 'stats', gc });
      if (id !== 'C') {
        return {
          id,
          child,
          target: { wsUrl: `ws://127.0.0.1:${port}/graphql`, authorization, sink: { kind: 'control', port } },
          stats,
          resync: async () => (await child.request<{ startedAt: number }>({ type: 'resync' })).startedAt,
          settle: () => Promise.resolve(),
        };
      }
      return {
        id,
        child,
        target: {
          wsUrl: `ws://127.0.0.1:${port}/graphql`,
          authorization,
          sink: { kind: 'amqp', url: urlForVhost(ownVhost), exchange },
        },
        stats,
        async settle() {
          for (let i = 0; i < 600 && (await queuedMessages(ownVhost)) > 0; i++) {
            await new Promise((resolve) => setTimeout(resolve, 200));
          }
        },
        // A gap in the event stream: the broker drops the transient consumer's
        // connection; the consumer reconnects and resyncs every receiver. The
        // start is the service's own log line of the resync.
        async resync() {
          const seen = child.lines.length;
          await rabbitmqctl(
            'close_connection',
            await transientConsumerConnection(ownVhost),
            'benchmark: resync',
          );
          for (let i = 0; i < 3_000; i++) {
            for (const line of child.lines.slice(seen)) {
              const time = resyncLogTime(line);
              if (time !== undefined) return time;
            }
            await new Promise((resolve) => setTimeout(resolve, 10));
          }
          throw new Error('pokegate did not log a resync within 30 s');
        },
      };
    };
    const servers: Record<ServerId, Server> = {
      A: await start('A', false),
      B: await start('B', false),
      C: await start('C', false),
    };
    const fresh = async (id: ServerId, env?: Readonly<Record<string, string>>): Promise<Server> => {
      if (env === undefined || id !== 'C') return start(id, true, env);
      const own = await addVhost();
      return start(id, true, { ...env, AMQP_URL: urlForVhost(own), DATABASE_URL: await database() }, own);
    };
    return { servers, fresh, dispose };
  } catch (error) {
    await dispose();
    throw error;
  }
}
