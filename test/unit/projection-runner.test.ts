import { describe, expect, it } from 'vitest';
import { createEventParser, type BatchProjection, type ProjectionResult } from 'pokegate';
import { orderEventSchema, type OrderEvent } from '../../src/service/orders/events.js';
import { createProjectionRunner, type Delivery } from '../../src/transport/projection-runner.js';
import { MemoryReadView, orderEvent } from '../utils/orders.js';

const parse = createEventParser({ schema: orderEventSchema });
const delivery = (event: unknown, attempt = 1): Delivery => ({
  body: Buffer.from(typeof event === 'string' ? event : JSON.stringify(event)),
  routingKey: 'orders.placed',
  attempt,
  redelivered: false,
});

function runnerWith(project: BatchProjection<OrderEvent>, extra: { projectTimeoutMs?: number } = {}) {
  return createProjectionRunner<OrderEvent>({ queue: 'q', parse, project, ...extra }, 'test');
}

describe('the projection runner', () => {
  it('retries an early version with the next delay, then dead-letters it after the last', async () => {
    const view = new MemoryReadView();
    const runner = createProjectionRunner<OrderEvent>(
      { queue: 'q', parse, project: view.project, retryDelaysMs: [10, 30] },
      'test',
    );
    const early = orderEvent({ orderId: 'o1', version: 2 });
    expect(await runner.run([delivery(early, 1)])).toMatchObject([
      { action: 'retry', attempt: 2, delayMs: 10 },
    ]);
    expect(await runner.run([delivery(early, 2)])).toMatchObject([
      { action: 'retry', attempt: 3, delayMs: 30 },
    ]);
    expect(await runner.run([delivery(early, 3)])).toMatchObject([{ action: 'dead_letter', attempts: 3 }]);
    expect(runner.retryDelays).toEqual([10, 30]);
  });

  it('projects a batch in one call and gives each delivery its own verdict, in order', async () => {
    const view = new MemoryReadView();
    const runner = runnerWith(view.project);
    const first = orderEvent({ orderId: 'a' });
    const verdicts = await runner.run([
      delivery(first),
      delivery('not json'),
      delivery(first),
      delivery(orderEvent({ orderId: 'b', version: 3, type: 'OrderRemoved' })),
    ]);
    expect(view.batches).toEqual([3]);
    expect(verdicts).toMatchObject([
      { action: 'ack', outcome: 'applied' },
      { action: 'dead_letter', attempts: 1, reason: expect.stringMatching(/^malformed/) as unknown },
      { action: 'ack', outcome: 'duplicate' },
      { action: 'retry', attempt: 2 },
    ]);
  });

  it('fails only the event whose result is an error, and commits its neighbours', async () => {
    const project: BatchProjection<OrderEvent> = (events) =>
      Promise.resolve(
        events.map((event) => (event.orderId === 'bad' ? new Error('contradicts') : 'applied')),
      );
    const verdicts = await runnerWith(project).run(
      ['a', 'bad', 'b'].map((orderId) => delivery(orderEvent({ orderId }))),
    );
    expect(verdicts).toMatchObject([
      { action: 'ack' },
      { action: 'retry', reason: 'the projection failed: contradicts' },
      { action: 'ack' },
    ]);
  });

  it('splits a batch that throws down to the event that fails, keeping delivery order', async () => {
    const calls: string[][] = [];
    const project: BatchProjection<OrderEvent> = (events) => {
      calls.push(events.map((event) => event.orderId));
      if (events.some((event) => event.orderId === 'poison')) return Promise.reject(new Error('bad row'));
      return Promise.resolve(events.map((): ProjectionResult => 'applied'));
    };
    const ids = ['a', 'b', 'poison', 'c', 'd'];
    const verdicts = await runnerWith(project).run(ids.map((orderId) => delivery(orderEvent({ orderId }))));
    expect(verdicts.map((verdict) => verdict.action)).toEqual(['ack', 'ack', 'retry', 'ack', 'ack']);
    expect(verdicts[2]).toMatchObject({ reason: 'the projection failed: bad row' });
    expect(calls).toEqual([ids, ['a', 'b', 'poison'], ['a', 'b'], ['poison'], ['c', 'd']]);
  });

  it('aborts a projection that outlives its timeout and counts it as failed', async () => {
    let signal: AbortSignal | undefined;
    const runner = runnerWith(
      (_events, context) => {
        signal = context.signal;
        return new Promise(() => undefined);
      },
      { projectTimeoutMs: 5 },
    );
    const [verdict] = await runner.run([delivery(orderEvent())]);
    expect(verdict).toMatchObject({ action: 'retry', attempt: 2 });
    expect(verdict?.action === 'retry' && verdict.reason).toContain('longer than 5 ms');
    expect(signal?.aborted).toBe(true);
  });

  it('counts a result that is not an outcome, or a wrong number of results, as failed', async () => {
    const odd = runnerWith(() => Promise.resolve(['done' as ProjectionResult]));
    expect(await odd.run([delivery(orderEvent())])).toMatchObject([
      { action: 'retry', reason: 'the projection returned "done"' },
    ]);
    const short = runnerWith(() => Promise.resolve([]));
    expect(await short.run([delivery(orderEvent())])).toMatchObject([
      { action: 'retry', reason: 'the projection failed: the projection returned 0 results for 1 events' },
    ]);
  });

  it('aborts the projection in flight on a forced close and projects nothing more', async () => {
    let calls = 0;
    const runner = runnerWith(
      (_events, context) =>
        new Promise((_resolve, reject) => {
          calls++;
          context.signal.addEventListener('abort', () => {
            reject(context.signal.reason as Error);
          });
        }),
    );
    const verdicts = runner.run([delivery(orderEvent()), delivery(orderEvent())]);
    await new Promise((resolve) => setImmediate(resolve));
    runner.abort(new Error('closing'));
    expect(await verdicts).toMatchObject([
      { action: 'retry', reason: 'the projection failed: closing' },
      { action: 'retry', reason: 'the projection failed: closing' },
    ]);
    expect(calls).toBe(1);
  });
});
