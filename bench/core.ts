// The core's hot paths, each measured against a plain-JavaScript floor in the
// same run, because only ratios mean anything on a shared machine.
import { createGate, createRegistry, type Receiver } from 'pokegate';
import { gc, median, printTable } from './table.js';

interface Poke {
  readonly companyId: string;
  readonly orderId: string;
  readonly version: number;
}

const rounds = 21;
/** Written by the floors so the engine cannot drop their loops. */
let sink = 0;

function time(fn: () => void): number {
  const start = process.hrtime.bigint();
  fn();
  return Number(process.hrtime.bigint() - start);
}

async function fanOut(receivers: number): Promise<{ pokegate: number; floor: number }> {
  const gate = createGate();
  const registry = createRegistry<Poke>({ name: 'bench', gate });
  const list: Receiver<Poke>[] = Array.from({ length: receivers }, () => registry.addReceiver('c1'));
  const samples: number[] = [];
  for (let round = 0; round < rounds; round++) {
    const poke = { companyId: 'c1', orderId: 'o1', version: round };
    const start = process.hrtime.bigint();
    await registry.submit('c1', () => poke);
    samples.push(Number(process.hrtime.bigint() - start) / receivers);
    for (const receiver of list) await receiver.next();
  }
  registry.dispose();
  gate.dispose();
  // The floor: a Set walk that pushes the poke into each subscriber's array.
  const floorSet = new Set(Array.from({ length: receivers }, () => ({ buffer: [] as Poke[] })));
  const floor: number[] = [];
  for (let round = 0; round < rounds; round++) {
    const poke = { companyId: 'c1', orderId: 'o1', version: round };
    floor.push(
      time(() => {
        for (const r of floorSet) r.buffer.push(poke);
      }) / receivers,
    );
    for (const r of floorSet) r.buffer.length = 0;
  }
  return { pokegate: median(samples), floor: median(floor) };
}

function heapPerReceiver(count: number, pendingNext: boolean): number {
  const gate = createGate();
  const registry = createRegistry<Poke>({ name: 'bench', gate });
  gc();
  const before = process.memoryUsage().heapUsed;
  const keep: Receiver<Poke>[] = [];
  const waits: Promise<unknown>[] = [];
  for (let i = 0; i < count; i++) {
    const receiver = registry.addReceiver(`c${i % 10_000}`);
    keep.push(receiver);
    if (pendingNext) waits.push(receiver.next());
  }
  gc();
  const bytes = (process.memoryUsage().heapUsed - before) / count;
  registry.dispose();
  gate.dispose();
  return bytes;
}

function noReceiverSubmits(count: number): { pokegate: number; floor: number } {
  const gate = createGate();
  const registry = createRegistry<Poke>({ name: 'bench', gate });
  registry.addReceiver('someone-else');
  const keys = Array.from({ length: 1_000 }, (_, i) => `c${i}`);
  const producer = (): Poke => ({ companyId: 'x', orderId: 'x', version: 1 });
  const samples: number[] = [];
  for (let round = 0; round < 5; round++) {
    samples.push(
      time(() => {
        for (let i = 0; i < count; i++) void registry.submit(keys[i % 1_000] as string, producer);
      }) / count,
    );
  }
  registry.dispose();
  gate.dispose();
  // The floor: the Map lookup any keyed router does.
  const map = new Map([['someone-else', 1]]);
  const floor = median(
    Array.from({ length: 5 }, () =>
      time(() => {
        for (let i = 0; i < count; i++) if (map.has(keys[i % 1_000] as string)) sink++;
      }),
    ),
  );
  if (sink > count * 5) throw new Error('unreachable: the floor found keys that are not there');
  return { pokegate: median(samples), floor: floor / count };
}

async function producerRuns(receivers: number): Promise<number> {
  const gate = createGate();
  const registry = createRegistry<Poke>({ name: 'bench', gate });
  for (let i = 0; i < receivers; i++) registry.addReceiver('c1');
  let runs = 0;
  const events = 100;
  for (let version = 1; version <= events; version++) {
    await registry.submit('c1', () => {
      runs++;
      return { companyId: 'c1', orderId: 'o1', version };
    });
  }
  registry.dispose();
  gate.dispose();
  return runs / events;
}

const ns = (value: number): string => `${(value / 1000).toFixed(3)} µs`;

export async function benchCore(): Promise<void> {
  const fan = await fanOut(10_000);
  const idle = heapPerReceiver(100_000, false);
  const waiting = heapPerReceiver(100_000, true);
  const skip = noReceiverSubmits(100_000);
  const runs = [1, 100, 10_000].map((n) => [n, 0] as [number, number]);
  for (const row of runs) row[1] = await producerRuns(row[0]);
  printTable(
    'Core: registry and gate (median of the rounds)',
    ['measure', 'pokegate', 'plain-JS floor', 'ratio', 'target'],
    [
      [
        'fan-out, 1 submit → 10,000 receivers, per receiver',
        ns(fan.pokegate),
        ns(fan.floor),
        (fan.pokegate / fan.floor).toFixed(1),
        '≤ 1 µs',
      ],
      ['heap per idle receiver (100,000)', `${idle.toFixed(0)} B`, '—', '—', '≤ 1 KB'],
      [
        'heap per idle receiver with a pending next() (100,000)',
        `${waiting.toFixed(0)} B`,
        '—',
        '—',
        '≤ 1 KB',
      ],
      [
        'submit for a key with no receiver (100,000), per submit',
        ns(skip.pokegate),
        ns(skip.floor),
        (skip.pokegate / skip.floor).toFixed(1),
        '≤ 1 µs',
      ],
      ...runs.map(([n, perEvent]) => [
        `producer runs per event, ${n.toLocaleString('en')} receiver${n === 1 ? '' : 's'}`,
        perEvent.toFixed(2),
        '—',
        '—',
        '1',
      ]),
    ],
  );
}
