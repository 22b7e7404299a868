// The scale-out table and the targets, as markdown.
import { cpus } from 'node:os';
import { printTable } from '../table.js';
import type { ScaleOutPlan, ScaleOutSample, TargetCheck } from './plan.js';

const n = (value: number): string => value.toLocaleString('en-US');
/** µs of CPU per second as a share of one core. */
const core = (usPerSecond: number): string => `${(usPerSecond / 10_000).toFixed(1)} %`;

export function printScaleOut(
  plan: ScaleOutPlan,
  samples: readonly ScaleOutSample[],
  checks: readonly TargetCheck[],
): void {
  printTable(
    `${n(plan.companies)} subscribers (1 per socket), ${n(plan.ratePerSecond)} events/s persistent and confirmed, ${n(plan.events)} events per row (${n(plan.events / plan.ratePerSecond)} s); per replica and broker: per published event, × ${n(plan.ratePerSecond)}/s`,
    [
      'R',
      'routing',
      'balance',
      'subscribers/company',
      'published/s',
      'window s',
      'received/s per replica (max · mean)',
      'CPU per replica (max · mean)',
      'broker deliveries/event (replicas + projector)',
      'broker CPU',
      'machine busy (cores)',
      'bindings',
      'p50 / p99 ms',
      'lost',
      'stale (reads)',
      'idle replica: CPU · received/s',
      'projection',
    ],
    samples.map((s) => [
      String(s.replicas),
      s.routing === 'all' ? 'all (before)' : 'by tenant',
      s.affinity ? 'tenant hash' : 'leastconn',
      String(s.subscribersPerCompany),
      s.publishedPerSecond.toFixed(0),
      s.windowSeconds.toFixed(1),
      `${s.receivedMaxPerSecond.toFixed(0)} · ${s.receivedMeanPerSecond.toFixed(0)}`,
      `${core(s.cpuMaxUsPerSecond)} · ${core(s.cpuMeanUsPerSecond)}`,
      `${s.replicaDeliveriesPerEvent.toFixed(2)} + ${(s.deliveriesPerEvent - s.replicaDeliveriesPerEvent).toFixed(2)}`,
      core(s.brokerCpuUsPerSecond),
      `${s.machineBusyCores.toFixed(2)} of ${cpus().length}`,
      s.bindings === undefined ? '—' : n(s.bindings),
      `${s.p50Ms.toFixed(1)} / ${s.p99Ms.toFixed(1)}`,
      s.timedOut > 0 ? `${s.lost} (${s.timedOut} gate timeouts)` : String(s.lost),
      `${s.stale} (${n(s.reads)})`,
      `${core(s.idleCpuUsPerSecond)} · ${s.idleReceivedPerSecond.toFixed(0)}`,
      s.projectorApartCpuUsPerSecond === undefined
        ? 'in each replica'
        : `apart: ${core(s.projectorApartCpuUsPerSecond)}`,
    ]),
  );
  printTable(
    'Targets (with affinity, 1 subscriber per company)',
    ['target', 'measured', 'met'],
    checks.map((check) => [check.text, check.value, check.met ? 'yes' : '**no**']),
  );
}
