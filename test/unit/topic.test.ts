import { describe, expect, it } from 'vitest';
import { createTopicMatcher } from '../../src/transport/topic.js';

describe('createTopicMatcher', () => {
  it('matches words exactly, `*` as one word and `#` as any number of words', () => {
    const cases: [string, string, boolean][] = [
      ['orders.placed', 'orders.placed', true],
      ['orders.placed', 'orders.removed', false],
      ['orders.*', 'orders.placed', true],
      ['orders.*', 'orders', false],
      ['orders.*', 'orders.placed.eu', false],
      ['orders.#', 'orders', true],
      ['orders.#', 'orders.placed.eu', true],
      ['#', 'anything.at.all', true],
      ['#.eu', 'orders.placed.eu', true],
      ['#.eu', 'orders.placed.us', false],
      ['*.placed.#', 'orders.placed', true],
      ['*.placed.#', 'placed', false],
    ];
    for (const [pattern, key, expected] of cases) {
      expect(createTopicMatcher([pattern])(key), `${pattern} ~ ${key}`).toBe(expected);
    }
  });

  it('matches when any of its patterns does', () => {
    const matches = createTopicMatcher(['orders.placed', 'invoices.#']);
    expect(matches('invoices.paid.late')).toBe(true);
    expect(matches('orders.removed')).toBe(false);
  });
});
