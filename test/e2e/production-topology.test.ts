// The repository's own deploy/ files, run for real: HAProxy in front of two
// replicas (processes), and Prometheus scraping both with every expression of
// the Grafana dashboard evaluated. Only addresses are changed in the configs.
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ordersFresh } from '../../src/service/demo/freshness.js';
import { createLiveClient, type LiveClient } from 'pokegate/client';
import { amqpUrl, openAdmin, uniqueName, projectorQueues } from '../utils/amqp.js';
import { query, secret, token } from '../utils/graphql-client.js';
import { haproxyConfig } from '../utils/haproxy.js';
import { freePort, runProcess, type ChildProcessHandle } from '../utils/process.js';
import { createDatabase, killAll, metric, startService, type ServiceProcess } from '../utils/service.js';
import { watchOrders, type WatchedOrders } from '../utils/live-orders.js';
import { waitFor } from '../utils/wait-for.js';
import WebSocket from 'ws';

const repository = new URL('../../', import.meta.url);
const companyId = 'c1';
/** Companies whose clients name their tenant: the proxy hashes them onto the replicas. */
const tenants = ['t1', 't2', 't3', 't4', 't5', 't6'];
/** Clients per tenant: together on one replica, or the hint did not work. */
const clientsPerTenant = 3;

function prometheusConfig(source: string, targets: readonly string[]): string {
  const config = source.replace(
    /dns_sd_configs:\n(?: {6,}.*\n)+/,
    `static_configs:\n      - targets: [${targets.map((target) => `'${target}'`).join(', ')}]\n`,
  );
  expect(config).toContain('static_configs');
  return config;
}

/** Every `expr` of the dashboard, with Grafana's `$__rate_interval` given a value. */
async function dashboardExpressions(): Promise<string[]> {
  const dashboard = await readFile(new URL('deploy/grafana/dashboards/pokegate.json', repository), 'utf8');
  const expressions: string[] = [];
  JSON.parse(dashboard, (key, value: unknown) => {
    if (key === 'expr' && typeof value === 'string')
      expressions.push(value.replaceAll('$__rate_interval', '1m'));
    return value;
  });
  return expressions;
}

