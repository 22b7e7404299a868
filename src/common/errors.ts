/** Base class of every error pokegate throws on purpose. */
export class PokegateError extends Error {
  override name = 'PokegateError';
}

/** Thrown by `addReceiver` once the registry has been disposed. */
export class RegistryDisposedError extends PokegateError {
  override name = 'RegistryDisposedError';
  constructor(registry: string) {
    super(`Registry "${registry}" is disposed: it accepts no new receivers`);
  }
}

/** The reason a producer's `AbortSignal` carries when its gate budget is spent. */
export class GateTimeoutError extends PokegateError {
  override name = 'GateTimeoutError';
  constructor(timeoutMs: number, attempts: number) {
    super(`Not visible within the gate budget of ${timeoutMs} ms (${attempts} attempts)`);
  }
}

/** The reason a producer's `AbortSignal` carries when its registry or gate is disposed. */
export class DisposedError extends PokegateError {
  override name = 'DisposedError';
  constructor(what: string) {
    super(`${what} was disposed`);
  }
}

/** Normalises anything thrown into an `Error`, keeping the original as `cause`. */
export function toError(thrown: unknown): Error {
  return thrown instanceof Error ? thrown : new Error(String(thrown), { cause: thrown });
}

/** The message of anything thrown, for a log line or an error text. */
export function reasonOf(thrown: unknown): string {
  return thrown instanceof Error ? thrown.message : String(thrown);
}
