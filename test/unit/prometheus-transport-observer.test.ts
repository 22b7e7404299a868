import { Registry as PromRegistry } from 'prom-client';
import { describe, expect, it } from 'vitest';
import { createPrometheusTransportObserver } from 'pokegate/prometheus';

describe('createPrometheusTransportObserver', () => {
  it('keeps the transport metrics under the contract names, every outcome from 0', async () => {
    const register = new PromRegistry();
    const observer = createPrometheusTransportObserver({ register });
    let text = await register.metrics();
    expect(text).toContain('pokegate_events_total{outcome="malformed"} 0');
    expect(text).toContain('pokegate_broker_connected 0');
    expect(text).toContain('pokegate_projections_total{outcome="dead_lettered"} 0');

    observer.event?.({ outcome: 'accepted', routingKey: 'orders.placed' });
    observer.event?.({ outcome: 'accepted', routingKey: 'orders.placed' });
    observer.event?.({ outcome: 'unroutable', routingKey: 'orders.placed' });
    observer.consuming?.({ consuming: true });
    observer.projected?.({ outcome: 'retried' });
    text = await register.metrics();
    expect(text).toContain('pokegate_events_total{outcome="accepted"} 2');
    expect(text).toContain('pokegate_events_total{outcome="unroutable"} 1');
    expect(text).toContain('pokegate_broker_connected 1');
    expect(text).toContain('pokegate_projections_total{outcome="retried"} 1');

    observer.consuming?.({ consuming: false });
    expect(await register.metrics()).toContain('pokegate_broker_connected 0');
  });
});
