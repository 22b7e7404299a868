import { createSchema, createYoga } from 'graphql-yoga';
import { afterEach, describe, expect, it } from 'vitest';
import { createReadAfter, type ReadAfter, type ReadAfterEvent } from 'pokegate/graphql';
import { ManualClock, flush } from '../utils/manual-clock.js';
import { waitFor } from '../utils/wait-for.js';

interface Body {
  data?: { value: number | null } | null;
  errors?: { message: string; extensions?: { code?: string } }[];
  extensions?: { pokegate?: { waitedMs: number; stale?: true } };
}

const readAfters: ReadAfter[] = [];
afterEach(() => {
  for (const readAfter of readAfters.splice(0)) readAfter.dispose();
});

/**
 * yoga with a read view of its own (key → version) behind the plugin. A
 * token is "key:version"; one starting with "forged" does not verify.
 */
function setup(options: { timeoutMs?: number } = {}) {
  const clock = new ManualClock();
  const view = new Map<string, number>();
  const events: ReadAfterEvent[] = [];
  let checks = 0;
  const readAfter = createReadAfter({
    clock,
    ...options,
    decode: (token: string) => {
      const [key, version] = token.split(':');
      if (key === undefined || key.startsWith('forged')) throw new Error('the signature does not verify');
      return { key, version: Number(version) };
    },
    isVisible: ({ key, version }) => {
      checks++;
      return Promise.resolve((view.get(key) ?? 0) >= version);
    },
    observer: { readAfter: (event) => events.push(event) },
  });
  readAfters.push(readAfter);
  const yoga = createYoga({
    schema: createSchema({
      typeDefs: 'type Query { value(key: String!): Int }',
      resolvers: { Query: { value: (_: unknown, { key }: { key: string }) => view.get(key) ?? null } },
    }),
    plugins: [readAfter.plugin],
    logging: false,
  });
  const post = async (after: unknown, key = 'o1'): Promise<Body> => {
    const response = await yoga.fetch('http://localhost/graphql', {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({
        query: 'query ($key: String!) { value(key: $key) }',
        variables: { key },
        ...(after === undefined ? {} : { extensions: { pokegate: { after } } }),
      }),
    });
    return (await response.json()) as Body;
  };
  const commit = (key: string, version: number): void => {
    view.set(key, version);
    readAfter.notify(key, version);
  };
  return { clock, view, events, readAfter, post, commit, checks: () => checks };
}

