// The load generator, a process of its own: subscribers on plain `ws`
// sockets and the event source, driven by the orchestrator over IPC. One
// server at a time.
import {
  armResync,
  burst,
  paced,
  publishOnly,
  stream,
  type BurstParams,
  type PacedParams,
  type ResyncResult,
  type StreamParams,
} from './drivers.js';
import { brokerHopMs, openBrokerProbe } from './broker-hop.js';
import { noisyNeighbour, stalledFlood, type NoisyParams, type StalledFloodParams } from './floods.js';
import { amqpSink, controlSink, type EventSink, type SinkSpec } from './event-sink.js';
import { serveParent, type Request } from './ipc.js';
import { startPacedPublisher, type PacedPublisher } from './paced-publisher.js';
import { createSubscriberPool, type SubscriberPool } from './subscribers.js';
import { companiesOf, type Layout } from './workload.js';
import { createReadCheck, type ReadCheckSpec } from '../scale-out/read-check.js';

/** How to reach one server. */
export interface TargetSpec {
  readonly wsUrl: string;
  readonly authorization: string;
  readonly sink: SinkSpec;
  /** Each socket names its first subscription's company as the `tenant` URL parameter. @default false */
  readonly tenantHint?: boolean;
}

let pool: SubscriberPool | undefined;
let target: TargetSpec | undefined;
let sink: EventSink | undefined;
/** Started on the first paced run against the target, closed with it. */
let publisher: Promise<PacedPublisher> | undefined;
/** Publishers onto other exchanges of the target's broker (the floor's), by exchange. */
const others = new Map<string, Promise<PacedPublisher>>();
let waitResync: (() => Promise<ResyncResult>) | undefined;

function current(): { pool: SubscriberPool; sink: EventSink } {
  if (pool === undefined || sink === undefined) throw new Error('no target: send `target` first');
  return { pool, sink };
}

async function release(): Promise<void> {
  await pool?.close();
  // A sink whose broker connection was lost is closed already: its error was reported where it happened.
  await sink?.close().catch(() => undefined);
  await (await publisher?.catch(() => undefined))?.close();
  for (const other of others.values()) await (await other.catch(() => undefined))?.close();
  others.clear();
  pool = undefined;
  sink = undefined;
  publisher = undefined;
}

function pacedPublisher(): Promise<PacedPublisher> {
  if (target === undefined) throw new Error('no target: send `target` first');
  publisher ??= startPacedPublisher(target.sink);
  return publisher;
}

const params = <T>(request: Request): T => request['params'] as T;

serveParent(
  {
    target: async (request) => {
      await release();
      const spec = params<TargetSpec>(request);
      target = spec;
      pool = createSubscriberPool(spec.wsUrl, spec.authorization, spec.tenantHint);
      sink =
        spec.sink.kind === 'control'
          ? await controlSink(spec.sink.port)
          : await amqpSink(spec.sink.url, spec.sink.exchange, spec.sink.persistent);
      return null;
    },
    open: async (request) => {
      const { layout, perSocket } = params<{ layout: Layout; perSocket: number }>(request);
      await current().pool.open(companiesOf(layout), perSocket);
      if (layout.stalled !== undefined) {
        await current().pool.openStalled(`${layout.prefix ?? 'c'}0`, layout.stalled);
      }
      return null;
    },
    close: async () => {
      await current().pool.close();
      return null;
    },
    errors: () => current().pool.takeErrors(),
    /** Lets go of the server: its subscribers and its event sink. */
    release: async () => {
      await release();
      return null;
    },
    stream: (request) => stream(current().pool, current().sink, params<StreamParams>(request)),
    paced: async (request) => paced(current().pool, await pacedPublisher(), params<PacedParams>(request)),
    /** Paced events onto another exchange of the target's broker, with no subscriber: the broker floor's. */
    publish: async (request) => {
      const { exchange, events, ratePerSecond, runId } = params<{
        exchange: string;
        events: number;
        ratePerSecond: number;
        runId: string;
      }>(request);
      if (target?.sink.kind !== 'amqp') throw new Error('publish needs a broker target');
      const spec = { ...target.sink, exchange };
      let other = others.get(exchange);
      if (other === undefined) others.set(exchange, (other = startPacedPublisher(spec)));
      return publishOnly(await other, runId, events, ratePerSecond);
    },
    /** A paced run that also reads a sample of the poked orders back, counting stale reads. */
    pacedReads: async (request) => {
      const { reads, ...pacedParams } = params<PacedParams & { reads: ReadCheckSpec }>(request);
      const check = createReadCheck(reads);
      const result = await paced(current().pool, await pacedPublisher(), pacedParams, check.onPoke);
      return { ...result, reads: await check.result() };
    },
    burst: (request) => burst(current().pool, current().sink, params<BurstParams>(request)),
    noisy: async (request) => {
      const noisy = params<NoisyParams>(request);
      const sinkSpec = target?.sink;
      // On a broker, the quiet company's events are also taken by a bare consumer: the broker's share.
      const probe =
        sinkSpec?.kind === 'amqp'
          ? await openBrokerProbe(sinkSpec.url, sinkSpec.exchange, noisy.quietCompanyId)
          : undefined;
      try {
        return await noisyNeighbour(current().pool, current().sink, noisy, probe);
      } finally {
        await probe?.close();
      }
    },
    stalledFlood: (request) =>
      stalledFlood(current().pool, current().sink, params<StalledFloodParams>(request)),
    /** The broker hop alone, on the target's exchange; 0 for a target without a broker. */
    hop: (request) => {
      const sinkSpec = target?.sink;
      if (sinkSpec?.kind !== 'amqp') return 0;
      const { samples } = params<{ samples: number }>(request);
      return brokerHopMs({ url: sinkSpec.url, exchange: sinkSpec.exchange, samples });
    },
    armResync: (request) => {
      const { subscribers, stallMs } = params<{ subscribers: number; stallMs: number }>(request);
      waitResync = armResync(current().pool, subscribers, stallMs);
      return null;
    },
    awaitResync: () => {
      if (waitResync === undefined) throw new Error('armResync first');
      return waitResync();
    },
  },
  {},
  release,
);
