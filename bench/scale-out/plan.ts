// The scale-out benchmark's sizes (full, and the quick smoke run of CI) and
// the targets of the issue, as checks on one run's figures.

/** Replicas started together, and what runs on them. */
export interface FleetPlan {
  readonly replicas: number;
  /** `INTEREST_ROUTING`: `all` is the behaviour before interest routing, every event to every replica. */
  readonly routing: 'tenant' | 'all';
  /**
   * Subscribers (sockets of one subscription each) per company, each a
   * configuration. 1 is the setup: every company then lives on one
   * replica whatever the balancer does, so only more shows what the tenant hash adds.
   */
  readonly subscribersPerCompany: readonly number[];
  /** With the tenant hash (true), by least connections (false), or both. */
  readonly affinity: readonly boolean[];
}

export interface ScaleOutPlan {
  readonly mode: 'full' | 'quick';
  /** In order; each fleet is started, measured and stopped. */
  readonly fleets: readonly FleetPlan[];
  /** Subscribers in every configuration: `companies` ÷ subscribers per company companies. */
  readonly companies: number;
  /** Events published per second, evenly paced, uniform over companies. */
  readonly ratePerSecond: number;
  /** Measured events per configuration. */
  readonly events: number;
  /** Unmeasured events before each measurement: every replica's JIT warm. */
  readonly warmUpEvents: number;
  /** Reads one poke in this many back, for stale reads. */
  readonly readEvery: number;
  /** Nothing arrived for this long: what is missing is lost. Above the gate's 5 s budget. */
  readonly stallMs: number;
}

export function createScaleOutPlan(mode: 'full' | 'quick'): ScaleOutPlan {
  const full = mode === 'full';
  const both = [false, true] as const;
  return {
    mode,
    fleets: full
      ? [
          { replicas: 1, routing: 'tenant', subscribersPerCompany: [1], affinity: [true] },
          { replicas: 2, routing: 'tenant', subscribersPerCompany: [1], affinity: both },
          { replicas: 4, routing: 'tenant', subscribersPerCompany: [1], affinity: both },
          { replicas: 8, routing: 'tenant', subscribersPerCompany: [1, 4], affinity: both },
          // Before interest routing, at the largest fleet: the figures the targets improve on.
          { replicas: 8, routing: 'all', subscribersPerCompany: [1], affinity: [true] },
        ]
      : [
          { replicas: 1, routing: 'tenant', subscribersPerCompany: [1], affinity: [true] },
          { replicas: 2, routing: 'tenant', subscribersPerCompany: [1], affinity: both },
        ],
    companies: full ? 5_000 : 200,
    ratePerSecond: full ? 1_000 : 200,
    events: full ? 10_000 : 400,
    warmUpEvents: full ? 2_000 : 100,
    readEvery: 10,
    stallMs: 8_000,
  };
}

/**
 * One configuration's figures. Rates and CPU are per published event, times
 * the nominal rate: what a second at that rate costs, even when the machine
 * took longer than a second for it.
 */
export interface ScaleOutSample {
  readonly replicas: number;
  readonly routing: 'tenant' | 'all';
  readonly affinity: boolean;
  readonly subscribersPerCompany: number;
  readonly subscribers: number;
  /** Events published per second, as the publisher managed it. */
  readonly publishedPerSecond: number;
  /** First publish → last poke (or the stall), s: above events ÷ rate, the fleet fell behind. */
  readonly windowSeconds: number;
  /** Gate budgets that ran out (the poke skipped, counted), over the fleet. */
  readonly timedOut: number;
  /** Messages each replica's transient consumer took per second: the busiest, and the mean. */
  readonly receivedMaxPerSecond: number;
  readonly receivedMeanPerSecond: number;
  /** CPU of each replica process, in µs per second (1,000,000 = one core): the busiest, and the mean. */
  readonly cpuMaxUsPerSecond: number;
  readonly cpuMeanUsPerSecond: number;
  /** Broker deliveries to the replicas' transient queues per published event (R before interest routing). */
  readonly replicaDeliveriesPerEvent: number;
  /** All broker deliveries per published event: the replicas' and the projectors' (R + 1 before interest routing). */
  readonly deliveriesPerEvent: number;
  /** CPU of RabbitMQ's beam process, µs per second. */
  readonly brokerCpuUsPerSecond: number;
  /** Cores busy on the whole machine over the window (every process: the fleet, broker, database, proxy, load generator). */
  readonly machineBusyCores: number;
  /** Bindings of the transient queues, summed (undefined before interest routing). */
  readonly bindings: number | undefined;
  readonly p50Ms: number;
  readonly p99Ms: number;
  readonly lost: number;
  readonly stale: number;
  readonly reads: number;
  readonly errors: number;
  /** The replica without subscribers (and without projector) beside the fleet: CPU µs per second, messages per second. */
  readonly idleCpuUsPerSecond: number;
  readonly idleReceivedPerSecond: number;
  /** The instance projecting apart from the fleet (`--projection=apart`): CPU µs per second; undefined when every replica projects. */
  readonly projectorApartCpuUsPerSecond: number | undefined;
}

