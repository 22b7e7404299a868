/**
 * The Observer and the transport observer as prom-client metrics.
 *
 * @module pokegate/prometheus
 */
export { createPrometheusObserver } from './prometheus-observer.js';
export type { PrometheusObserverOptions } from './prometheus-observer.js';
export { createPrometheusTransportObserver } from './prometheus-transport-observer.js';
export type { PrometheusTransportObserverOptions } from './prometheus-transport-observer.js';
export { createPrometheusReadAfterObserver } from './prometheus-read-after-observer.js';
export type { PrometheusReadAfterObserverOptions } from './prometheus-read-after-observer.js';
