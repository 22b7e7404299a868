import { createHash } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import { tenantWord } from 'pokegate';
import { createTopicMatcher } from '../../src/transport/topic.js';

const sha256hex = (bytes: Uint8Array | string): string => createHash('sha256').update(bytes).digest('hex');

describe('tenantWord', () => {
  it('keeps an id of letters, digits, `_` and `-` up to 64 characters as it is', () => {
    for (const id of ['c1', 'ACME_eu-2', 'x'.repeat(64)]) expect(tenantWord(id)).toBe(id);
  });

  it('turns any other id into `~` and the SHA-256 of its UTF-8 bytes, in hex', () => {
    const ids = ['acme.eu', '#', '*', 'a*b#c', '', ' ', 'x'.repeat(65), 'café', '🦄 corp', 'é'.repeat(128)];
    for (const id of ids) expect(tenantWord(id)).toBe(`~${sha256hex(id)}`);
    // 255 bytes of UTF-8 (85 three-byte characters) make a word of 65 characters like any other.
    const long = '€'.repeat(85);
    expect(Buffer.byteLength(long)).toBe(255);
    expect(tenantWord(long)).toMatch(/^~[0-9a-f]{64}$/);
  });

  it('never yields a word a plain id could be, nor one that breaks a pattern', () => {
    const plain = /^[A-Za-z0-9_-]{1,64}$/;
    for (const id of ['a.b', '#', '*', '🦄', 'x'.repeat(300), '\u0000']) {
      const word = tenantWord(id);
      expect(word).not.toMatch(plain);
      expect(word).not.toMatch(/[.*#]/);
      // The word is one word: `orders.*.<word>` matches the tenant's keys and no other tenant's.
      const matches = createTopicMatcher([`orders.*.${word}`]);
      expect(matches(`orders.placed.${word}`)).toBe(true);
      expect(matches(`orders.placed.${tenantWord(`${id}x`)}`)).toBe(false);
    }
  });

  it('gives two ids with different lone surrogates two words', () => {
    expect(tenantWord('a\uD800')).not.toBe(tenantWord('a\uD801'));
    expect(tenantWord('a\uD800')).not.toBe(tenantWord('a\uFFFD'));
    // A well-formed pair is plain UTF-8.
    expect(tenantWord('\uD83E\uDD84')).toBe(`~${sha256hex('🦄')}`);
  });

  it('refuses what is not a string', () => {
    expect(() => tenantWord(42 as unknown as string)).toThrow(/`tenantId`/);
  });
});
