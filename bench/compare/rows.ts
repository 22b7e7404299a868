// The rows of the side-by-side table for each kind of step: which metrics,
// their labels and formats, and the targets as checks on the medians.
import type { ServerId, Step } from './plan.js';
import type { MetricName } from './samples.js';

export interface Target {
  readonly text: string;
  readonly met: (values: Readonly<Record<ServerId, number>>) => boolean;
}

export interface Row {
  readonly scenario: string;
  readonly metric: MetricName;
  readonly label: string;
  readonly target?: Target;
}

export const metricLabels: Record<MetricName, string> = {
  deliveriesPerSecond: 'deliveries/s',
  p50Ms: 'p50 to the last delivery (ms)',
  p99Ms: 'p99 to the last delivery (ms)',
  cpuUsPerPoke: 'server CPU per delivered poke (µs)',
  lost: 'lost pokes',
  duplicates: 'duplicate or stray pokes',
  checksPerEvent: 'read-view checks per event',
  checks: 'read-view checks in all',
  pokesPerSubscriber: 'pokes per subscriber (most)',
  late: 'pokes after the final one',
  sendSpreadMs: 'events sent within (ms)',
  heapBytesPerSubscription: 'heap per subscription (bytes)',
  rssBytesPerSubscription: 'RSS per subscription (bytes)',
  cpuUsPerEvent: 'server CPU per event (µs)',
  errors: 'protocol errors',
  firstP50Ms: 'p50 to the first delivery, 4 events in flight (ms)',
  firstAloneP50Ms: 'p50 to the first delivery, 1 event in flight (ms)',
  hopMs: 'broker hop alone, p50 (ms)',
  firstMinusHopMs: 'first delivery p50, 1 event in flight, minus the broker hop (ms)',
  postgresUsPerEvent: 'PostgreSQL CPU per event, net of its background (µs)',
  rabbitmqUsPerEvent: 'RabbitMQ CPU per event, net of its background (µs)',
  kneePerSecond: 'highest rate with p99 ≤ 100 ms, nothing lost (events/s)',
  skipped: 'pokes that never came',
  brokerP99Ms: 'quiet company: p99 publish → a bare consumer of its events, the broker alone (ms)',
  floodSkipped: "the flood's pokes that never came",
  floodMs: 'flood worked off in (ms)',
  rssGrowthBytes: 'server RSS growth, peak (MB)',
  drainMs: 'last publish → last poke at the others (ms)',
  afterConfirmMs: 'v-last at every subscriber, after the last publish is confirmed (ms)',
  arrivalRate: 'arrival: events/s achieved',
  arrivalGapP50Ms: 'arrival: gap between publishes, p50 (ms)',
  arrivalGapP99Ms: 'arrival: gap between publishes, p99 (ms)',
  arrivalPerTurn: 'arrival: most events in one write',
  confirmLagMs: 'arrival: last publish → all confirmed (ms)',
  rabbitmqFloorUsPerEvent: 'RabbitMQ CPU per event, bare amqplib floor, net (µs)',
  rabbitmqVsFloor: 'RabbitMQ CPU per event / the floor',
};

/** How the events of a paced step arrived, reported with its figures. */
const arrivalRows = (id: string): Row[] => [
  row(id, 'arrivalRate'),
  row(id, 'arrivalGapP50Ms'),
  row(id, 'arrivalGapP99Ms'),
  row(id, 'arrivalPerTurn'),
  row(id, 'confirmLagMs'),
];

const row = (scenario: string, metric: MetricName, target?: Target, label = metricLabels[metric]): Row =>
  target === undefined ? { scenario, metric, label } : { scenario, metric, label, target };

const fanOutRows = (id: string): Row[] => [
  row(id, 'deliveriesPerSecond', {
    text: 'C ≥ 0.8× A and ≥ 3× B',
    met: (v) => v.C >= 0.8 * v.A && v.C >= 3 * v.B,
  }),
  row(id, 'p50Ms'),
  row(id, 'p99Ms'),
  row(id, 'cpuUsPerPoke', { text: 'C ≤ 1.25× A', met: (v) => v.C <= 1.25 * v.A }),
];