describe('createReadAfter', () => {
  it('validates its options eagerly, with a TypeError that names the option', () => {
    const base = { decode: () => ({ key: 'k', version: 1 }), isVisible: () => Promise.resolve(true) };
    expect(() => createReadAfter({ ...base, timeoutMs: -1 })).toThrow(/`timeoutMs`/);
    expect(() => createReadAfter({ ...base, pollIntervalMs: 0 })).toThrow(/`pollIntervalMs`/);
    expect(() => createReadAfter({ ...base, maxTokens: 0 })).toThrow(/`maxTokens`/);
    expect(() => createReadAfter({ ...base, decode: 'no' as never })).toThrow(/`decode`/);
  });

  it('executes at once when every token is visible, and says how long it waited', async () => {
    const { post, commit, events } = setup();
    commit('o1', 3);
    const body = await post(['o1:2', 'o1:3']);
    expect(body.data?.value).toBe(3);
    expect(body.extensions?.pokegate).toEqual({ waitedMs: 0 });
    expect(events).toEqual([{ outcome: 'visible', waitedMs: 0, tokens: 2 }]);
  });

  it('leaves a request without tokens alone', async () => {
    const { post, events } = setup();
    const body = await post(undefined);
    expect(body).toEqual({ data: { value: null } });
    expect(events).toEqual([]);
  });

  it('waits until a commit report makes the token visible, without polling', async () => {
    const { post, commit, readAfter, checks, events, clock } = setup();
    commit('o1', 1);
    const answer = post('o1:2');
    await waitFor('the request to wait', () => readAfter.waiting === 1);
    const checked = checks();
    // An older version reported does not wake it; the clock never moves, so no poll runs either.
    commit('o1', 1);
    await flush();
    expect(checks()).toBe(checked);
    await clock.advance(40);
    commit('o1', 2);
    const body = await answer;
    expect(body.data?.value).toBe(2);
    expect(body.extensions?.pokegate).toEqual({ waitedMs: 40 });
    expect(checks()).toBe(checked + 1);
    expect(events).toEqual([{ outcome: 'visible', waitedMs: 40, tokens: 1 }]);
    expect(readAfter.waiting).toBe(0);
  });

  it('checks again every poll interval, for a commit whose report was lost', async () => {
    const { post, view, readAfter, clock } = setup();
    const answer = post('o1:1');
    await waitFor('the request to wait', () => readAfter.waiting === 1);
    view.set('o1', 1);
    await clock.advance(500);
    expect((await answer).extensions?.pokegate).toEqual({ waitedMs: 500 });
  });

  it('executes anyway once the budget runs out, and marks the result stale', async () => {
    const { post, commit, readAfter, clock, events } = setup({ timeoutMs: 1_000 });
    commit('o1', 1);
    const answer = post(['o1:1', 'o1:5']);
    await waitFor('the request to wait', () => readAfter.waiting === 1);
    await clock.advance(1_000);
    const body = await answer;
    expect(body.data?.value).toBe(1);
    expect(body.extensions?.pokegate).toEqual({ waitedMs: 1_000, stale: true });
    expect(events).toEqual([{ outcome: 'timeout', waitedMs: 1_000, tokens: 2 }]);
    expect(readAfter.waiting).toBe(0);
    expect(clock.pending).toBe(0);
  });

  it('refuses a forged token with BAD_USER_INPUT and no data, at once', async () => {
    const { post, commit, events } = setup();
    commit('o1', 1);
    const body = await post(['o1:1', 'forged:1']);
    expect(body.data).toBeUndefined();
    expect(body.errors?.[0]?.extensions?.code).toBe('BAD_USER_INPUT');
    expect(body.errors?.[0]?.message).toMatch(/signature does not verify/);
    expect(events).toEqual([{ outcome: 'invalid', waitedMs: 0, tokens: 2 }]);
  });

  it('refuses an after that is not a token or a list of tokens, or too many of them', async () => {
    const { post } = setup();
    for (const after of [42, [''], { token: 'o1:1' }, Array.from({ length: 65 }, () => 'o1:1')]) {
      const body = await post(after);
      expect(body.errors?.[0]?.extensions?.code).toBe('BAD_USER_INPUT');
      expect(body.data).toBeUndefined();
    }
  });

  it('reads the tokens of a GET request from its extensions parameter', async () => {
    const { commit, readAfter, clock } = setup();
    const yogaUrl = new URL('http://localhost/graphql');
    yogaUrl.searchParams.set('query', '{ value(key: "o1") }');
    yogaUrl.searchParams.set('extensions', JSON.stringify({ pokegate: { after: 'o1:1' } }));
    const yoga = createYoga({
      schema: createSchema({ typeDefs: 'type Query { value(key: String!): Int }', resolvers: {} }),
      plugins: [readAfter.plugin],
      logging: false,
    });
    const answer = yoga.fetch(yogaUrl, { headers: { accept: 'application/json' } });
    await waitFor('the request to wait', () => readAfter.waiting === 1);
    await clock.advance(7);
    commit('o1', 1);
    const body = (await (await answer).json()) as Body;
    expect(body.extensions?.pokegate).toEqual({ waitedMs: 7 });
  });

  it('ends every wait on dispose: those requests execute, marked stale', async () => {
    const { post, readAfter } = setup();
    const answer = post('o1:1');
    await waitFor('the request to wait', () => readAfter.waiting === 1);
    readAfter.dispose();
    expect((await answer).extensions?.pokegate?.stale).toBe(true);
  });
});
