// Server A, the floor: a bare `ws` server that speaks just enough
// graphql-transport-ws (init/ack, subscribe, complete, ping) and, per event,
// sends one pre-serialised `next` frame to each subscriber of the company.
// No GraphQL, no read view: the practical limit of a Node WebSocket fan-out.
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { WebSocketServer, type WebSocket } from 'ws';
import { serveParent } from './ipc.js';
import {
  controlPath,
  nextFrame,
  pokePayloadJson,
  processStats,
  subprotocol,
  type ControlMessage,
  type Poke,
  type ServerStats,
} from './workload.js';

interface Subscription {
  readonly socket: WebSocket;
  readonly id: string;
  readonly companyId: string;
}

const byCompany = new Map<string, Set<Subscription>>();
let open = 0;

function add(subscription: Subscription): void {
  let set = byCompany.get(subscription.companyId);
  if (set === undefined) byCompany.set(subscription.companyId, (set = new Set()));
  set.add(subscription);
  open++;
}

function remove(subscription: Subscription): void {
  const set = byCompany.get(subscription.companyId);
  if (set?.delete(subscription) !== true) return;
  open--;
  if (set.size === 0) byCompany.delete(subscription.companyId);
}

/** One serialisation per poke and subscription id, then only sends. */
function broadcast(companyId: string, poke: Poke): void {
  const set = byCompany.get(companyId);
  if (set === undefined) return;
  const payload = pokePayloadJson(poke);
  const frames = new Map<string, Buffer>();
  for (const { socket, id } of set) {
    let frame = frames.get(id);
    if (frame === undefined) frames.set(id, (frame = Buffer.from(nextFrame(id, payload))));
    socket.send(frame, { binary: false });
  }
}

function onSubscriber(socket: WebSocket): void {
  const mine = new Map<string, Subscription>();
  socket.on('message', (data: Buffer) => {
    const message = JSON.parse(data.toString('utf8')) as {
      type: string;
      id?: string;
      payload?: { variables?: { companyId?: string } };
    };
    switch (message.type) {
      case 'connection_init':
        socket.send('{"type":"connection_ack"}');
        return;
      case 'ping':
        socket.send('{"type":"pong"}');
        return;
      case 'subscribe': {
        const id = message.id ?? '';
        const companyId = message.payload?.variables?.companyId ?? '';
        const subscription = { socket, id, companyId };
        mine.set(id, subscription);
        add(subscription);
        return;
      }
      case 'complete': {
        const subscription = mine.get(message.id ?? '');
        if (subscription !== undefined) remove(subscription);
        mine.delete(message.id ?? '');
        return;
      }
      default:
        socket.close(4400, `unexpected ${message.type}`);
    }
  });
  socket.on('close', () => {
    for (const subscription of mine.values()) remove(subscription);
    mine.clear();
  });
}

function onControl(socket: WebSocket): void {
  socket.on('message', (data: Buffer) => {
    const { events } = JSON.parse(data.toString('utf8')) as ControlMessage;
    for (const { companyId, orderId, version } of events) {
      broadcast(companyId, { companyId, orderId, removed: false, version });
    }
  });
}

const server = createServer((_, response) => response.writeHead(404).end());
const wss = new WebSocketServer({
  noServer: true,
  perMessageDeflate: false,
  handleProtocols: (protocols) => (protocols.has(subprotocol) ? subprotocol : false),
});
server.on('upgrade', (request, socket, head) => {
  const path = request.url ?? '/';
  wss.handleUpgrade(request, socket, head, (ws) => {
    if (path === controlPath) onControl(ws);
    else onSubscriber(ws);
  });
});
await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));

serveParent(
  {
    stats: (request): ServerStats => ({
      ...processStats(request['gc'] === true),
      subscriptions: open,
      checks: 0,
    }),
    resync: () => {
      const startedAt = performance.timeOrigin + performance.now();
      for (const companyId of [...byCompany.keys()]) {
        broadcast(companyId, { companyId, orderId: null, removed: false, version: null });
      }
      return { startedAt };
    },
  },
  { port: (server.address() as AddressInfo).port },
  async () => {
    for (const client of wss.clients) client.terminate();
    await new Promise((resolve) => server.close(resolve));
  },
);
