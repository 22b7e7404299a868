import { describe, expect, it } from 'vitest';
import { closeSlowClient } from '../../src/graphql/websocket-hooks.js';
import { captureLogs } from '../utils/log-capture.js';

/** The part of a socket the hook reads, recording its closes. */
function socket(bufferedAmount: number) {
  const closes: [number, string][] = [];
  const fake = {
    OPEN: 1,
    readyState: 1,
    bufferedAmount,
    close(code: number, reason: string) {
      closes.push([code, reason]);
      fake.readyState = 2;
    },
  };
  return { fake, closes };
}

describe('closing a client too slow to read', () => {
  it('closes each stalled socket once with 1008, keeps the others, and logs a flood of them once', () => {
    const logs = captureLogs();
    const onNext = closeSlowClient(1_024, logs.logger);
    const stalled = Array.from({ length: 5 }, () => socket(4_096));
    const reading = socket(100);
    const next = (s: ReturnType<typeof socket>): void => {
      // The hook reads only the socket of graphql-ws's context.
      const args = [{ extra: { socket: s.fake } }] as unknown as Parameters<typeof onNext>;
      void onNext(...args);
    };
    for (const s of [...stalled, reading]) next(s);
    // Pokes keep coming for a socket that is already closing.
    for (const s of stalled) next(s);
    expect(stalled.map((s) => s.closes)).toEqual(stalled.map(() => [[1008, 'Client too slow']]));
    expect(reading.closes).toEqual([]);
    expect(logs.lines.filter((line) => line.msg === 'websocket client too slow, closing')).toHaveLength(1);
  });
});
