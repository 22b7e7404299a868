import { randomUUID } from 'node:crypto';
import type { Client } from 'graphql-ws';
import { SignJWT } from 'jose';
import { retryQueueName } from 'pokegate/amqp';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { accessRoutingKey, type AccessEvent } from '../../src/examples/access/events.js';
import {
  startAccessService,
  type AccessChange,
  type AccessService,
} from '../../src/examples/access/service.js';
import { amqpUrl, openAdmin, uniqueName, type Admin } from '../utils/amqp.js';
import { query, wsClient } from '../utils/graphql-client.js';
import { databaseUrl, dropSchema, uniqueSchema } from '../utils/postgres.js';
import { waitFor } from '../utils/wait-for.js';

// The access example as docs/service.md presents it, on the real broker and
// database: a membership event pokes one user, a company event every member.
describe('the access example service, end to end', () => {
  const exchange = uniqueName('pokegate.e2e.access');
  const schema = uniqueSchema('access_e2e');
  const secret = randomUUID() + randomUUID();
  let service: AccessService;
  let admin: Admin;
  const clients: Client[] = [];
  let versions = new Map<string, number>();

  beforeAll(async () => {
    admin = await openAdmin();
    service = await startAccessService({ amqpUrl, databaseUrl, authSecret: secret, exchange, schema });
  }, 60_000);

  afterAll(async () => {
    for (const client of clients) await client.dispose();
    await service.stop();
    const queue = `${exchange}.access-projector`;
    const retries = [50, 250, 1000, 5000].map((delayMs) => retryQueueName(queue, delayMs));
    await admin.deleteQueues([queue, `${queue}.dlq`, ...retries]);
    await admin.deleteExchange(exchange);
    await admin.close();
    await dropSchema(schema);
  }, 60_000);

  const jwt = (sub: string, isAdmin = false): Promise<string> =>
    new SignJWT({ admin: isAdmin })
      .setProtectedHeader({ alg: 'HS256' })
      .setSubject(sub)
      .setExpirationTime('1h')
      .sign(new TextEncoder().encode(secret));

  /** Publishes an access event with the next version of its membership or company. */
  async function publish(event: DistributiveOmit<AccessEvent, 'eventId' | 'version' | 'occurredAt'>) {
    const subject = 'userId' in event ? `${event.userId}/${event.companyId}` : event.companyId;
    const version = (versions.get(subject) ?? 0) + 1;
    versions.set(subject, version);
    const full = { ...event, eventId: randomUUID(), version, occurredAt: new Date().toISOString() };
    await admin.publish(exchange, accessRoutingKey(full), Buffer.from(JSON.stringify(full)));
  }

  const httpUrl = (): string => `http://127.0.0.1:${service.port}`;
  const companiesQuery = /* GraphQL */ `
    query ($userId: ID!) {
      availableCompanies(userId: $userId) {
        id
        name
        closed
      }
    }
  `;
  async function companiesOf(sub: string, userId = sub, isAdmin = false) {
    const { body } = await query<{ availableCompanies: { id: string; name: string; closed: boolean }[] }>(
      httpUrl(),
      await jwt(sub, isAdmin),
      companiesQuery,
      { userId },
    );
    return body;
  }

  /** A WebSocket subscription of `userId` with the token of `sub`, collecting its pokes and errors. */
  async function subscribe(sub: string, userId = sub, isAdmin = false) {
    const client = wsClient(`ws://127.0.0.1:${service.port}/graphql`, await jwt(sub, isAdmin));
    clients.push(client);
    const pokes: AccessChange[] = [];
    const errors: unknown[] = [];
    const before = service.subscribers;
    client.subscribe<{ availableCompanies: AccessChange }>(
      {
        query: `subscription ($userId: ID!) { availableCompanies(userId: $userId) { userId companyId version } }`,
        variables: { userId },
      },
      {
        next: (result) => {
          if (result.errors !== undefined) errors.push(...result.errors);
          if (result.data) pokes.push(result.data.availableCompanies);
        },
        error: (error) => errors.push(error),
        complete: () => undefined,
      },
    );
    await waitFor(
      'the subscription to open or fail',
      () => service.subscribers > before || errors.length > 0,
    );
    return { pokes, errors };
  }

  /** The one poke of a subscriber whose user had no binding on the replica yet, sent at bind-ok. */
  const resyncOf = (userId: string): AccessChange => ({ userId, companyId: null, version: null });

  const pokeAbout = (pokes: AccessChange[], change: Partial<AccessChange>) =>
    waitFor(`a poke ${JSON.stringify(change)}`, () =>
      pokes.find((poke) => Object.entries(change).every(([k, v]) => poke[k as keyof AccessChange] === v)),
    );

  it('pokes only the added member, once the refetch shows the company', async () => {
    versions = new Map();
    const alice = await subscribe('alice');
    const bob = await subscribe('bob');
    await publish({ type: 'MemberAdded', userId: 'alice', companyId: 'c1', companyName: 'Acme' });
    expect(await pokeAbout(alice.pokes, { userId: 'alice', companyId: 'c1' })).toEqual({
      userId: 'alice',
      companyId: 'c1',
      version: 1,
    });
    expect((await companiesOf('alice')).data?.availableCompanies).toEqual([
      { id: 'c1', name: 'Acme', closed: false },
    ]);
    // bob's own later event arrives: alice's never went to him.
    await publish({ type: 'MemberAdded', userId: 'bob', companyId: 'c2', companyName: 'Bolt' });
    await pokeAbout(bob.pokes, { userId: 'bob', companyId: 'c2' });
    // bob's binding was new when he subscribed: one resync poke first, then his own event's.
    expect(bob.pokes).toEqual([resyncOf('bob'), { userId: 'bob', companyId: 'c2', version: 1 }]);
  });

  it('pokes every member of a renamed or closed company once, and no one else', async () => {
    const [alice, bob, carol] = [await subscribe('alice'), await subscribe('bob'), await subscribe('carol')];
    await publish({ type: 'MemberAdded', userId: 'bob', companyId: 'c1', companyName: 'Acme' });
    await pokeAbout(bob.pokes, { userId: 'bob', companyId: 'c1' });

    await publish({ type: 'CompanyRenamed', companyId: 'c1', name: 'Acme Ltd' });
    for (const member of [alice, bob]) {
      expect(await pokeAbout(member.pokes, { companyId: 'c1', userId: null })).toEqual({
        userId: null,
        companyId: 'c1',
        version: 1,
      });
    }
    for (const user of ['alice', 'bob']) {
      expect((await companiesOf(user)).data?.availableCompanies).toContainEqual({
        id: 'c1',
        name: 'Acme Ltd',
        closed: false,
      });
    }
    await publish({ type: 'CompanyClosed', companyId: 'c1' });
    await pokeAbout(alice.pokes, { companyId: 'c1', version: 2 });
    expect((await companiesOf('alice')).data?.availableCompanies).toEqual([
      { id: 'c1', name: 'Acme Ltd', closed: true },
    ]);

    // Later events for each of them: anything about c1 would have arrived first.
    await publish({ type: 'MemberAdded', userId: 'carol', companyId: 'c3', companyName: 'Cargo' });
    await publish({ type: 'MemberAdded', userId: 'alice', companyId: 'c3', companyName: 'Cargo' });
    await pokeAbout(carol.pokes, { companyId: 'c3' });
    await pokeAbout(alice.pokes, { userId: 'alice', companyId: 'c3' });
    expect(carol.pokes).toEqual([resyncOf('carol'), { userId: 'carol', companyId: 'c3', version: 1 }]);
    const companyWide = alice.pokes.filter((poke) => poke.userId === null);
    expect(companyWide).toEqual([
      { userId: null, companyId: 'c1', version: 1 },
      { userId: null, companyId: 'c1', version: 2 },
    ]);
    expect(bob.pokes.filter((poke) => poke.userId === null)).toEqual(companyWide);
  });

  it('pokes a member added just before a rename with the rename too: the members are read once it is visible', async () => {
    const erin = await subscribe('erin');
    await publish({ type: 'MemberAdded', userId: 'erin', companyId: 'c5', companyName: 'Echo' });
    await publish({ type: 'CompanyRenamed', companyId: 'c5', name: 'Echo Labs' });
    await pokeAbout(erin.pokes, { userId: null, companyId: 'c5', version: 1 });
    expect((await companiesOf('erin')).data?.availableCompanies).toEqual([
      { id: 'c5', name: 'Echo Labs', closed: false },
    ]);
  });

  it('pokes a removed member, whose refetch no longer shows the company', async () => {
    const bob = await subscribe('bob');
    await publish({ type: 'MemberRemoved', userId: 'bob', companyId: 'c1' });
    await pokeAbout(bob.pokes, { userId: 'bob', companyId: 'c1', version: 2 });
    expect((await companiesOf('bob')).data?.availableCompanies).toEqual([
      { id: 'c2', name: 'Bolt', closed: false },
    ]);
  });

  it('gives an admin on "*" every change, and every company', async () => {
    const all = await subscribe('root', '*', true);
    await publish({ type: 'MemberAdded', userId: 'dave', companyId: 'c4', companyName: 'Dune' });
    await publish({ type: 'CompanyRenamed', companyId: 'c2', name: 'Bolt & Co' });
    await pokeAbout(all.pokes, { userId: 'dave', companyId: 'c4' });
    await pokeAbout(all.pokes, { userId: null, companyId: 'c2' });
    const companies = (await companiesOf('root', '*', true)).data?.availableCompanies ?? [];
    expect(companies.map((company) => company.id)).toEqual(['c1', 'c2', 'c3', 'c4', 'c5']);
    expect(companies).toContainEqual({ id: 'c2', name: 'Bolt & Co', closed: false });
  });

  it('refuses another user id, or "*" without admin, with a GraphQL error', async () => {
    const spy = await subscribe('alice', 'bob');
    expect(spy.errors.map((error) => JSON.stringify(error))).toEqual([
      expect.stringMatching(/Forbidden: no access to the companies of .*bob.*"code":"FORBIDDEN"/),
    ]);
    const wildcard = await subscribe('alice', '*');
    expect(wildcard.errors.map((error) => JSON.stringify(error))).toEqual([
      expect.stringMatching(/Forbidden/),
    ]);
    const body = await companiesOf('alice', 'bob');
    expect(body.data).toBeNull();
    expect(body.errors?.[0]?.extensions?.code).toBe('FORBIDDEN');
    const anonymous = await query(httpUrl(), undefined, companiesQuery, { userId: 'alice' });
    expect(anonymous.body.errors?.[0]?.message).toMatch(/Unauthorized/);
  });
});

type DistributiveOmit<T, K extends PropertyKey> = T extends unknown ? Omit<T, K> : never;
