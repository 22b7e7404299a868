import { describe, expect, it } from 'vitest';
import { createStateLoader } from '../../src/service/orders/state-loader.js';

type Row = { id: string; version: number; removed: boolean };

function fakeClient(rows: readonly Row[], fail = false) {
  const queries: unknown[][] = [];
  return {
    queries,
    query: <R extends object>(_text: string, params: readonly unknown[] = []): Promise<R[]> => {
      queries.push([...params]);
      if (fail) return Promise.reject(new Error('connection lost'));
      const ids = params[0] as string[];
      return Promise.resolve(rows.filter((row) => ids.includes(row.id)) as unknown as R[]);
    },
  };
}

describe('the read view state loader', () => {
  it('reads the states asked for in one synchronous run with one query, each its own order', async () => {
    const client = fakeClient([
      { id: 'o1', version: 3, removed: false },
      { id: 'o2', version: 1, removed: true },
    ]);
    const load = createStateLoader(client, 'states');
    const states = await Promise.all([load('o1'), load('o2'), load('o1'), load('unknown')]);
    expect(states).toEqual([
      { version: 3, removed: false },
      { version: 1, removed: true },
      { version: 3, removed: false },
      null,
    ]);
    expect(client.queries).toEqual([[['o1', 'o2', 'unknown']]]);
    // A later run makes a query of its own.
    await load('o2');
    expect(client.queries).toHaveLength(2);
  });

  it('rejects every read of a run whose query failed', async () => {
    const load = createStateLoader(fakeClient([], true), 'states');
    const reads = [load('o1'), load('o2')];
    await expect(Promise.all(reads)).rejects.toThrow('connection lost');
    await expect(reads[1]).rejects.toThrow('connection lost');
  });
});
