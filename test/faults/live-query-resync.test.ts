// A gap in the service's event stream (its broker connections closed) ends in
// a resync poke, which a live query refetches on even when every order it
// shows is up to date. The service's broker lives in a virtual host of its
// own, so closing its connections touches nothing else.
import { randomUUID } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ordersFresh } from '../../src/service/demo/freshness.js';
import { PlaceOrderDocument } from '../../src/service/generated/operations.js';
import { createLiveClient, type LiveClient } from 'pokegate/client';
import { uniqueName, urlForVhost } from '../utils/amqp.js';
import { token } from '../utils/graphql-client.js';
import { addVhost, rabbitmqctl } from '../utils/rabbitmqctl.js';
import { createDatabase, killAll, startService, subscribeOn, type ServiceProcess } from '../utils/service.js';
import { createSocketRecorder } from '../utils/socket-recorder.js';
import { watchOrders } from '../utils/live-orders.js';
import { waitFor } from '../utils/wait-for.js';

const vhost = uniqueName('pokegate-client-resync');

describe('a live query across a gap in the event stream', () => {
  let database: Awaited<ReturnType<typeof createDatabase>> | undefined;
  let service: ServiceProcess | undefined;
  let client: LiveClient | undefined;
  let holder: Awaited<ReturnType<typeof subscribeOn>> | undefined;
  let vhostAdded = false;

  beforeAll(async () => {
    await addVhost(vhost);
    vhostAdded = true;
    database = await createDatabase();
    service = await startService({ AMQP_URL: urlForVhost(vhost), DATABASE_URL: database.url });
  }, 120_000);

  afterAll(async () => {
    await client?.dispose();
    holder?.subscription.dispose();
    await holder?.client.dispose();
    const exit = await service?.stop();
    killAll();
    await database?.drop();
    if (vhostAdded) await rabbitmqctl('delete_vhost', vhost);
    expect(exit?.code).toBe(0);
  }, 60_000);

  it('refetches on the resync poke, although the orders it shows are up to date', async () => {
    const running = service as ServiceProcess;
    const companyId = `c-${randomUUID().slice(0, 8)}`;
    // Bound before the client subscribes (the first subscriber of a company gets a resync poke of its
    // own at bind-ok): the only resync poke the client sees is the one after the gap.
    holder = await subscribeOn(running, companyId);
    const recorder = createSocketRecorder();
    client = createLiveClient({
      url: running.wsUrl,
      connectionParams: { authorization: `Bearer ${await token({ companies: [companyId] })}` },
      webSocketImpl: recorder.WebSocket,
    });
    const { live, updates, shows } = watchOrders(client, companyId, { isFresh: ordersFresh });
    const receipt = await client.request(PlaceOrderDocument, { companyId, total: 3 });
    await waitFor('the order to show', () => shows(receipt.placeOrder.orderId));
    const fetches = live.stats.fetches;
    const shown = updates.length;

    await rabbitmqctl('close_all_connections', '-p', vhost, 'pokegate client resync test');

    const isResync = (data: string): boolean => data.includes('"orderId":null');
    await waitFor(
      'the resync poke',
      () => recorder.pokes().some((frame) => isResync(JSON.stringify(frame.message))),
      { timeoutMs: 30_000 },
    );
    await waitFor('the refetch it asked for', () => updates.length > shown);
    expect(live.stats.fetches).toBe(fetches + 1);
    const resync = recorder.frames.findIndex(
      (frame) => frame.kind === 'subscription' && isResync(JSON.stringify(frame.message)),
    );
    const refetch = recorder.frames.findLastIndex(
      (frame) => frame.direction === 'out' && frame.kind === 'query' && frame.message.type === 'subscribe',
    );
    expect(refetch).toBeGreaterThan(resync);
    expect(updates.at(-1)?.reason).toBe('poke');
    expect(live.status).toBe('live');
  }, 60_000);
});
