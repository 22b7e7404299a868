// Eager option validation: a bad option fails at construction with a TypeError
// that names it, never later on the hot path. Browser-safe: no Node built-in.

function describe(value: unknown): string {
  if (typeof value === 'string') return `"${value}"`;
  if (Array.isArray(value)) return 'an array';
  return `\`${String(value)}\` (${typeof value})`;
}

function range(minimum: number, maximum: number): string {
  return maximum === Infinity ? `≥ ${minimum}` : `between ${minimum} and ${maximum}`;
}

/** Throws the TypeError every validator throws: "Expected `name` to be …, got …". */
export function rejectOption(name: string, value: unknown, expected: string): never {
  throw new TypeError(`Expected \`${name}\` to be ${expected}, got ${describe(value)}`);
}

/**
 * The general form, for a shape no other validator names: `ok` says whether `value` is
 * what `expected` describes ("a WebSocket class", "a Standard Schema").
 */
export function expectThat<T>(name: string, value: T, ok: boolean, expected: string): T {
  return ok ? value : rejectOption(name, value, expected);
}

export function expectInteger(name: string, value: number, minimum: number, maximum = Infinity): number {
  if (!Number.isInteger(value) || value < minimum || value > maximum) {
    throw new TypeError(
      `Expected \`${name}\` to be an integer ${range(minimum, maximum)}, got ${describe(value)}`,
    );
  }
  return value;
}

/** Accepts `Infinity` as well, for "no limit". */
export function expectCount(name: string, value: number, minimum: number): number {
  if (value === Number.POSITIVE_INFINITY) return value;
  return expectInteger(name, value, minimum);
}

export function expectNumber(name: string, value: number, minimum: number, maximum = Infinity): number {
  if (typeof value !== 'number' || Number.isNaN(value) || value < minimum || value > maximum) {
    throw new TypeError(
      `Expected \`${name}\` to be a number ${range(minimum, maximum)}, got ${describe(value)}`,
    );
  }
  return value;
}

export function expectKey(value: unknown): string {
  if (typeof value !== 'string' || value.length === 0) {
    throw new TypeError(`Expected a key to be a non-empty string, got ${describe(value)}`);
  }
  return value;
}

export function expectString(name: string, value: unknown): string {
  if (typeof value !== 'string' || value.length === 0) {
    throw new TypeError(`Expected \`${name}\` to be a non-empty string, got ${describe(value)}`);
  }
  return value;
}

export function expectFunction<F>(name: string, value: F): F {
  if (typeof value !== 'function') {
    throw new TypeError(`Expected \`${name}\` to be a function, got ${describe(value)}`);
  }
  return value;
}

/** `undefined` passes: the option is left out. */
export function expectOptionalFunction<F>(name: string, value: F): F {
  return value === undefined ? value : expectFunction(name, value);
}

export function expectObject<O>(name: string, value: O): O {
  return expectThat(name, value, typeof value === 'object' && value !== null, 'an object');
}

/** Parses `value` as a URL whose scheme is one of `protocols` (`['amqp:', 'amqps:']`). */
export function expectUrl(name: string, value: unknown, protocols: readonly string[]): URL {
  const text = expectString(name, value);
  const expected = `an ${protocols.map((protocol) => `${protocol}//`).join(' or ')} URL`;
  if (!URL.canParse(text))
    throw new TypeError(`Expected \`${name}\` to be ${expected}, got an unparsable one`);
  const parsed = new URL(text);
  if (!protocols.includes(parsed.protocol)) {
    throw new TypeError(`Expected \`${name}\` to be ${expected}, got a ${parsed.protocol} one`);
  }
  return parsed;
}

const maxShortStringBytes = 255;
const utf8 = new TextEncoder();

/** An AMQP short string: routing and binding keys, queue and exchange names. */
export function expectShortString(name: string, value: unknown): string {
  const text = expectString(name, value);
  // A UTF-16 code unit is at most 3 UTF-8 bytes: a short key (every routing key
  // on the publish path) needs no encoding.
  if (text.length * 3 <= maxShortStringBytes) return text;
  const bytes = utf8.encode(text).length;
  if (bytes > maxShortStringBytes) {
    throw new TypeError(`Expected \`${name}\` to be at most 255 bytes long, got ${bytes}`);
  }
  return text;
}

export function expectKeys(name: string, value: unknown): readonly string[] {
  if (!Array.isArray(value) || value.length === 0) {
    throw new TypeError(`Expected \`${name}\` to be a non-empty array of strings, got ${describe(value)}`);
  }
  return (value as unknown[]).map((key, i) => expectShortString(`${name}[${i}]`, key));
}

export function expectArray<T>(name: string, value: readonly T[]): readonly T[] {
  const candidate: unknown = value;
  if (!Array.isArray(candidate)) {
    throw new TypeError(`Expected \`${name}\` to be an array, got ${describe(value)}`);
  }
  return value;
}
