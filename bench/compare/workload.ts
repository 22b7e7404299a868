// What the three servers and the load generator agree on: the subscription,
// the poke, the control messages of the two baselines, and the stats a server
// reports.

/** The one operation every subscriber runs, against every server. */
export const subscriptionQuery =
  'subscription ($companyId: ID!) { ordersChanged(companyId: $companyId) { companyId orderId removed version } }';

export const subprotocol = 'graphql-transport-ws';

/** The poke, as the reference service sends it. */
export interface Poke {
  readonly companyId: string;
  readonly orderId: string | null;
  readonly removed: boolean;
  readonly version: number | null;
}

/** An event as the baselines take it on their control socket (the reference service takes real events from RabbitMQ). */
export interface ControlEvent {
  readonly companyId: string;
  readonly orderId: string;
  readonly version: number;
}

/** Load generator → baseline, on the `/control` WebSocket: a batch of events, handled in order. */
export interface ControlMessage {
  readonly events: readonly ControlEvent[];
}

/** The baselines' control path. */
export const controlPath = '/control';

/** What every server reports about itself; `checks` counts read-view visibility checks. */
export interface ServerStats {
  /** User + system CPU of the server process since it started, µs. */
  readonly cpuUs: number;
  readonly rssBytes: number;
  readonly heapBytes: number;
  /** Subscriptions open now. */
  readonly subscriptions: number;
  /** Read-view visibility checks since start (0 for the raw baseline, which has none). */
  readonly checks: number;
  /** pokegate only: messages its transient consumer took from the broker since start. */
  readonly brokerEvents?: number;
  /** pokegate only: deliveries its projector settled since start. */
  readonly projected?: number;
  /** pokegate only: submissions whose gate budget ran out before the change was visible (no poke). */
  readonly timedOut?: number;
  /** pokegate only: its transient queue's bindings now (absent before interest routing). */
  readonly bindings?: number;
}

/** The `next` payload of a poke, serialised once. */
export function pokePayloadJson(poke: Poke): string {
  return JSON.stringify({ data: { ordersChanged: poke } });
}

/** A graphql-transport-ws `next` frame. */
export function nextFrame(id: string, payloadJson: string): string {
  return `{"id":${JSON.stringify(id)},"type":"next","payload":${payloadJson}}`;
}

/** CPU and memory of this process, after a full collection when `gc` is set. */
export function processStats(gc: boolean): Pick<ServerStats, 'cpuUs' | 'rssBytes' | 'heapBytes'> {
  const usage = process.cpuUsage();
  if (gc) {
    const collect = (globalThis as { gc?: () => void }).gc;
    if (collect === undefined) throw new Error('the servers run with node --expose-gc');
    collect();
    collect();
  }
  const memory = process.memoryUsage();
  return { cpuUs: usage.user + usage.system, rssBytes: memory.rss, heapBytes: memory.heapUsed };
}

/** Who subscribes: `subscribers` subscriptions on one company, or one company each. */
export interface Layout {
  readonly name: string;
  readonly subscribers: number;
  readonly companies: 'one' | 'each';
  /** With `each`: this many subscribers in a row share a company. @default 1 */
  readonly perCompany?: number;
  /** The companies' names: `<prefix>0`, `<prefix>1`, … @default 'c' */
  readonly prefix?: string;
  /** One more subscriber on each of these companies, after the others (the noisy neighbour's flooder). */
  readonly extra?: readonly string[];
  /** Subscriptions on `<prefix>0` on one more socket, whose client stops reading in a flood. */
  readonly stalled?: number;
}

/** The company of every subscriber of a layout, by subscriber index (the stalled client's aside). */
export function companiesOf(layout: Layout): string[] {
  const prefix = layout.prefix ?? 'c';
  return [
    ...Array.from(
      { length: layout.subscribers },
      (_, i) => `${prefix}${layout.companies === 'one' ? 0 : Math.floor(i / (layout.perCompany ?? 1))}`,
    ),
    ...(layout.extra ?? []),
  ];
}

/** Every subscription a layout opens. */
export function layoutSize(layout: Layout): number {
  return layout.subscribers + (layout.extra?.length ?? 0) + (layout.stalled ?? 0);
}
