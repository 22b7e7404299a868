// R replicas of the reference service, each a process of its own on one broker
// virtual host and one database, behind the production HAProxy config; and one
// more replica beside them that serves nobody (its projector off, not behind
// the proxy), whose cost is what a replica without subscribers pays.
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { haproxyConfig } from '../../test/utils/haproxy.js';
import { freePort, runProcess, type ChildProcessHandle } from '../../test/utils/process.js';
import { spawnChild, type Child } from '../compare/ipc.js';
import type { ServerStats } from '../compare/workload.js';

export interface Replica {
  readonly child: Child;
  stats(): Promise<ServerStats>;
}

export interface Fleet {
  readonly replicas: readonly Replica[];
  /** The load balancer's GraphQL endpoint, over HTTP and WebSocket. */
  readonly httpUrl: string;
  readonly wsUrl: string;
  /** Stops the proxy and the replicas. Never throws. */
  stop(): Promise<void>;
}

const serverFile = new URL('../compare/server-pokegate.ts', import.meta.url).pathname;

/** One replica, as the side-by-side benchmark's C runs (and as `npm start` and the image do). */
export async function startReplica(
  env: Readonly<Record<string, string>>,
  nodeFlags: readonly string[] = [],
): Promise<Replica> {
  const child = await spawnChild(serverFile, {
    env: { ...env },
    nodeFlags: ['--max-semi-space-size=16', ...nodeFlags],
  });
  return { child, stats: () => child.request<ServerStats>({ type: 'stats' }) };
}

/** `nodeFlags`: extra flags for every replica's process, e.g. `--cpu-prof`. */
export async function startFleet(
  count: number,
  env: Readonly<Record<string, string>>,
  nodeFlags: readonly string[] = [],
): Promise<Fleet> {
  const replicas: Replica[] = [];
  let proxy: ChildProcessHandle | undefined;
  const directory = await mkdtemp(join(tmpdir(), 'pokegate-scale-out-'));
  const stop = async (): Promise<void> => {
    await proxy?.stop();
    await Promise.all(replicas.map((replica) => replica.child.stop().catch(() => undefined)));
    await rm(directory, { recursive: true, force: true });
  };
  try {
    // Two at a time: the machine has two cores, and each start compiles the service.
    for (let i = 0; i < count; i += 2) {
      replicas.push(
        ...(await Promise.all(
          Array.from({ length: Math.min(2, count - i) }, () => startReplica(env, nodeFlags)),
        )),
      );
    }
    const proxyPort = await freePort();
    const file = join(directory, 'haproxy.cfg');
    await writeFile(
      file,
      await haproxyConfig(
        proxyPort,
        replicas.map((replica) => replica.child.ready['port'] as number),
      ),
    );
    proxy = runProcess('haproxy', ['-db', '-f', file]);
    const httpUrl = `http://127.0.0.1:${proxyPort}/graphql`;
    for (let i = 0; ; i++) {
      const response = await fetch(`http://127.0.0.1:${proxyPort}/readyz`).catch(() => undefined);
      if (response?.status === 200) break;
      if (i === 300)
        throw new Error(`HAProxy did not forward to a ready replica:\n${proxy.lines.join('\n')}`);
      await new Promise((resolve) => setTimeout(resolve, 100));
    }
    return { replicas, httpUrl, wsUrl: httpUrl.replace('http', 'ws'), stop };
  } catch (error) {
    await stop();
    throw error;
  }
}
