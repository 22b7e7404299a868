import type { WebSocket } from 'ws';
import { describe, expect, it } from 'vitest';
import { ConnectionState, SessionRenewalError } from '../../src/graphql/connection-session.js';
import type { ConnectionPrincipal } from '../../src/graphql/principal.js';
import { createTokenExpiry } from '../../src/graphql/token-expiry.js';
import { deferred, type Deferred } from '../utils/deferred.js';

interface Principal extends ConnectionPrincipal {
  readonly companies: readonly string[];
}

/** Just enough of a socket: it records what is sent and how it closes. */
function fakeSocket() {
  const sent: unknown[] = [];
  const closes: [number, string][] = [];
  const socket = {
    OPEN: 1,
    readyState: 1,
    send: (data: string) => sent.push(JSON.parse(data)),
    close: (code: number, reason: string) => {
      closes.push([code, reason]);
      socket.readyState = 3;
    },
  };
  return { socket: socket as unknown as WebSocket, sent, closes };
}

/** A connection whose `authenticate` waits for the test to answer each credential. */
function connection(companies: readonly string[]) {
  const first: Principal = { sub: 'alice', companies };
  const { socket, sent, closes } = fakeSocket();
  const verifications: { authorization: unknown; answer: Deferred<Principal> }[] = [];
  const expiry = createTokenExpiry();
  const returned: string[] = [];
  const subscriptions: Record<string, unknown> = {};
  const iterator = (id: string) => ({
    return: () => {
      returned.push(id);
      return Promise.resolve({ done: true, value: undefined });
    },
  });
  const state = new ConnectionState(
    {
      authenticate: (authorization) => {
        const answer = deferred<Principal>();
        verifications.push({ authorization, answer });
        return answer.promise;
      },
      sameIdentity: (a, b) => a.sub === b.sub,
      expiry,
      onRefused: () => undefined,
    },
    { extra: { socket }, subscriptions },
    first,
  );
  const allows = (principal: ConnectionPrincipal, company: string): boolean =>
    (principal as Principal).companies.includes(company);
  return { state, sent, closes, verifications, subscriptions, iterator, returned, allows, expiry };
}

describe('a connection’s session', () => {
  it('checks at once a guard registered after a renewal its operation started before', async () => {
    const c = connection(['c1', 'c2']);
    const late = c.state.forOperation('late');
    c.subscriptions['late'] = null; // graphql-ws has it as starting
    const renewal = c.state.renew('Bearer narrowed');
    await Promise.resolve();
    c.verifications[0]?.answer.resolve({ sub: 'alice', companies: ['c1'] });
    expect(await renewal).toMatchObject({ outcome: 'renewed', ended: 0 });
    // Its resolver authorised it with the old principal; the guard it registers now says no.
    late.guard(c.allows, 'c2');
    expect(c.sent).toEqual([
      {
        id: 'late',
        type: 'next',
        payload: { errors: [expect.objectContaining({ extensions: { code: 'FORBIDDEN' } })] },
      },
      { id: 'late', type: 'complete' },
    ]);
    expect('late' in c.subscriptions).toBe(false);
    c.expiry.dispose();
  });

  it('runs renewals one after the other, and ends a subscription only once', async () => {
    const c = connection(['c1', 'c2']);
    c.subscriptions['s2'] = c.iterator('s2');
    c.state.forOperation('s2').guard(c.allows, 'c2');
    const first = c.state.renew('Bearer one');
    const second = c.state.renew('Bearer two');
    await new Promise((resolve) => setImmediate(resolve));
    // The second waits for the first: one verification at a time.
    expect(c.verifications.map((v) => v.authorization)).toEqual(['Bearer one']);
    c.verifications[0]?.answer.resolve({ sub: 'alice', companies: ['c1'] });
    expect(await first).toMatchObject({ outcome: 'narrowed', ended: 1 });
    await new Promise((resolve) => setImmediate(resolve));
    c.verifications[1]?.answer.resolve({ sub: 'alice', companies: ['c3'] });
    expect(await second).toMatchObject({ outcome: 'renewed', ended: 0, principal: { companies: ['c3'] } });
    expect(c.returned).toEqual(['s2']);
    expect(c.sent).toHaveLength(2);
    c.expiry.dispose();
  });

  it('refuses another identity and closes with 4403, keeping the old principal', async () => {
    const c = connection(['c1']);
    const renewal = c.state.renew('Bearer mallory');
    await Promise.resolve();
    c.verifications[0]?.answer.resolve({ sub: 'mallory', companies: ['c1', 'c9'] });
    await expect(renewal).rejects.toBeInstanceOf(SessionRenewalError);
    await expect(renewal).rejects.toMatchObject({ reason: 'identity' });
    expect(c.closes).toEqual([[4403, 'Forbidden']]);
    expect(c.state.principal.sub).toBe('alice');
    // Once closed, a renewal is refused without verifying anything.
    await expect(c.state.renew('Bearer again')).rejects.toMatchObject({ reason: 'closed' });
    expect(c.verifications).toHaveLength(1);
    c.expiry.dispose();
  });

  it('refuses an expired principal with 4403 "Token expired"', async () => {
    const c = connection(['c1']);
    const renewal = c.state.renew('Bearer old');
    await Promise.resolve();
    c.verifications[0]?.answer.resolve({ sub: 'alice', companies: ['c1'], expiresAt: Date.now() - 1 });
    await expect(renewal).rejects.toMatchObject({ reason: 'expired' });
    expect(c.closes).toEqual([[4403, 'Token expired']]);
    c.expiry.dispose();
  });
});
