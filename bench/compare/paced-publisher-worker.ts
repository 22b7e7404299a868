// The paced publisher's thread (see paced-publisher.ts): it owns an event
// sink of its own and publishes each run's events at their times.
import { setImmediate as turn } from 'node:timers/promises';
import { parentPort, workerData } from 'node:worker_threads';
import { sleep } from './drivers.js';
import { amqpSink, controlSink, type EventSink, type SinkSpec } from './event-sink.js';
import type { PacedRun, PacerReply, PacerRequest } from './paced-publisher.js';
import { now } from './subscribers.js';
import type { ControlEvent } from './workload.js';

const port = parentPort;
if (port === null) throw new Error('paced-publisher-worker runs as a worker thread');
const { sink: spec } = workerData as { sink: SinkSpec };
const sink: EventSink =
  spec.kind === 'control'
    ? await controlSink(spec.port)
    : await amqpSink(spec.url, spec.exchange, spec.persistent);

/** Sleeps the calling thread `ms` (fractions included) without spinning: a futex wait. */
const cell = new Int32Array(new SharedArrayBuffer(4));
const block = (ms: number): void => {
  if (ms > 0) Atomics.wait(cell, 0, 0, ms);
};

/** Each event at its own time: timers for the long gaps, then the rest slept out to the µs. */
async function even(events: readonly ControlEvent[], ratePerSecond: number, sentAt: Float64Array) {
  const intervalMs = 1_000 / ratePerSecond;
  const start = now() + 1;
  for (let i = 0; i < events.length; i++) {
    const due = start + i * intervalMs;
    if (due - now() > 3) await sleep(due - now() - 2);
    block(due - now());
    sink.send(events.slice(i, i + 1));
    sentAt[i] = now();
    // The frame leaves and the confirms come in before the next wait.
    await turn();
  }
  return 1;
}

/** The earlier pattern: a 1 ms timer, every event due sent at once. */
async function ticks(events: readonly ControlEvent[], ratePerSecond: number, sentAt: Float64Array) {
  const start = now();
  let sent = 0;
  let maxPerTurn = 0;
  while (sent < events.length) {
    const due = Math.min(events.length, Math.floor(((now() - start) * ratePerSecond) / 1_000) + 1);
    if (due > sent) {
      sink.send(events.slice(sent, due));
      const at = now();
      maxPerTurn = Math.max(maxPerTurn, due - sent);
      for (; sent < due; sent++) sentAt[sent] = at;
    }
    await sleep(1);
  }
  return maxPerTurn;
}

port.on('message', (request: PacerRequest) => {
  void (async () => {
    const { id, events, ratePerSecond, mode } = request;
    try {
      const sentAt = new Float64Array(events.length);
      const maxPerTurn = await (mode === 'even' ? even : ticks)(events, ratePerSecond, sentAt);
      const confirmedAt = await sink.confirmed();
      const run: PacedRun = {
        sentAt,
        maxPerTurn,
        confirmLagMs: spec.kind === 'amqp' ? confirmedAt - (sentAt.at(-1) ?? confirmedAt) : 0,
      };
      port.postMessage({ type: 'done', id, ...run } satisfies PacerReply, [sentAt.buffer]);
    } catch (error) {
      port.postMessage({
        type: 'failed',
        id,
        message: error instanceof Error ? error.message : String(error),
      } satisfies PacerReply);
    }
  })();
});
port.postMessage({ type: 'ready' } satisfies PacerReply);
