import { sha256 } from '@noble/hashes/sha2.js';
import { bytesToHex } from '@noble/hashes/utils.js';

/** The ids that are their own routing-key word: short, and free of `.`, `*` and `#`. */
const plain = /^[A-Za-z0-9_-]{1,64}$/;
/** With the `u` flag a surrogate pair is one code point: this finds only the lone ones. */
const loneSurrogate = /[\uD800-\uDFFF]/u;

/**
 * The one routing-key word of a tenant (a company, a user…), for routing keys
 * such as `orders.placed.<word>` and binding patterns such as
 * `orders.*.<word>`. The publisher and every consumer must agree on it, so
 * there is exactly one way to make it:
 *
 * - an id matching `^[A-Za-z0-9_-]{1,64}$` is its own word;
 * - any other id (dots, `*`, `#`, spaces, non-ASCII, empty, up to any length)
 *   is `~` followed by the 64 lowercase hex digits of the SHA-256 of its
 *   UTF-8 bytes (WTF-8 for a lone surrogate, so that no two strings share
 *   bytes). The `~` and the length of 65 keep it apart from every plain id,
 *   and it holds no `.`, `*` or `#`.
 *
 * Another language makes the same word with its own SHA-256 and UTF-8.
 * Synchronous and free of Node.js built-ins: it runs in a browser too.
 *
 * @example tenantWord('c1') === 'c1'
 * @example tenantWord('acme.eu') === '~' + sha256hex('acme.eu')
 * @throws TypeError when `tenantId` is not a string.
 */
export function tenantWord(tenantId: string): string {
  if (typeof tenantId !== 'string') {
    throw new TypeError(`Expected \`tenantId\` to be a string, got ${typeof tenantId}`);
  }
  if (plain.test(tenantId)) return tenantId;
  return `~${bytesToHex(sha256(wtf8(tenantId)))}`;
}

/**
 * UTF-8, with a lone surrogate encoded like any other code point (WTF-8):
 * the same bytes as `TextEncoder` for every well-formed string, and distinct
 * bytes for every distinct string (`TextEncoder` would turn each lone
 * surrogate into U+FFFD, and two ids into one word).
 */
function wtf8(text: string): Uint8Array {
  if (!loneSurrogate.test(text)) return new TextEncoder().encode(text);
  const bytes: number[] = [];
  for (const char of text) {
    const code = char.codePointAt(0) as number;
    if (code < 0x80) bytes.push(code);
    else if (code < 0x800) bytes.push(0xc0 | (code >> 6), 0x80 | (code & 0x3f));
    else if (code < 0x10000)
      bytes.push(0xe0 | (code >> 12), 0x80 | ((code >> 6) & 0x3f), 0x80 | (code & 0x3f));
    else
      bytes.push(
        0xf0 | (code >> 18),
        0x80 | ((code >> 12) & 0x3f),
        0x80 | ((code >> 6) & 0x3f),
        0x80 | (code & 0x3f),
      );
  }
  return Uint8Array.from(bytes);
}
