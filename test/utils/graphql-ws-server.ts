import type { AddressInfo } from 'node:net';
import { execute, subscribe } from 'graphql';
import type { ServerOptions } from 'graphql-ws';
import { useServer } from 'graphql-ws/use/ws';
import { WebSocketServer } from 'ws';

/** A plain graphql-ws server on a free loopback port, with graphql-js's execute and subscribe. */
export async function startGraphQLWsServer(
  options: Omit<ServerOptions, 'execute' | 'subscribe'>,
): Promise<{ readonly url: string; close(): Promise<void> }> {
  const wss = new WebSocketServer({ port: 0, host: '127.0.0.1' });
  await new Promise<void>((resolve) => wss.once('listening', resolve));
  const server = useServer(
    { ...options, execute: (args) => execute(args), subscribe: (args) => subscribe(args) },
    wss,
  );
  return {
    url: `ws://127.0.0.1:${(wss.address() as AddressInfo).port}`,
    async close() {
      await server.dispose();
    },
  };
}