export interface TargetCheck {
  readonly text: string;
  readonly met: boolean;
  readonly value: string;
}

/** How a configuration is named in the checks. */
export const configurationName = (s: ScaleOutSample): string =>
  `R=${s.replicas}${s.routing === 'all' ? ' routing all' : ''} ${s.affinity ? 'tenant hash' : 'leastconn'} ${s.subscribersPerCompany}/company`;

const pct = (usPerSecond: number): string => `${(usPerSecond / 10_000).toFixed(1)} % of a core`;

/** The targets, on the configurations with affinity and one subscriber per company (and 0 lost, 0 stale everywhere). */
export function checkTargets(samples: readonly ScaleOutSample[], rate: number): TargetCheck[] {
  const checks: TargetCheck[] = [];
  const withAffinity = samples.filter(
    (s) => s.routing === 'tenant' && s.affinity && s.subscribersPerCompany === 1,
  );
  for (const s of withAffinity) {
    const limit = (1.2 * rate) / s.replicas;
    checks.push({
      text: `R=${s.replicas}: events received per replica ≤ 1.2 × events/s ÷ R (${limit.toFixed(0)}/s)`,
      met: s.receivedMaxPerSecond <= limit,
      value: `${s.receivedMaxPerSecond.toFixed(0)}/s`,
    });
    // The projection takes every event once whatever the replicas do: the target is on the replicas' share.
    checks.push({
      text: `R=${s.replicas}: broker deliveries to replicas per published event ≤ 1.3 (+ 1 to the projector)`,
      met: s.replicaDeliveriesPerEvent <= 1.3,
      value: `${s.replicaDeliveriesPerEvent.toFixed(2)} (+ ${(s.deliveriesPerEvent - s.replicaDeliveriesPerEvent).toFixed(2)})`,
    });
  }
  const one = withAffinity.find((s) => s.replicas === 1);
  const eight = withAffinity.find((s) => s.replicas === 8);
  if (one !== undefined && eight !== undefined) {
    checks.push({
      text: 'per-replica CPU at R=8 ≤ 0.25 × R=1’s (mean replica)',
      met: eight.cpuMeanUsPerSecond <= 0.25 * one.cpuMeanUsPerSecond,
      value: `${(eight.cpuMeanUsPerSecond / one.cpuMeanUsPerSecond).toFixed(2)}×`,
    });
    checks.push({
      text: 'p99 publish → poke at R=8 ≤ 1.2 × R=1’s',
      met: eight.p99Ms <= 1.2 * one.p99Ms,
      value: `${(eight.p99Ms / one.p99Ms).toFixed(2)}× (${eight.p99Ms.toFixed(1)} / ${one.p99Ms.toFixed(1)} ms)`,
    });
  }
  for (const s of samples) {
    checks.push({
      text: `${configurationName(s)}: idle replica ≤ 2 % of a core`,
      met: s.idleCpuUsPerSecond <= 20_000,
      value: pct(s.idleCpuUsPerSecond),
    });
  }
  return checks;
}

/** Lost pokes, stale reads and protocol errors fail a run, quick or full. */
export function failures(samples: readonly ScaleOutSample[]): string[] {
  return samples.flatMap((s) => {
    return [
      ...(s.lost > 0 ? [`${configurationName(s)}: ${s.lost} pokes lost`] : []),
      ...(s.stale > 0 ? [`${configurationName(s)}: ${s.stale} stale reads`] : []),
      ...(s.errors > 0 ? [`${configurationName(s)}: ${s.errors} protocol or read errors`] : []),
    ];
  });
}
