import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { openAdmin, type Admin } from '../utils/amqp.js';
import { startTestApp, type TestApp } from '../utils/app.js';
import { metric } from '../utils/service.js';
import { waitFor } from '../utils/wait-for.js';

const floodSize = 10_000;

describe('logs under a flood', () => {
  let service: TestApp;
  let admin: Admin;

  beforeAll(async () => {
    service = await startTestApp();
    admin = await openAdmin();
  }, 60_000);

  afterAll(async () => {
    await admin.close();
    await service.stop();
  }, 60_000);

  it(`logs ${floodSize} malformed events in a few lines, counted one by one in the metrics`, async () => {
    const garbage = Buffer.from('{"eventId": ');
    for (let sent = 0; sent < floodSize; sent += 500) {
      await Promise.all(
        Array.from({ length: 500 }, () => admin.publish(service.exchange, 'orders.placed', garbage)),
      );
    }
    await waitFor(
      'every malformed event counted',
      async () =>
        (await metric(service.httpUrl, 'pokegate_events_total', { outcome: 'malformed' })) === floodSize &&
        (await metric(service.httpUrl, 'pokegate_projections_total', { outcome: 'dead_lettered' })) ===
          floodSize,
      { timeoutMs: 60_000 },
    );
    const flood = service.logs.filter(
      (line) =>
        line.msg?.startsWith('malformed message') === true || line.msg?.startsWith('dead-lettered') === true,
    );
    // One line each, then at most one summary each per 10 s interval.
    expect(flood.length).toBeGreaterThanOrEqual(2);
    expect(flood.length).toBeLessThanOrEqual(16);
  }, 90_000);
});
