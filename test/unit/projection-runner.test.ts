import { describe, expect, it } from 'vitest';
import { createEventParser, type ProjectionOutcome } from 'pokegate';
import { orderEventSchema, type OrderEvent } from '../../src/transport/order-events.js';
import { createProjectionRunner, type Delivery } from '../../src/transport/projection-runner.js';
import { deferred } from '../utils/deferred.js';
import { MemoryReadView, orderEvent } from '../utils/orders.js';

const parse = createEventParser({ schema: orderEventSchema });
const delivery = (event: unknown, attempt = 1): Delivery => ({
  body: Buffer.from(JSON.stringify(event)),
  routingKey: 'orders.placed',
  attempt,
  redelivered: false,
});

describe('the projection runner', () => {
  it('retries an early version with the next delay, then dead-letters it after the last', async () => {
    const view = new MemoryReadView();
    const runner = createProjectionRunner<OrderEvent>(
      { queue: 'q', parse, handlers: view.handlers, retryDelaysMs: [10, 30] },
      'test',
    );
    const early = orderEvent({ orderId: 'o1', version: 2 });
    expect(await runner.run(delivery(early, 1))).toMatchObject({ action: 'retry', attempt: 2, delayMs: 10 });
    expect(await runner.run(delivery(early, 2))).toMatchObject({ action: 'retry', attempt: 3, delayMs: 30 });
    expect(await runner.run(delivery(early, 3))).toMatchObject({ action: 'dead_letter', attempts: 3 });
    expect(runner.retryDelays).toEqual([10, 30]);
  });

  it('handles the events of one key one at a time, in delivery order, and other keys side by side', async () => {
    const gates = new Map([
      ['a1', deferred()],
      ['b1', deferred()],
    ]);
    const started: string[] = [];
    const handler = async (event: OrderEvent): Promise<ProjectionOutcome> => {
      started.push(`${event.orderId}@${event.version}`);
      await gates.get(`${event.orderId}${event.version}`)?.promise;
      return 'applied';
    };
    const runner = createProjectionRunner<OrderEvent>(
      {
        queue: 'q',
        parse,
        handlers: { OrderPlaced: handler, OrderStatusChanged: handler, OrderRemoved: handler },
        orderKey: (event) => event.orderId,
      },
      'test',
    );
    const a1 = runner.run(delivery(orderEvent({ orderId: 'a', version: 1 })));
    const a2 = runner.run(delivery(orderEvent({ orderId: 'a', version: 2 })));
    const b1 = runner.run(delivery(orderEvent({ orderId: 'b', version: 1 })));
    await new Promise((resolve) => setImmediate(resolve));
    expect(started).toEqual(['a@1', 'b@1']);
    gates.get('a1')?.resolve();
    await a1;
    await a2;
    expect(started).toEqual(['a@1', 'b@1', 'a@2']);
    gates.get('b1')?.resolve();
    expect(await b1).toEqual({ action: 'ack', outcome: 'applied' });
  });

  it('aborts a handler that outlives its timeout and counts it as failed', async () => {
    let signal: AbortSignal | undefined;
    const handler = (_event: OrderEvent, context: { signal: AbortSignal }): Promise<ProjectionOutcome> => {
      signal = context.signal;
      return new Promise(() => undefined);
    };
    const runner = createProjectionRunner<OrderEvent>(
      {
        queue: 'q',
        parse,
        handlers: { OrderPlaced: handler, OrderStatusChanged: handler, OrderRemoved: handler },
        handlerTimeoutMs: 5,
      },
      'test',
    );
    const verdict = await runner.run(delivery(orderEvent()));
    expect(verdict).toMatchObject({ action: 'retry', attempt: 2 });
    expect(verdict.action === 'retry' && verdict.reason).toContain('longer than 5 ms');
    expect(signal?.aborted).toBe(true);
  });

  it('counts a handler that returns something else as failed', async () => {
    const handler = (): ProjectionOutcome => 'done' as ProjectionOutcome;
    const runner = createProjectionRunner<OrderEvent>(
      {
        queue: 'q',
        parse,
        handlers: { OrderPlaced: handler, OrderStatusChanged: handler, OrderRemoved: handler },
      },
      'test',
    );
    expect(await runner.run(delivery(orderEvent()))).toMatchObject({
      action: 'retry',
      reason: 'the handler returned "done"',
    });
  });

  it('aborts every handler in flight on a forced close', async () => {
    const handler = (_event: OrderEvent, context: { signal: AbortSignal }): Promise<ProjectionOutcome> =>
      new Promise((_resolve, reject) => {
        context.signal.addEventListener('abort', () => {
          reject(context.signal.reason as Error);
        });
      });
    const runner = createProjectionRunner<OrderEvent>(
      {
        queue: 'q',
        parse,
        handlers: { OrderPlaced: handler, OrderStatusChanged: handler, OrderRemoved: handler },
      },
      'test',
    );
    const verdict = runner.run(delivery(orderEvent()));
    await new Promise((resolve) => setImmediate(resolve));
    runner.abort(new Error('closing'));
    expect(await verdict).toMatchObject({ action: 'retry', reason: 'the handler failed: closing' });
  });
});
