// Eager option validation: a bad option fails at construction with a TypeError
// that names it, never later on the hot path. Browser-safe: no Node built-in.

function describe(value: unknown): string {
  if (typeof value === 'string') return `"${value}"`;
  if (Array.isArray(value)) return 'an array';
  return `\`${String(value)}\` (${typeof value})`;
}

export function expectInteger(name: string, value: number, minimum: number): number {
  if (!Number.isInteger(value) || value < minimum) {
    throw new TypeError(`Expected \`${name}\` to be an integer ≥ ${minimum}, got ${describe(value)}`);
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
    const range = maximum === Infinity ? `≥ ${minimum}` : `between ${minimum} and ${maximum}`;
    throw new TypeError(`Expected \`${name}\` to be a number ${range}, got ${describe(value)}`);
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
