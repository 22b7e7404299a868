import { describe, expect, it } from 'vitest';
import type { NotificationListener } from 'pokegate/postgres';
import { createCommitListening } from '../../src/service/commit-listening.js';
import { flush, ManualClock } from '../utils/manual-clock.js';

/** Listeners that are live at once, and say when they are closed. */
function listeners() {
  const opened: { closed: boolean }[] = [];
  const open = (): Promise<NotificationListener> => {
    const state = { closed: false };
    opened.push(state);
    const listener: NotificationListener = {
      channel: 'pokegate_orders_public',
      get live() {
        return !state.closed;
      },
      close: () => {
        state.closed = true;
        return Promise.resolve();
      },
      [Symbol.asyncDispose]: () => listener.close(),
    };
    return Promise.resolve(listener);
  };
  return { opened, open };
}

describe('createCommitListening', () => {
  it('closes the listener once nobody wanted it for idleMs, and opens a new one when wanted again', async () => {
    const clock = new ManualClock();
    const { opened, open } = listeners();
    const listening = createCommitListening({ open, idleMs: 1_000, clock });
    listening.want();
    await listening.opened();
    expect(listening.live).toBe(true);
    await clock.advance(600);
    listening.want(); // a read waited: 1,000 ms more from now
    await clock.advance(600);
    expect(listening.live).toBe(true);
    await clock.advance(400);
    expect(listening.live).toBe(false);
    expect(opened.map((o) => o.closed)).toEqual([true]);
    listening.want();
    await listening.opened();
    expect(listening.live).toBe(true);
    expect(opened).toHaveLength(2);
    await listening.close();
    expect(opened.every((o) => o.closed)).toBe(true);
    expect(clock.pending).toBe(0);
  });

  it('stays open while a company has a local subscriber, and for idleMs after the last left', async () => {
    const clock = new ManualClock();
    const { opened, open } = listeners();
    const listening = createCommitListening({ open, idleMs: 1_000, clock });
    listening.want();
    listening.hold(1);
    listening.hold(1);
    await clock.advance(5_000);
    expect(listening.live).toBe(true);
    listening.hold(-1);
    listening.hold(-1);
    await clock.advance(999);
    expect(listening.live).toBe(true);
    await clock.advance(1);
    await flush();
    expect(listening.live).toBe(false);
    expect(opened).toHaveLength(1);
    await listening.close();
  });

  it('never closes an idle listener with an infinite idleMs', async () => {
    const clock = new ManualClock();
    const { open } = listeners();
    const listening = createCommitListening({ open, idleMs: Infinity, clock });
    listening.want();
    await listening.opened();
    await clock.advance(3_600_000);
    expect(listening.live).toBe(true);
    expect(clock.pending).toBe(0);
    await listening.close();
    expect(listening.live).toBe(false);
  });
});
