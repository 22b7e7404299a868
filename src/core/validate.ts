// Eager option validation: a bad option fails at construction with a TypeError
// that names it, never later on the hot path.

function describe(value: unknown): string {
  return typeof value === 'string' ? `"${value}"` : `\`${String(value)}\` (${typeof value})`;
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
