import type { IncomingMessage, ServerResponse } from 'node:http';
import type { Registry as PromRegistry } from 'prom-client';
import { reasonOf } from 'pokegate';

export interface HttpRoutesOptions {
  /** Served at `/metrics` when given; else `/metrics` goes to `fallback` like any other path. */
  readonly metrics: PromRegistry | undefined;
  /** Whether the replica can poke: consuming from the broker and the read view answering. */
  readonly ready: () => Promise<boolean>;
  /** Everything else: `/graphql` (yoga) and the demo page. */
  readonly fallback: (request: IncomingMessage, response: ServerResponse) => void;
}

/** The operational endpoints in front of the GraphQL server. */
export function createHttpRoutes(
  options: HttpRoutesOptions,
): (request: IncomingMessage, response: ServerResponse) => void {
  const { metrics, ready, fallback } = options;
  return (request, response) => {
    const path = (request.url ?? '/').split('?', 1)[0];
    if (request.method !== 'GET' && request.method !== 'HEAD') {
      if ((path === '/metrics' && metrics !== undefined) || path === '/healthz' || path === '/readyz') {
        send(response, 405, 'text/plain', 'Method Not Allowed\n');
      } else {
        fallback(request, response);
      }
      return;
    }
    switch (path) {
      case '/healthz':
        send(response, 200, 'text/plain', 'ok\n');
        return;
      case '/readyz':
        ready().then(
          (ok) => send(response, ok ? 200 : 503, 'text/plain', ok ? 'ready\n' : 'not ready\n'),
          () => send(response, 503, 'text/plain', 'not ready\n'),
        );
        return;
      case '/metrics':
        if (metrics === undefined) {
          fallback(request, response);
          return;
        }
        metrics.metrics().then(
          (text) => send(response, 200, metrics.contentType, text),
          (error: unknown) => send(response, 500, 'text/plain', `${reasonOf(error)}\n`),
        );
        return;
      default:
        fallback(request, response);
    }
  };
}

function send(response: ServerResponse, status: number, type: string, body: string): void {
  response.writeHead(status, { 'content-type': type, 'cache-control': 'no-store' });
  response.end(body);
}

/** The fallback of the internal port: nothing but the operational endpoints. */
export function notFound(_request: IncomingMessage, response: ServerResponse): void {
  send(response, 404, 'text/plain', 'Not Found\n');
}
