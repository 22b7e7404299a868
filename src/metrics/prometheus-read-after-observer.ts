import { Counter, Histogram, type Registry as PromRegistry } from 'prom-client';
import type { ReadAfterObserver, ReadAfterOutcome } from '../core/read-after-observer.js';

export interface PrometheusReadAfterObserverOptions {
  /** Where the metrics are registered. */
  readonly register: PromRegistry;
  /**
   * Buckets of `pokegate_read_after_seconds`.
   * @default [0.001, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2, 5]
   */
  readonly buckets?: readonly number[];
}

const defaultBuckets = [0.001, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2, 5];
const outcomes: readonly ReadAfterOutcome[] = ['visible', 'timeout', 'invalid'];

/**
 * A ReadAfterObserver that keeps `pokegate_read_after_seconds` (the wait of
 * each operation with tokens, refused ones aside) and
 * `pokegate_read_after_total{outcome}`, every outcome starting at 0.
 */
export function createPrometheusReadAfterObserver(
  options: PrometheusReadAfterObserverOptions,
): ReadAfterObserver {
  const registers = [options.register];
  const seconds = new Histogram({
    name: 'pokegate_read_after_seconds',
    help: 'Wait of an operation for its read-after tokens',
    buckets: [...(options.buckets ?? defaultBuckets)],
    registers,
  });
  const total = new Counter({
    name: 'pokegate_read_after_total',
    help: 'Operations with read-after tokens, by outcome: visible, timeout, invalid',
    labelNames: ['outcome'],
    registers,
  });
  for (const outcome of outcomes) total.inc({ outcome }, 0);
  return {
    readAfter: (e) => {
      total.inc({ outcome: e.outcome });
      if (e.outcome !== 'invalid') seconds.observe(e.waitedMs / 1_000);
    },
  };
}
