import { createClient, type Client } from 'graphql-ws';
import WebSocket from 'ws';
import { signToken } from '../../src/service/auth.js';
import { devAuthSecret } from '../../src/service/config.js';

export const secret = devAuthSecret;

export function token(claims: {
  sub?: string;
  companies: string[];
  admin?: boolean;
  expiresInSec?: number;
}): Promise<string> {
  return signToken({ sub: claims.sub ?? 'tester', ...claims }, secret);
}

/** POSTs a GraphQL operation with a bearer token (and request `extensions`, when given). */
export async function query<T = Record<string, unknown>>(
  httpUrl: string,
  jwt: string | undefined,
  document: string,
  variables: Record<string, unknown> = {},
  extensions?: Record<string, unknown>,
): Promise<{
  status: number;
  body: {
    data?: T | null;
    errors?: { message: string; extensions?: { code?: string } }[];
    extensions?: { pokegate?: { waitedMs?: number; stale?: boolean } };
  };
}> {
  const response = await fetch(`${httpUrl}/graphql`, {
    method: 'POST',
    headers: {
      'content-type': 'application/json',
      ...(jwt === undefined ? {} : { authorization: `Bearer ${jwt}` }),
    },
    body: JSON.stringify({ query: document, variables, ...(extensions === undefined ? {} : { extensions }) }),
  });
  return { status: response.status, body: (await response.json()) as never };
}

/** A graphql-ws client that does not retry: a test sees every close. */
export function wsClient(
  wsUrl: string,
  jwt: string | undefined,
  onClose?: (code: number, reason: string) => void,
): Client {
  return createClient({
    url: wsUrl,
    webSocketImpl: WebSocket,
    connectionParams: jwt === undefined ? {} : { authorization: `Bearer ${jwt}` },
    retryAttempts: 0,
    lazy: false,
    on: {
      closed: (event) => {
        const { code, reason } = event as { code: number; reason: string };
        onClose?.(code, reason);
      },
    },
    // A failed connection rejects the operations; the test's own listener reports the close.
    onNonLazyError: () => undefined,
  });
}

export interface Poke {
  readonly companyId: string;
  readonly orderId: string | null;
  readonly removed: boolean;
  readonly version: number | null;
  /** The read-after token of (order, version); null on a resync poke. */
  readonly token: string | null;
}

export const ordersChangedSubscription = /* GraphQL */ `
  subscription ($companyId: ID!) {
    ordersChanged(companyId: $companyId) {
      companyId
      orderId
      removed
      version
      token
    }
  }
`;

/** Subscribes and collects every poke (and errors) until disposed. */
export function collectPokes(client: Client, companyId: string) {
  const pokes: Poke[] = [];
  const errors: unknown[] = [];
  let listeners: (() => void)[] = [];
  let completed = false;
  const dispose = client.subscribe<{ ordersChanged: Poke }>(
    { query: ordersChangedSubscription, variables: { companyId } },
    {
      next: (result) => {
        if (result.errors !== undefined) errors.push(...result.errors);
        if (result.data) pokes.push(result.data.ordersChanged);
        for (const listener of listeners.splice(0)) listener();
      },
      error: (error) => {
        errors.push(error);
        for (const listener of listeners.splice(0)) listener();
      },
      complete: () => {
        completed = true;
        for (const listener of listeners.splice(0)) listener();
      },
    },
  );
  return {
    pokes,
    errors,
    get completed() {
      return completed;
    },
    /** Resolves once something new arrives. */
    changed: () => new Promise<void>((resolve) => listeners.push(resolve)),
    dispose: () => {
      listeners = [];
      dispose();
    },
  };
}

/** Places an order of `companyId` over HTTP and resolves with its id; throws when the service refuses. */
export async function placeOrder(httpUrl: string, jwt: string, companyId: string): Promise<string> {
  const placed = await query<{ placeOrder: { orderId: string } }>(
    httpUrl,
    jwt,
    'mutation ($companyId: ID!) { placeOrder(companyId: $companyId, total: 1) { orderId } }',
    { companyId },
  );
  const orderId = placed.body.data?.placeOrder.orderId;
  if (orderId === undefined) throw new Error(`placeOrder failed: ${JSON.stringify(placed.body)}`);
  return orderId;
}