describe('the production topology: HAProxy, two replicas, Prometheus', () => {
  const exchange = uniqueName('pokegate.e2e.topology');
  let database: Awaited<ReturnType<typeof createDatabase>> | undefined;
  const replicas: ServiceProcess[] = [];
  let proxy: ChildProcessHandle | undefined;
  let prometheus: ChildProcessHandle | undefined;
  let proxyUrl: string;
  let prometheusUrl: string;
  let directory: string;
  let jwt: string;
  const clients: LiveClient[] = [];
  const sse = new AbortController();

  beforeAll(async () => {
    directory = await mkdtemp(join(tmpdir(), 'pokegate-topology-'));
    database = await createDatabase();
    const env = {
      AMQP_URL: amqpUrl,
      DATABASE_URL: database.url,
      EXCHANGE: exchange,
      NODE_ENV: 'production',
      AUTH_SECRET: secret,
      METRICS_PORT: '0',
    };
    // One after the other: two first starts at once race on the owner ledger's CREATE TABLE IF NOT EXISTS.
    replicas.push(await startService(env));
    replicas.push(await startService(env));
    const proxyPort = await freePort();
    proxyUrl = `http://127.0.0.1:${proxyPort}`;
    const haproxyFile = join(directory, 'haproxy.cfg');
    await writeFile(
      haproxyFile,
      await haproxyConfig(
        proxyPort,
        replicas.map((r) => r.port),
      ),
    );
    proxy = runProcess('haproxy', ['-db', '-f', haproxyFile]);

    const prometheusPort = await freePort();
    prometheusUrl = `http://127.0.0.1:${prometheusPort}`;
    const prometheusFile = join(directory, 'prometheus.yml');
    const prometheusSource = await readFile(new URL('deploy/prometheus/prometheus.yml', repository), 'utf8');
    const targets = replicas.map((replica) => new URL(replica.metricsUrl ?? 'http://missing').host);
    await writeFile(prometheusFile, prometheusConfig(prometheusSource, targets));
    prometheus = runProcess('prometheus', [
      `--config.file=${prometheusFile}`,
      `--storage.tsdb.path=${join(directory, 'data')}`,
      `--web.listen-address=127.0.0.1:${prometheusPort}`,
    ]);
    jwt = await token({ companies: [companyId, ...tenants] });
    await waitFor('HAProxy to forward to a ready replica', async () => {
      const response = await fetch(`${proxyUrl}/readyz`).catch(() => undefined);
      return response?.status === 200;
    });
    await waitFor('Prometheus to be ready', async () => {
      const response = await fetch(`${prometheusUrl}/-/ready`).catch(() => undefined);
      return response?.status === 200;
    });
  }, 60_000);

  afterAll(async () => {
    sse.abort();
    await Promise.all(clients.map((client) => client.dispose()));
    await proxy?.stop();
    await prometheus?.stop();
    await Promise.all(replicas.map((replica) => replica.stop()));
    killAll();
    const admin = await openAdmin();
    await admin.deleteQueues(projectorQueues(`${exchange}.orders-projector`));
    await admin.deleteExchange(exchange);
    await admin.close();
    await database?.drop();
    await rm(directory, { recursive: true, force: true });
  }, 60_000);

  /** A live query of `company` through the proxy (hashed by it with `tenant`), with the reason of every update. */
  function liveThroughProxy(company = companyId, tenant?: string) {
    const client = createLiveClient({
      url: `${proxyUrl.replace('http', 'ws')}/graphql`,
      ...(tenant === undefined ? {} : { tenant }),
      connectionParams: { authorization: `Bearer ${jwt}` },
      webSocketImpl: WebSocket,
      retry: { minDelayMs: 50, maxDelayMs: 500 },
    });
    clients.push(client);
    return watchOrders(client, company, { isFresh: ordersFresh });
  }

  async function placeOrder(company = companyId): Promise<string> {
    const { status, body } = await query<{ placeOrder: { orderId: string } }>(
      proxyUrl,
      jwt,
      `mutation { placeOrder(companyId: "${company}", total: 1) { orderId } }`,
    );
    expect(status).toBe(200);
    return body.data?.placeOrder.orderId ?? '';
  }

  const views: WatchedOrders[] = [];
  /** The tenant-hinted live queries, by tenant, and the replica (index) each tenant landed on. */
  const tenantViews = new Map<string, WatchedOrders[]>();
  const tenantReplica = new Map<string, number>();

  const receiversByReplica = (): Promise<number[]> =>
    Promise.all(replicas.map((replica) => metric(replica.metricsUrl ?? '', 'pokegate_receivers')));

  it('serves HTTP, SSE and WebSocket through the proxy, and not /metrics', async () => {
    expect((await fetch(`${proxyUrl}/metrics`)).status).toBe(404);
    for (const replica of replicas) expect((await fetch(`${replica.metricsUrl}/metrics`)).status).toBe(200);

    views.push(liveThroughProxy(), liveThroughProxy());
    await waitFor('both live queries', () => views.every((view) => view.live.status === 'live'));
    const stream = await fetch(
      `${proxyUrl}/graphql?query=${encodeURIComponent(`subscription { ordersChanged(companyId: "${companyId}") { orderId } }`)}`,
      { headers: { accept: 'text/event-stream', authorization: `Bearer ${jwt}` }, signal: sse.signal },
    );
    expect(stream.status).toBe(200);
    let events = '';
    const reader = (stream.body as ReadableStream<Uint8Array>).getReader();
    const decoder = new TextDecoder();
    void (async () => {
      for (;;) {
        const chunk = await reader.read().catch(() => ({ done: true as const, value: undefined }));
        if (chunk.done) return;
        events += decoder.decode(chunk.value, { stream: true });
      }
    })();
    // The SSE subscription is open once its replica counts one more receiver.
    await waitFor('the SSE receiver', async () => {
      let total = 0;
      for (const replica of replicas) total += await metric(replica.metricsUrl ?? '', 'pokegate_receivers');
      return total >= 3;
    });

    const orderId = await placeOrder();
    await waitFor('the order in both live queries', () => views.every((view) => view.shows(orderId)));
    await waitFor('the poke over SSE', () => events.includes(orderId));
  });

  it('evaluates every expression of the Grafana dashboard through Prometheus, each with data', async () => {
    const expressions = await dashboardExpressions();
    expect(expressions.length).toBeGreaterThan(10);
    const empty = async (): Promise<string[]> => {
      const missing: string[] = [];
      for (const expression of expressions) {
        const response = await fetch(`${prometheusUrl}/api/v1/query?query=${encodeURIComponent(expression)}`);
        const body = (await response.json()) as { status: string; data?: { result: unknown[] } };
        if (body.status !== 'success' || (body.data?.result.length ?? 0) === 0) missing.push(expression);
      }
      return missing;
    };
    await waitFor('data for every expression', async () => (await empty()).length === 0, {
      timeoutMs: 30_000,
    }).catch(async (error: unknown) => {
      throw new Error(`without data: ${(await empty()).join('\n')}`, { cause: error });
    });
  }, 40_000);

  it('hashes clients that name their tenant: each company’s subscribers land on one replica', async () => {
    for (const tenant of tenants) {
      const before = await receiversByReplica();
      const opened = Array.from({ length: clientsPerTenant }, () => liveThroughProxy(tenant, tenant));
      tenantViews.set(tenant, opened);
      await waitFor(`the live queries of ${tenant}`, () =>
        opened.every((view) => view.live.status === 'live'),
      );
      const added = (await receiversByReplica()).map((count, i) => count - (before[i] ?? 0));
      // All of one company's sockets on one replica, none on the other.
      expect(added.toSorted((a, b) => a - b)).toEqual([0, clientsPerTenant]);
      tenantReplica.set(
        tenant,
        added.findIndex((count) => count === clientsPerTenant),
      );
    }
    // A hint chooses where a request is cheapest, never whether it is served:
    // any replica answers a request hashed to it, whatever company it asks for.
    const { status, body } = await query<{ orders: unknown[] }>(
      `${proxyUrl}/graphql?tenant=${tenants[0] ?? ''}`,
      jwt,
      `query { orders(companyId: "${companyId}") { id } }`,
    );
    expect(status).toBe(200);
    expect(body.errors).toBeUndefined();
  });

  it('takes a stopped replica out through /readyz; its clients reconnect through the proxy to the next replica, resync and go on', async () => {
    // A replica that some tenant hashed to, so that its clients have somewhere new to go.
    const stopped = tenantReplica.get(tenants[0] ?? '') ?? -1;
    expect(stopped).toBeGreaterThanOrEqual(0);
    const moved = tenants.filter((tenant) => tenantReplica.get(tenant) === stopped);
    const movedViews = moved.flatMap((tenant) => tenantViews.get(tenant) ?? []);
    const updatesBefore = new Map(movedViews.map((view) => [view, view.updates.length]));
    expect((await replicas[stopped]?.stop())?.code).toBe(0);

    await waitFor('HAProxy to take the replica out', () =>
      proxy?.lines.some((line) => line.includes(`pokegate-${stopped + 1} is DOWN`)),
    );
    await waitFor('both live queries live again', () => views.every((view) => view.live.status === 'live'));
    // The stopped replica's tenants hash to the next replica on the ring: each of
    // their clients reconnects there and refetches. The new replica binds the
    // company before it counts the subscription and, the binding being new, sends
    // a resync poke: the client's refetch after reconnecting may be folded into the
    // one that poke asks for, so either reason shows the refetch.
    await waitFor('every moved client to reconnect and refetch', () =>
      movedViews.every(
        (view) =>
          view.live.status === 'live' &&
          view.updates
            .slice(updatesBefore.get(view) ?? 0)
            .some((update) => update.reason === 'reconnected' || update.reason === 'poke'),
      ),
    );
    const orderId = await placeOrder();
    await waitFor('the next order in both live queries', () => views.every((view) => view.shows(orderId)));
    expect(views.every((view) => view.updates.at(-1)?.reason === 'poke')).toBe(true);
    for (const tenant of moved) {
      const tenantOrder = await placeOrder(tenant);
      await waitFor(`the next order of ${tenant} in its moved live queries`, () =>
        (tenantViews.get(tenant) ?? []).every((view) => view.shows(tenantOrder)),
      );
    }
  }, 60_000);
});
