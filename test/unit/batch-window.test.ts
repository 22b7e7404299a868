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
});
