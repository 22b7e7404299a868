import type { AddressInfo } from 'node:net';
import { Kind, OperationTypeNode, parse } from 'graphql';
import WebSocket, { WebSocketServer } from 'ws';

/** What passed through the proxy, in order. */
export type ProxyFrame =
  | {
      readonly kind: 'subscribe';
      readonly id: string;
      readonly to: 'subscriptions' | 'queries';
      readonly payload: Record<string, unknown>;
    }
  | {
      readonly kind: 'next';
      readonly id: string;
      readonly from: 'subscriptions' | 'queries';
      readonly payload: Record<string, unknown>;
    };

export interface SplitProxy {
  /** The `ws://` URL clients connect to. */
  readonly url: string;
  readonly frames: readonly ProxyFrame[];
  close(): Promise<void>;
}

interface Message {
  readonly type: string;
  readonly id?: string;
  readonly payload?: Record<string, unknown>;
}

const protocol = 'graphql-transport-ws';

/**
 * A graphql-ws load balancer in miniature: each client connection gets one
 * upstream connection to `subscriptionsUrl` and one to `queriesUrl`, and each
 * operation goes to the one its kind names. So a client's pokes come from one
 * replica and its refetches are answered by another.
 */
export async function startSplitProxy(subscriptionsUrl: string, queriesUrl: string): Promise<SplitProxy> {
  const frames: ProxyFrame[] = [];
  const wss = new WebSocketServer({ port: 0, host: '127.0.0.1', handleProtocols: () => protocol });
  await new Promise<void>((resolve) => wss.once('listening', resolve));
  const upstreams = new Set<WebSocket>();

  wss.on('connection', (client) => {
    const open = (url: string) => {
      const socket = new WebSocket(url, protocol);
      upstreams.add(socket);
      const pending: string[] = [];
      let acked = false;
      socket.on('message', (data: Buffer) => {
        const message = JSON.parse(data.toString('utf8')) as Message;
        if (message.type === 'connection_ack') {
          acked = true;
          for (const frame of pending.splice(0)) socket.send(frame);
          if (subscriptions.acked() && queries.acked())
            client.send(JSON.stringify({ type: 'connection_ack' }));
          return;
        }
        if (message.type === 'ping') {
          socket.send(JSON.stringify({ type: 'pong' }));
          return;
        }
        if (message.type === 'pong') return;
        if (message.type === 'next' && message.id !== undefined && message.payload !== undefined) {
          frames.push({
            kind: 'next',
            id: message.id,
            from: url === subscriptionsUrl ? 'subscriptions' : 'queries',
            payload: message.payload,
          });
        }
        client.send(data.toString('utf8'));
      });
      socket.on('close', (code, reason) => {
        upstreams.delete(socket);
        if (client.readyState === client.OPEN)
          client.close(code === 1005 ? 1000 : code, reason.toString('utf8'));
      });
      socket.on('error', () => client.close(1011, 'upstream failed'));
      return {
        socket,
        acked: () => acked,
        /** Sends once the upstream acknowledged the connection (connection_init at once). */
        send(frame: string, beforeAck = false) {
          if (acked || beforeAck) {
            if (socket.readyState === socket.OPEN) socket.send(frame);
            else socket.once('open', () => socket.send(frame));
          } else pending.push(frame);
        },
      };
    };
    const subscriptions = open(subscriptionsUrl);
    const queries = open(queriesUrl);
    const routes = new Map<string, typeof subscriptions>();

    client.on('message', (data: Buffer) => {
      const text = data.toString('utf8');
      const message = JSON.parse(text) as Message;
      if (message.type === 'connection_init') {
        subscriptions.send(text, true);
        queries.send(text, true);
      } else if (message.type === 'ping') {
        client.send(JSON.stringify({ type: 'pong' }));
      } else if (message.type === 'subscribe' && message.id !== undefined && message.payload !== undefined) {
        const to = isSubscription(String(message.payload['query'])) ? 'subscriptions' : 'queries';
        const upstream = to === 'subscriptions' ? subscriptions : queries;
        routes.set(message.id, upstream);
        frames.push({ kind: 'subscribe', id: message.id, to, payload: message.payload });
        upstream.send(text);
      } else if (message.type === 'complete' && message.id !== undefined) {
        routes.get(message.id)?.send(text);
      }
    });
    client.on('close', () => {
      subscriptions.socket.close();
      queries.socket.close();
    });
  });

  return {
    url: `ws://127.0.0.1:${(wss.address() as AddressInfo).port}`,
    frames,
    async close() {
      for (const socket of upstreams) socket.terminate();
      for (const client of wss.clients) client.terminate();
      await new Promise<void>((resolve, reject) => wss.close((error) => (error ? reject(error) : resolve())));
    },
  };
}

function isSubscription(source: string): boolean {
  return parse(source).definitions.some(
    (definition) =>
      definition.kind === Kind.OPERATION_DEFINITION &&
      definition.operation === OperationTypeNode.SUBSCRIPTION,
  );
}
