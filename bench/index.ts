// `npm run bench`: every benchmark, one after the other, each printing its table.
// `npm run bench:quick`: only the side-by-side comparison, small and once — the
// smoke run of CI, which fails on a crash, a lost poke or a protocol error and
// asserts nothing about speed. Where losses are what a scenario measures (the
// noisy neighbour's and the stalled client's floods, the knee past its rate)
// they are reported as pokes that never came, checked against the targets,
// and fail neither run; every other scenario's lost poke fails both.
//
// Options: `--only=<scenario,…>` runs only those side-by-side scenarios (ids
// as in bench/compare/plan.ts: many-keys-500, many-keys-500-1, knee, noisy,
// stalled-flood, hot-small, burst, checks-lag, idle-memory-1, …),
// `--servers=A,B,C` only those servers; `--profile=<dir>` writes a
// `--cpu-prof` profile of pokegate's server (C).
// `--arrival=ticks` sends the paced steps' events as the benchmark did before
// (every event due at once, on a 1 ms timer) instead of each at its own time;
// `--seconds=<n>` runs each many-keys and knee rate n seconds (default 5);
// `--repetitions=<n>` repeats each scenario n times (default 3);
// `--publish=transient` publishes C's events non-persistent, as before.
// `--only=projector` runs only the projector's throughput benchmark; `--only=bindings`
// only what interest routing's bindings cost the broker (bench/bindings.ts);
// `--only=notices` only what the commit notices cost each replica (bench/notices.ts);
// `--only=idle-replica` only what a replica without subscribers pays (bench/idle-replica.ts).
// `--only=renewal` runs only the session renewal benchmark, at the size
// (5,000 clients, 60 s tokens, 10 minutes a run) unless told:
// `--clients=N --token-sec=S --duration-sec=D --writes-per-sec=W --jitter=J`
// (the client's `renewal.jitter`); with
// `--quick`, a tiny run (40 clients, 8 s tokens, 20 s).
// `--only=scale-out` runs only the scale-out benchmark (R replicas behind
// HAProxy, bench/scale-out); the quick run includes a tiny one. With it,
// `--replicas=1,8` runs only fleets of those sizes, `--rate=<events/s>`
// publishes at that rate instead of 1,000/s, `--profile=<dir>` writes a
// `--cpu-prof` profile of every replica, and `--projection=apart` runs the
// replicas without their projectors and one projecting instance apart
// (`each`, every replica projecting, by default).
import { parseArgs } from 'node:util';
import { benchAmqp } from './amqp.js';
import { benchBindings } from './bindings.js';
import { benchCompare } from './compare/index.js';
import type { ServerId } from './compare/plan.js';
import { benchCore } from './core.js';
import { benchIdleReplica } from './idle-replica.js';
import { benchNotices } from './notices.js';
import { benchProjector } from './projector.js';
import { benchRenewal, fullRenewalBench, quickRenewalBench } from './renewal.js';
import { benchScaleOut } from './scale-out/index.js';

const { values } = parseArgs({
  options: {
    quick: { type: 'boolean', default: false },
    only: { type: 'string' },
    replicas: { type: 'string' },
    rate: { type: 'string' },
    jitter: { type: 'string' },
    profile: { type: 'string' },
    projection: { type: 'string' },
    servers: { type: 'string' },
    arrival: { type: 'string' },
    seconds: { type: 'string' },
    repetitions: { type: 'string' },
    publish: { type: 'string' },
    clients: { type: 'string' },
    'token-sec': { type: 'string' },
    'duration-sec': { type: 'string' },
    'writes-per-sec': { type: 'string' },
  },
});
if (values.arrival !== undefined && values.arrival !== 'even' && values.arrival !== 'ticks') {
  throw new TypeError(`Expected \`--arrival\` to be even or ticks, got ${values.arrival}`);
}
const projection = values.projection;
if (projection !== undefined && projection !== 'each' && projection !== 'apart') {
  throw new TypeError(`Expected \`--projection\` to be each or apart, got ${projection}`);
}

/** A number option of at least `min` (above 0 by default), or undefined when absent. */
function optionalNumber(name: string, min = Number.MIN_VALUE): number | undefined {
  const raw = (values as Record<string, string | boolean | undefined>)[name];
  if (raw === undefined) return undefined;
  const value = Number(raw);
  if (!(value >= min)) throw new TypeError(`Expected --${name} to be a number ≥ ${min}, got ${String(raw)}`);
  return value;
}

/** A positive number option, or `fallback` when absent. */
const numberOption = (name: string, fallback: number): number => optionalNumber(name) ?? fallback;

console.log(`node ${process.version}, ${process.platform}/${process.arch}\n`);
// The benchmarks that run alone and only print.
const printOnly: Record<string, () => Promise<void>> = {
  bindings: benchBindings,
  'idle-replica': benchIdleReplica,
  notices: benchNotices,
  projector: benchProjector,
};
const alone =
  values.only !== undefined && Object.hasOwn(printOnly, values.only) ? printOnly[values.only] : undefined;
if (alone !== undefined) {
  await alone();
  process.exit(0);
}
if (values.only === 'renewal') {
  const size = values.quick ? quickRenewalBench : fullRenewalBench;
  const ok = await benchRenewal({
    ...size,
    clients: numberOption('clients', size.clients),
    tokenSec: numberOption('token-sec', size.tokenSec),
    durationSec: numberOption('duration-sec', size.durationSec),
    writesPerSec: numberOption('writes-per-sec', size.writesPerSec),
    jitter: optionalNumber('jitter', 0),
  });
  process.exit(ok ? 0 : 1);
}
if (values.only === 'scale-out') {
  const replicas = values.replicas?.split(',').map(Number);
  const ok = await benchScaleOut(values.quick ? 'quick' : 'full', {
    replicas,
    profileDir: values.profile,
    ratePerSecond: optionalNumber('rate'),
    projection,
  });
  process.exit(ok ? 0 : 1);
}
if (!values.quick && values.only === undefined) {
  await benchCore();
  await benchAmqp();
  await benchProjector();
}
const ok = await benchCompare({
  mode: values.quick ? 'quick' : 'full',
  profileDir: values.profile,
  only: values.only?.split(','),
  servers: values.servers?.split(',') as ServerId[] | undefined,
  arrival: values.arrival,
  seconds: values.seconds === undefined ? undefined : Number(values.seconds),
  repetitions: values.repetitions === undefined ? undefined : Number(values.repetitions),
  publish: values.publish === 'transient' ? 'transient' : undefined,
});
// The full run's scale-out takes minutes of its own: `--only=scale-out` runs it; the smoke run runs it tiny.
const scaledOut = values.quick && values.only === undefined ? await benchScaleOut('quick') : true;
process.exit(ok && scaledOut ? 0 : 1);
