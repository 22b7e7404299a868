// Eager option validation for the transport: a bad option fails at
// construction with a TypeError that names it.

function describe(value: unknown): string {
  if (typeof value === 'string') return `"${value}"`;
  if (Array.isArray(value)) return 'an array';
  return `\`${String(value)}\` (${typeof value})`;
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

/** An AMQP short string: routing and binding keys, queue and exchange names. */
export function expectShortString(name: string, value: unknown): string {
  const text = expectString(name, value);
  if (Buffer.byteLength(text) > 255) {
    throw new TypeError(`Expected \`${name}\` to be at most 255 bytes long, got ${Buffer.byteLength(text)}`);
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
