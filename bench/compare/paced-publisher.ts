// The paced publisher: a worker thread of the load generator that sends each
// event at its own time, one publish per event, as an owning service's writes
// arrive, persistent and confirmed on the broker. A worker, because the gaps
// at thousands of events per second are shorter than a timer's millisecond:
// it sleeps them out (`Atomics.wait`) without holding up the thread that
// timestamps the pokes.
import { Worker } from 'node:worker_threads';
import type { SinkSpec } from './event-sink.js';
import type { ControlEvent } from './workload.js';

/**
 * How the events arrive: `even`, each at its own time, one publish per
 * turn; `ticks`, the benchmark's earlier pattern, every event due sent at
 * once on a 1 ms timer (a burst per tick, larger whenever a tick is late).
 */
export type ArrivalMode = 'even' | 'ticks';

/** What a paced run sent, and when. */
export interface PacedRun {
  /** When each event was published, epoch ms, in order. */
  readonly sentAt: Float64Array;
  /** The most events published in one turn of the worker (one write to the socket). */
  readonly maxPerTurn: number;
  /** From the last publish to the broker's confirm of everything (0 for the baselines). */
  readonly confirmLagMs: number;
}

export interface PacedPublisher {
  run(events: readonly ControlEvent[], ratePerSecond: number, mode: ArrivalMode): Promise<PacedRun>;
  close(): Promise<void>;
}

/** Worker → load generator. */
export type PacerReply =
  | { readonly type: 'ready' }
  | ({ readonly type: 'done'; readonly id: number } & PacedRun)
  | { readonly type: 'failed'; readonly id: number; readonly message: string };

/** Load generator → worker. */
export interface PacerRequest {
  readonly type: 'run';
  readonly id: number;
  readonly events: readonly ControlEvent[];
  readonly ratePerSecond: number;
  readonly mode: ArrivalMode;
}

/** Starts the worker, connected to `sink`; resolves once its sink is open. */
export async function startPacedPublisher(sink: SinkSpec): Promise<PacedPublisher> {
  const worker = new Worker(new URL('./paced-publisher-worker.ts', import.meta.url), {
    workerData: { sink },
  });
  const pending = new Map<number, { resolve: (run: PacedRun) => void; reject: (error: Error) => void }>();
  let nextId = 0;
  let failure: Error | undefined;
  const fail = (error: Error): void => {
    failure = error;
    for (const { reject } of pending.values()) reject(error);
    pending.clear();
  };
  worker.on('error', fail);
  worker.on('exit', (code) => fail(new Error(`the paced publisher exited (${code})`)));
  await new Promise<void>((resolve, reject) => {
    worker.once('error', reject);
    worker.on('message', (reply: PacerReply) => {
      if (reply.type === 'ready') {
        resolve();
        return;
      }
      const waiter = pending.get(reply.id);
      pending.delete(reply.id);
      if (reply.type === 'done') waiter?.resolve(reply);
      else waiter?.reject(new Error(reply.message));
    });
  });
  return {
    run(events, ratePerSecond, mode) {
      if (failure !== undefined) return Promise.reject(failure);
      const id = nextId++;
      return new Promise((resolve, reject) => {
        pending.set(id, { resolve, reject });
        worker.postMessage({ type: 'run', id, events, ratePerSecond, mode } satisfies PacerRequest);
      });
    },
    async close() {
      worker.removeAllListeners('exit');
      await worker.terminate();
    },
  };
}