/** The table's rows for each step, in the plan's order of scenarios. */
export function rowsFor(step: Step): Row[] {
  const { id } = step;
  switch (step.kind) {
    case 'memory':
      return [
        row(id, 'heapBytesPerSubscription', { text: 'C ≤ 0.6× B', met: (v) => v.C <= 0.6 * v.B }),
        row(id, 'rssBytesPerSubscription', { text: 'C ≤ 0.6× B', met: (v) => v.C <= 0.6 * v.B }),
      ];
    case 'paced':
      return [
        row(id, 'p50Ms', undefined, 'p50 publish → poke (ms)'),
        row(
          id,
          'p99Ms',
          step.ratePerSecond === 500 && id.startsWith('many-keys')
            ? { text: 'C ≤ 10 ms and ≤ 2× B', met: (v) => v.C <= 10 && v.C <= 2 * v.B }
            : undefined,
          'p99 publish → poke (ms)',
        ),
        row(id, 'lost', { text: 'C: 0', met: (v) => v.C === 0 }),
        ...(step.externalCpu === true
          ? [
              row(
                id,
                'cpuUsPerEvent',
                { text: 'C ≤ 300 µs', met: (v) => v.C <= 300 },
                'Node (server) CPU per event (µs)',
              ),
              row(id, 'postgresUsPerEvent', { text: 'C ≤ 150 µs', met: (v) => v.C <= 150 }),
              row(id, 'rabbitmqUsPerEvent', { text: 'C ≤ 150 µs', met: (v) => v.C <= 150 }),
              row(id, 'rabbitmqFloorUsPerEvent'),
              row(id, 'rabbitmqVsFloor', { text: 'C ≤ 1.3×', met: (v) => v.C <= 1.3 }),
            ]
          : []),
        ...arrivalRows(id),
      ];
    case 'knee':
      return [
        row(id, 'kneePerSecond', { text: 'C ≥ 5,000', met: (v) => v.C >= 5_000 }),
        row(id, 'p99Ms', undefined, 'p99 at the first rate past the knee, or the last (ms)'),
        ...arrivalRows(id),
      ];
    case 'noisy':
      return [
        row(id, 'p50Ms', undefined, 'quiet company: p50 publish → poke (ms)'),
        row(
          id,
          'p99Ms',
          { text: 'C ≤ 100 ms', met: (v) => v.C <= 100 },
          'quiet company: p99 publish → poke (ms)',
        ),
        row(id, 'brokerP99Ms'),
        row(id, 'skipped', { text: 'C: 0', met: (v) => v.C === 0 }, 'quiet company: pokes that never came'),
        row(id, 'floodSkipped'),
        row(id, 'floodMs'),
      ];
    case 'flood':
      return [
        row(id, 'rssGrowthBytes', { text: 'C ≤ 50 MB', met: (v) => v.C <= 50 * 2 ** 20 }),
        row(id, 'drainMs'),
        row(id, 'skipped', { text: 'C: 0', met: (v) => v.C === 0 }),
      ];
    case 'burst':
      return [
        row(id, 'afterConfirmMs', { text: 'C ≤ 300 ms', met: (v) => v.C <= 300 }),
        row(id, 'checks', { text: 'C ≤ 5', met: (v) => v.C <= 5 }),
        row(id, 'pokesPerSubscriber', { text: 'C ≤ 3', met: (v) => v.C <= 3 }),
        row(
          id,
          'p99Ms',
          { text: 'C: after the last event is visible', met: (v) => Number.isFinite(v.C) },
          'last event sent → last subscriber has it (ms)',
        ),
        row(id, 'cpuUsPerEvent'),
      ];
    case 'queue-types':
      return [];
    case 'resync':
      return [
        row(id, 'deliveriesPerSecond'),
        row(id, 'p50Ms', undefined, 'p50 (ms)'),
        row(id, 'p99Ms', undefined, 'p99 (ms)'),
        row(id, 'cpuUsPerPoke'),
      ];
    case 'stream':
      if (id.startsWith('checks-'))
        return [row(id, 'checksPerEvent', { text: 'C = 1', met: (v) => Math.abs(v.C - 1) < 1e-9 })];
      return step.hopSamples === undefined
        ? fanOutRows(id)
        : [
            ...fanOutRows(id),
            row(id, 'firstP50Ms'),
            row(id, 'firstAloneP50Ms'),
            row(id, 'hopMs'),
            row(id, 'firstMinusHopMs', { text: 'C ≤ 2 ms', met: (v) => v.C <= 2 }),
          ];
  }
}

export function format(metric: MetricName, value: number): string {
  if (!Number.isFinite(value)) return '—';
  switch (metric) {
    case 'rssGrowthBytes':
      return (value / 2 ** 20).toFixed(1);
    case 'deliveriesPerSecond':
    case 'kneePerSecond':
    case 'floodMs':
    case 'postgresUsPerEvent':
    case 'rabbitmqUsPerEvent':
    case 'heapBytesPerSubscription':
    case 'rssBytesPerSubscription':
    case 'checks':
      return Math.round(value).toLocaleString('en-US');
    case 'checksPerEvent':
      return value.toFixed(2);
    case 'arrivalRate':
      return Math.round(value).toLocaleString('en-US');
    case 'rabbitmqFloorUsPerEvent':
      return Math.round(value).toLocaleString('en-US');
    case 'rabbitmqVsFloor':
      return `${value.toFixed(2)}×`;
    case 'arrivalGapP50Ms':
    case 'arrivalGapP99Ms':
    case 'confirmLagMs':
    case 'p50Ms':
    case 'p99Ms':
    case 'brokerP99Ms':
    case 'firstP50Ms':
    case 'firstAloneP50Ms':
    case 'hopMs':
    case 'firstMinusHopMs':
    case 'drainMs':
    case 'afterConfirmMs':
    case 'cpuUsPerPoke':
    case 'cpuUsPerEvent':
    case 'sendSpreadMs':
      return value < 10
        ? value.toFixed(2)
        : value < 100
          ? value.toFixed(1)
          : Math.round(value).toLocaleString('en-US');
    default:
      return String(value);
  }
}
