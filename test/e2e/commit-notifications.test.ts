import pg from 'pg';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { amqpUrl, openAdmin, uniqueName, type Admin, projectorQueues } from '../utils/amqp.js';
import { databaseUrl } from '../utils/postgres.js';
import {
  createDatabase,
  killAll,
  metric,
  startService,
  subscribeOn,
  type ServiceProcess,
} from '../utils/service.js';
import { waitFor } from '../utils/wait-for.js';

// The gate checks once per event, after the commit that every replica hears
// of; polling is only the fallback while the listening connection is down.

type Database = Awaited<ReturnType<typeof createDatabase>>;

/** One deployment: a database, an exchange, its replicas, and the broker objects to delete after. */
function deployment(prefix: string) {
  const exchange = uniqueName(prefix);
  const state = { database: undefined as Database | undefined, admin: undefined as Admin | undefined };
  const replicas: ServiceProcess[] = [];
  return {
    exchange,
    replicas,
    get admin(): Admin {
      if (state.admin === undefined) throw new Error('not started');
      return state.admin;
    },
    get database(): Database {
      if (state.database === undefined) throw new Error('not started');
      return state.database;
    },
    /** Starts one replica per env, one at a time (they create the same tables on first start). */
    async start(envs: Record<string, string>[]): Promise<void> {
      state.database = await createDatabase();
      state.admin = await openAdmin();
      for (const env of envs) {
        replicas.push(
          await startService({
            AMQP_URL: amqpUrl,
            DATABASE_URL: state.database.url,
            EXCHANGE: exchange,
            ...env,
          }),
        );
      }
    },
    async stop(): Promise<void> {
      const exits = await Promise.all(replicas.map((replica) => replica.stop()));
      killAll();
      await state.admin?.deleteQueues(projectorQueues(`${exchange}.orders-projector`));
      await state.admin?.deleteExchange(exchange);
      await state.admin?.close();
      await state.database?.drop();
      for (const exit of exits) expect(exit.code).toBe(0);
    },
    /** Places a new order for `companyId`, straight onto the exchange as another service would. */
    async place(companyId: string): Promise<string> {
      const orderId = uniqueName('o');
      await this.admin.publish(
        exchange,
        'orders.placed',
        Buffer.from(
          JSON.stringify({
            eventId: uniqueName('e'),
            type: 'OrderPlaced',
            companyId,
            orderId,
            version: 1,
            occurredAt: new Date().toISOString(),
            data: { total: 5, status: 'PLACED' },
          }),
        ),
      );
      return orderId;
    },
  };
}

async function subscribe(replica: ServiceProcess, companyId: string) {
  const { client, subscription } = await subscribeOn(replica, companyId);
  return {
    subscription,
    poked: (orderId: string) =>
      waitFor(`a poke for ${orderId}`, () => subscription.pokes.some((poke) => poke.orderId === orderId), {
        timeoutMs: 20_000,
      }),
    async close() {
      subscription.dispose();
      await client.dispose();
    },
  };
}

/** The gate's checks and fallback checks so far. */
async function checks(replica: ServiceProcess): Promise<{ all: number; fallback: number }> {
  return {
    all: await metric(replica.httpUrl, 'pokegate_gate_checks_total'),
    fallback: await metric(replica.httpUrl, 'pokegate_gate_fallback_checks_total'),
  };
}

function liveLines(replica: ServiceProcess): number {
  return replica.logs.filter((log) => log['msg'] === 'notification listener live').length;
}

