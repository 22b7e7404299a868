import { Registry as PromRegistry } from 'prom-client';
import { afterEach, describe, expect, it } from 'vitest';
import { createGate, createRegistry } from 'pokegate';
import { createPrometheusObserver } from 'pokegate/prometheus';
import { ManualClock } from '../utils/manual-clock.js';

const disposables: { dispose(): void }[] = [];
afterEach(() => {
  for (const d of disposables.splice(0)) d.dispose();
});

async function value(register: PromRegistry, name: string, labels: Record<string, string>): Promise<number> {
  const metric = await register.getSingleMetric(name)?.get();
  const sample = metric?.values.find(
    (v) =>
      !('metricName' in v && v.metricName !== undefined && v.metricName !== name) &&
      Object.entries(labels).every(([k, l]) => v.labels[k] === l),
  );
  return sample?.value ?? Number.NaN;
}

describe('createPrometheusObserver', () => {
  it('exposes the core metrics under the contract names with the registry label', async () => {
    const register = new PromRegistry();
    const clock = new ManualClock();
    const gate = createGate({
      clock,
      observer: createPrometheusObserver({ register }),
      retry: { jitter: 0 },
    });
    const registry = createRegistry<{ v: number }>({ name: 'ordersChanged', gate, bufferSize: 1 });
    disposables.push(registry, gate);
    const labels = { registry: 'ordersChanged' };
    registry.addReceiver('c1');
    registry.addReceiver('c1');
    await registry.submit('c2', () => ({ v: 0 }));
    const visible = registry.submit('c1', ({ attempt }) => (attempt < 2 ? undefined : { v: 1 }), {
      occurredAt: clock.now() - 250,
    });
    await clock.advance(10);
    await visible;
    await registry.submit('c1', () => ({ v: 2 }));
    await registry.resync(() => ({ v: 3 }), { windowMs: 0 });

    expect(await value(register, 'pokegate_receivers', labels)).toBe(2);
    expect(await value(register, 'pokegate_pokes_total', labels)).toBe(2);
    expect(await value(register, 'pokegate_dropped_total', { ...labels, reason: 'buffer_full' })).toBe(4);
    expect(await value(register, 'pokegate_skipped_total', { ...labels, reason: 'no_receivers' })).toBe(1);
    expect(await value(register, 'pokegate_gate_checks_total', { ...labels, outcome: 'not_visible' })).toBe(
      1,
    );
    expect(await value(register, 'pokegate_gate_checks_total', { ...labels, outcome: 'visible' })).toBe(2);
    expect(await value(register, 'pokegate_resyncs_total', labels)).toBe(1);
    expect(await value(register, 'pokegate_gate_queue_depth', labels)).toBe(0);
    const text = await register.metrics();
    expect(text).toContain('pokegate_gate_seconds_count{registry="ordersChanged"} 2');
    expect(text).toContain('pokegate_visibility_lag_seconds_bucket{le="0.25",registry="ordersChanged"} 0');
    expect(text).toContain('pokegate_visibility_lag_seconds_bucket{le="0.5",registry="ordersChanged"} 1');
  });

  it('counts the checks that a poll, not a progress report, started', async () => {
    const register = new PromRegistry();
    const gate = createGate({ clock: new ManualClock(), observer: createPrometheusObserver({ register }) });
    const registry = createRegistry<{ v: number }>({ name: 'ordersChanged', gate });
    disposables.push(registry, gate);
    registry.addReceiver('c1');
    await registry.submit('c1', () => ({ v: 1 }), { coalesceKey: 'o1', version: 1 }); // no report: polled
    registry.progress('c1', 'o2', 1);
    await registry.submit('c1', () => ({ v: 1 }), { coalesceKey: 'o2', version: 1 }); // reported before
    const labels = { registry: 'ordersChanged' };
    expect(await value(register, 'pokegate_gate_fallback_checks_total', labels)).toBe(1);
    expect(await value(register, 'pokegate_gate_checks_total', { ...labels, outcome: 'visible' })).toBe(2);
  });
});
