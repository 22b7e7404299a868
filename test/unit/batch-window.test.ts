import { describe, expect, it } from 'vitest';
import { createBatchWindow } from '../../src/transport/batch-window.js';
import { deferred } from '../utils/deferred.js';

describe('the batch window', () => {
  it('starts a batch at once with what arrived in the same tick, and gathers the next one meanwhile', async () => {
    const batches: number[][] = [];
    const release = deferred();
    const window = createBatchWindow<number>(3, async (batch) => {
      batches.push(batch);
      if (batches.length === 1) await release.promise;
    });
    window.add(1);
    window.add(2);
    await Promise.resolve();
    await Promise.resolve();
    expect(batches).toEqual([[1, 2]]);
    for (let i = 3; i <= 7; i++) window.add(i);
    release.resolve();
    await window.idle();
    expect(batches).toEqual([
      [1, 2],
      [3, 4, 5],
      [6, 7],
    ]);
  });

  it('drops what waits on clear, and is idle once the batch in flight is done', async () => {
    const batches: number[][] = [];
    const release = deferred();
    const window = createBatchWindow<number>(10, async (batch) => {
      batches.push(batch);
      await release.promise;
    });
    window.add(1);
    await Promise.resolve();
    await Promise.resolve();
    window.add(2);
    expect(window.clear()).toEqual([2]);
    release.resolve();
    await window.idle();
    expect(batches).toEqual([[1]]);
  });

  it("takes the tenants in turns when more wait than a batch takes, each tenant's items in order", async () => {
    const batches: string[][] = [];
    const release = deferred();
    const window = createBatchWindow<string>(4, async (batch) => {
      batches.push(batch);
      if (batches.length === 1) await release.promise;
    });
    window.add('first');
    await Promise.resolve();
    await Promise.resolve();
    for (let i = 1; i <= 8; i++) window.add(`a${i}`, 'a');
    window.add('b1', 'b');
    window.add('c1', 'c');
    release.resolve();
    await window.idle();
    expect(batches).toEqual([['first'], ['a1', 'a2', 'b1', 'c1'], ['a3', 'a4', 'a5', 'a6'], ['a7', 'a8']]);
  });
});