describe('commit notifications across two replicas, with the projection lagging 150 ms', () => {
  const app = deployment('pokegate.e2e.notify');

  beforeAll(async () => {
    // A long fallback: on a busy machine a slow commit must not pass for a missed notice.
    await app.start([
      { PROJECTION_DELAY_MS: '150', GATE_FALLBACK_MS: '30000' },
      { PROJECTOR_ENABLED: 'false', GATE_FALLBACK_MS: '30000' },
    ]);
    for (const replica of app.replicas) await waitFor('the listener', () => liveLines(replica) > 0);
  }, 120_000);
  afterAll(() => app.stop(), 60_000);

  it('checks once per event on the replica that projected and on the one that did not', async () => {
    const [projecting, other] = app.replicas as [ServiceProcess, ServiceProcess];
    const on = [await subscribe(projecting, 'c-notify'), await subscribe(other, 'c-notify')];
    const before = await Promise.all(app.replicas.map(checks));
    const events = 10;
    for (let event = 0; event < events; event++) {
      const orderId = await app.place('c-notify');
      await Promise.all(on.map((subscriber) => subscriber.poked(orderId)));
    }
    const after = await Promise.all(app.replicas.map(checks));
    const perReplica = after.map((is, index) => {
      const was = before[index] ?? is;
      return { checksPerEvent: (is.all - was.all) / events, fallbackChecks: is.fallback - was.fallback };
    });
    expect(perReplica).toEqual([
      { checksPerEvent: 1, fallbackChecks: 0 },
      { checksPerEvent: 1, fallbackChecks: 0 },
    ]);
    const projectsNothing = (replica: ServiceProcess) =>
      replica.logs.some((log) => String(log['msg']).startsWith('PROJECTOR_ENABLED is false'));
    expect(app.replicas.map(projectsNothing)).toEqual([false, true]);
    for (const subscriber of on) await subscriber.close();
  }, 120_000);
});

describe('the listening connection terminated', () => {
  const app = deployment('pokegate.e2e.listener');

  beforeAll(async () => {
    // While the listener is down the gate polls (10 ms, then backoff) whatever the fallback; while
    // it is live, a long fallback means a slow commit on a busy machine never passes for a missed notice.
    await app.start([{ PROJECTION_DELAY_MS: '150', GATE_FALLBACK_MS: '30000' }]);
    await waitFor('the listener', () => liveLines(app.replicas[0] as ServiceProcess) > 0);
  }, 120_000);
  afterAll(() => app.stop(), 60_000);

  it('pokes through the fallback while it is down, then hears commits again and stops polling', async () => {
    const [replica] = app.replicas as [ServiceProcess];
    const subscriber = await subscribe(replica, 'c-listener');
    const admin = new pg.Client({ connectionString: databaseUrl });
    await admin.connect();
    const name = new URL(app.database.url).pathname.slice(1);
    /** Every listener backend ever terminated: one that lingers in `pg_stat_activity` is not live. */
    const terminated: number[] = [];
    const terminate = async (): Promise<number> => {
      const { rows } = await admin.query<{ pid: number }>(
        `SELECT pid, pg_terminate_backend(pid) FROM pg_stat_activity
         WHERE datname = $1 AND application_name = 'pokegate listener'`,
        [name],
      );
      terminated.push(...rows.map((row) => row.pid));
      return rows.length;
    };
    try {
      expect(await terminate()).toBe(1);
      await waitFor('the loss to be logged', () =>
        replica.logs.some((log) => log['msg'] === 'notification listener lost its connection'),
      );
      // Keep it down: every reconnection is terminated as soon as it shows up.
      const release = new AbortController();
      const holdingDown = (async () => {
        while (!release.signal.aborted) {
          await terminate();
          await new Promise((resolve) => setTimeout(resolve, 10));
        }
      })();
      const whileDown = await checks(replica);
      for (let event = 0; event < 5; event++) await subscriber.poked(await app.place('c-listener'));
      release.abort();
      await holdingDown;
      expect((await checks(replica)).fallback).toBeGreaterThan(whileDown.fallback);

      // Live again: a connection that was never terminated listens, and the service says so. (Not
      // "started after the last termination": a backend still authenticating has no application
      // name yet, escapes the termination, and may have started before it.)
      await waitFor(
        'the listener to be live again',
        async () => {
          const listening = await admin.query(
            `SELECT 1 FROM pg_stat_activity WHERE datname = $1 AND application_name = 'pokegate listener'
             AND pid <> ALL($2::int[]) AND query LIKE 'LISTEN %'`,
            [name, terminated],
          );
          const lifecycle = replica.logs.filter((log) =>
            ['notification listener live', 'notification listener lost its connection'].includes(
              log['msg'] as string,
            ),
          );
          return listening.rows.length === 1 && lifecycle.at(-1)?.['msg'] === 'notification listener live';
        },
        { timeoutMs: 20_000 },
      );
      const live = await checks(replica);
      const events = 5;
      for (let event = 0; event < events; event++) await subscriber.poked(await app.place('c-listener'));
      const after = await checks(replica);
      expect(after.fallback).toBe(live.fallback);
      expect(after.all - live.all).toBe(events);
    } finally {
      await admin.end();
      await subscriber.close();
    }
  }, 120_000);
});
