import { parse, type ExecutionResult } from 'graphql';
import { createSchema } from 'graphql-yoga';
import { afterEach, describe, expect, it } from 'vitest';
import { createGate, createRegistry, type Registry } from 'pokegate';
import type { DirectSendArgs } from '../../src/graphql/direct-send.js';
import { createSharedSubscribe } from '../../src/graphql/shared-subscribe.js';

interface Change {
  readonly companyId: string;
  readonly version: number;
}

const disposables: { dispose(): void }[] = [];
afterEach(() => {
  for (const d of disposables.splice(0)) d.dispose();
});

function setup() {
  const gate = createGate();
  const registry: Registry<Change> = createRegistry<Change>({ name: 'changed', gate });
  disposables.push(registry, gate);
  let executions = 0;
  const schema = createSchema({
    typeDefs: /* GraphQL */ `
      type Change {
        companyId: ID!
        version: Int!
      }
      type Query {
        ok: Boolean
      }
      type Subscription {
        changed(companyId: ID!): Change!
      }
    `,
    resolvers: {
      Change: {
        version: (change: Change) => {
          executions++;
          return change.version;
        },
      },
      Subscription: {
        changed: {
          subscribe: (_: unknown, { companyId }: { companyId: string }) => registry.addReceiver(companyId),
          resolve: (change: Change) => change,
        },
      },
    },
  });
  return { registry, schema, executions: () => executions };
}

const document = parse('subscription ($c: ID!) { changed(companyId: $c) { companyId version } }');

describe('createSharedSubscribe', () => {
  it('executes the selection once per poke for every subscriber of the same document and variables', async () => {
    const { registry, schema, executions } = setup();
    const subscribe = createSharedSubscribe();
    const streams = await Promise.all(
      Array.from({ length: 50 }, () => subscribe({ schema, document, variableValues: { c: 'c1' } })),
    );
    const other = await subscribe({ schema, document, variableValues: { c: 'c2' } });
    const iterators = streams.map((s) => s as AsyncIterableIterator<ExecutionResult>);
    await registry.submit('c1', () => ({ companyId: 'c1', version: 3 }));
    const results = await Promise.all(iterators.map((it) => it.next()));
    for (const result of results) {
      expect(result.value).toEqual({ data: { changed: { companyId: 'c1', version: 3 } } });
    }
    expect(executions()).toBe(1);
    expect(registry.size).toBe(51);
    for (const it of iterators) await it.return?.();
    await (other as AsyncIterableIterator<ExecutionResult>).return?.();
    expect(registry.size).toBe(0);
  });

  it('executes separately for other variables', async () => {
    const { registry, schema, executions } = setup();
    const subscribe = createSharedSubscribe();
    const a = (await subscribe({
      schema,
      document,
      variableValues: { c: 'c1' },
    })) as AsyncIterableIterator<ExecutionResult>;
    const b = (await subscribe({
      schema,
      document,
      variableValues: { c: '*' },
    })) as AsyncIterableIterator<ExecutionResult>;
    await registry.submit('c1', () => ({ companyId: 'c1', version: 1 }));
    expect((await a.next()).value).toEqual({ data: { changed: { companyId: 'c1', version: 1 } } });
    expect((await b.next()).value).toEqual({ data: { changed: { companyId: 'c1', version: 1 } } });
    expect(executions()).toBe(2);
    await a.return?.();
    await b.return?.();
  });

  it('hands each shared result to a direct send during the fan-out, and to the iterator when refused', async () => {
    const { registry, schema, executions } = setup();
    const subscribe = createSharedSubscribe();
    const delivered: ExecutionResult[][] = [[], []];
    let accept = true;
    const iterators = await Promise.all(
      delivered.map(async (sent) => {
        const args: DirectSendArgs = {
          schema,
          document,
          variableValues: { c: 'c1' },
          contextValue: {},
          directSend: { send: (result) => accept && sent.push(result) > 0 },
        };
        return (await subscribe(args)) as AsyncIterableIterator<ExecutionResult>;
      }),
    );
    // graphql-ws waits in next() while the direct path sends.
    const waiting = iterators.map((it) => it.next());
    await registry.submit('c1', () => ({ companyId: 'c1', version: 1 }));
    expect(delivered[0]).toEqual([{ data: { changed: { companyId: 'c1', version: 1 } } }]);
    expect(delivered[1]?.[0]).toBe(delivered[0]?.[0]); // one result object, shared
    expect(executions()).toBe(1);
    accept = false;
    await registry.submit('c1', () => ({ companyId: 'c1', version: 2 }));
    for (const next of await Promise.all(waiting)) {
      expect(next.value).toEqual({ data: { changed: { companyId: 'c1', version: 2 } } });
    }
    for (const it of iterators) await it.return?.();
    expect(registry.size).toBe(0);
  });

  it('returns the errors of a subscribe resolver that throws, without a stream', async () => {
    const { schema } = setup();
    const subscribe = createSharedSubscribe();
    const result = await subscribe({
      schema,
      document: parse('subscription { changed(companyId: "") { version } }'),
    });
    expect(result).toMatchObject({
      errors: [{ message: 'Expected a key to be a non-empty string, got ""' }],
    });
  });
});
