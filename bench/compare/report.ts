// Medians of the repetitions, the ratios C/A and C/B, the targets,
// and the three outputs: the markdown table, `bench/results.json`, and the
// benchmark report's (bench/README.md) copy of the latest full table.
import { readFile, writeFile } from 'node:fs/promises';
import os from 'node:os';
import * as prettier from 'prettier';
import { median } from '../table.js';
import { serverLabels, type Plan, type ServerId } from './plan.js';
import { format, metricLabels, rowsFor } from './rows.js';
import type { MetricName, Sample } from './samples.js';

/** Samples by scenario, then server, one per repetition. */
export type Samples = Map<string, Record<ServerId, Sample[]>>;

const servers: readonly ServerId[] = ['A', 'B', 'C'];

const ratio = (a: number, b: number): string =>
  Number.isFinite(a) && Number.isFinite(b) && b !== 0 ? `${(a / b).toFixed(2)}×` : '—';

export interface Report {
  readonly markdown: string;
  readonly json: unknown;
  /** Lost pokes and protocol errors over every scenario and server: the smoke test fails on any. */
  readonly failures: readonly string[];
  readonly missed: readonly string[];
}

export function buildReport(plan: Plan, samples: Samples, started: Date): Report {
  const medians = new Map<string, Record<ServerId, Sample>>();
  for (const [scenario, byServer] of samples) {
    const entry = {} as Record<ServerId, Sample>;
    for (const id of servers) {
      const runs = byServer[id];
      const keys = new Set(runs.flatMap((run) => Object.keys(run) as MetricName[]));
      entry[id] = Object.fromEntries(
        [...keys].map((key) => [
          key,
          median(runs.map((run) => run[key] ?? NaN).filter((v) => !Number.isNaN(v))),
        ]),
      );
    }
    medians.set(scenario, entry);
  }
  const steps = new Map(plan.rounds.flatMap((round) => round.steps.map((step) => [step.id, step] as const)));
  const table: string[][] = [];
  const targets: unknown[] = [];
  const missed: string[] = [];
  for (const { id, label } of plan.scenarios) {
    const step = steps.get(id);
    const entry = medians.get(id);
    if (step === undefined || entry === undefined) continue;
    rowsFor(step).forEach((spec, i) => {
      const values = {
        A: entry.A[spec.metric] ?? NaN,
        B: entry.B[spec.metric] ?? NaN,
        C: entry.C[spec.metric] ?? NaN,
      };
      const met = spec.target?.met(values);
      if (spec.target !== undefined) {
        targets.push({ scenario: id, metric: spec.metric, target: spec.target.text, values, met });
        if (met !== true) missed.push(`${label} — ${spec.label}: ${spec.target.text}`);
      }
      table.push([
        i === 0 ? label : '',
        spec.label,
        ...servers.map((server) => format(spec.metric, values[server])),
        ratio(values.C, values.A),
        ratio(values.C, values.B),
        spec.target === undefined ? '' : `${spec.target.text} ${met === true ? '✓' : '✗'}`,
      ]);
    });
  }
  const failures: string[] = [];
  const totals = {
    lost: { A: 0, B: 0, C: 0 },
    duplicates: { A: 0, B: 0, C: 0 },
    errors: { A: 0, B: 0, C: 0 },
  };
  for (const [scenario, byServer] of samples) {
    for (const server of servers) {
      for (const run of byServer[server]) {
        for (const key of ['lost', 'duplicates', 'errors'] as const) {
          const value = run[key] ?? 0;
          totals[key][server] += value;
          if (value > 0 && key !== 'duplicates')
            failures.push(`${serverLabels[server]}, ${scenario}: ${value} ${metricLabels[key]}`);
        }
      }
    }
  }
  table.push([
    'every scenario, every repetition',
    'lost pokes',
    ...servers.map((s) => String(totals.lost[s])),
    '',
    '',
    `C: 0 ${totals.lost.C === 0 ? '✓' : '✗'}`,
  ]);
  if (totals.lost.C !== 0) missed.push('zero lost pokes');
  table.push(['', metricLabels.errors, ...servers.map((s) => String(totals.errors[s])), '', '', '']);
  const header = ['scenario', 'metric', ...servers.map((s) => serverLabels[s]), 'C/A', 'C/B', 'target'];
  const markdown = [
    `| ${header.join(' | ')} |`,
    `| ${header.map(() => '---').join(' | ')} |`,
    ...table.map((cells) => `| ${cells.join(' | ')} |`),
  ].join('\n');
  return {
    markdown,
    failures,
    missed,
    json: {
      date: started.toISOString(),
      mode: plan.mode,
      machine: machine(),
      repetitions: plan.repetitions,
      medians: Object.fromEntries(medians),
      samples: Object.fromEntries(samples),
      targets,
      totals,
    },
  };
}

/** The machine, in one line. */
export function machine(): string {
  const cpus = os.cpus();
  const memoryGiB = Math.round(os.totalmem() / 2 ** 30);
  return `${cpus[0]?.model.trim() ?? 'unknown CPU'} × ${cpus.length} (shared), ${memoryGiB} GiB, ${os.type()}, Node ${process.version}`;
}

export async function writeResults(path: URL, json: unknown): Promise<void> {
  await writeFile(path, `${JSON.stringify(json, null, 2)}\n`);
}

const start = '<!-- side-by-side:start -->';
const end = '<!-- side-by-side:end -->';

/** Replaces the benchmark report's (`bench/README.md`) side-by-side table (between its markers) and formats the file as `npm run check` expects. */
export async function updateReadme(path: URL, plan: Plan, markdown: string, started: Date): Promise<void> {
  const text = await readFile(path, 'utf8');
  const from = text.indexOf(start);
  const to = text.indexOf(end);
  if (from === -1 || to < from) throw new Error(`${path.pathname} has no ${start} … ${end} block`);
  const block = [
    start,
    '',
    `Latest full run: ${started.toISOString().slice(0, 10)}, ${machine()}; median of ${plan.repetitions} alternating repetitions; subscriptions per socket as each scenario says.`,
    '',
    markdown,
    '',
    end,
  ].join('\n');
  const updated = text.slice(0, from) + block + text.slice(to + end.length);
  const options = (await prettier.resolveConfig(path.pathname)) ?? {};
  await writeFile(path, await prettier.format(updated, { ...options, parser: 'markdown' }));
}
