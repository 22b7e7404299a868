import { describe, expect, it } from 'vitest';
import { createLogThrottle } from '../../src/common/log-throttle.js';
import { captureLogs } from '../utils/log-capture.js';
import { ManualClock } from '../utils/manual-clock.js';

describe('the log throttle', () => {
  it('logs a warning once, then one summary with the count per interval', async () => {
    const clock = new ManualClock();
    const { logger, lines } = captureLogs();
    const throttle = createLogThrottle({ logger, intervalMs: 1_000, clock });
    for (let i = 0; i < 10_000; i++) throttle.warn('malformed', { n: i }, 'dropped');
    throttle.warn('other', {}, 'refused');
    expect(lines.map((line) => [line.msg, line['n']])).toEqual([
      ['dropped', 0],
      ['refused', undefined],
    ]);
    await clock.advance(1_000);
    expect(lines.slice(2)).toEqual([
      expect.objectContaining({ msg: 'dropped (repeated)', n: 9_999, repeated: 9_999, intervalMs: 1_000 }),
    ]);
    throttle.warn('malformed', { n: 10_000 }, 'dropped');
    await clock.advance(1_000);
    expect(lines.slice(3).map((line) => [line.msg, line['repeated']])).toEqual([['dropped (repeated)', 1]]);
    throttle.dispose();
  });

  it('logs the next occurrence at once after a quiet interval, and stops its timer when quiet', async () => {
    const clock = new ManualClock();
    const { logger, lines } = captureLogs();
    const throttle = createLogThrottle({ logger, intervalMs: 1_000, clock });
    throttle.warn('k', {}, 'dropped');
    await clock.advance(1_000);
    expect(clock.pending).toBe(0);
    throttle.warn('k', {}, 'dropped');
    expect(lines.map((line) => line.msg)).toEqual(['dropped', 'dropped']);
    throttle.dispose();
  });

  it('logs what is pending when disposed, and leaves no timer', async () => {
    const clock = new ManualClock();
    const { logger, lines } = captureLogs();
    const throttle = createLogThrottle({ logger, intervalMs: 1_000, clock });
    throttle.warn('k', {}, 'dropped');
    throttle.warn('k', {}, 'dropped');
    throttle.dispose();
    throttle.dispose();
    await clock.advance(0);
    expect(clock.pending).toBe(0);
    expect(lines.map((line) => [line.msg, line['repeated']])).toEqual([
      ['dropped', undefined],
      ['dropped (repeated)', 1],
    ]);
  });

  it('names a bad interval', () => {
    const { logger } = captureLogs();
    expect(() => createLogThrottle({ logger, intervalMs: 0 })).toThrow(/`intervalMs`/);
  });
});
