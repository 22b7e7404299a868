import { toError } from './errors.js';

/**
 * Settles like `promise`, or rejects with the signal's reason as soon as
 * `signal` aborts (at once if it already has). The abort listener is removed
 * once settled.
 */
export function abortable<T>(promise: Promise<T>, signal: AbortSignal | undefined): Promise<T> {
  if (signal === undefined) return promise;
  if (signal.aborted) {
    // Nobody waits for it any more: its rejection must not go unhandled.
    promise.catch(() => undefined);
    return Promise.reject(abortReason(signal));
  }
  return new Promise<T>((resolve, reject) => {
    const onAbort = (): void => {
      reject(abortReason(signal));
    };
    signal.addEventListener('abort', onAbort, { once: true });
    promise.then(
      (value) => {
        signal.removeEventListener('abort', onAbort);
        resolve(value);
      },
      (error: unknown) => {
        signal.removeEventListener('abort', onAbort);
        reject(toError(error));
      },
    );
  });
}

/** The reason of an aborted signal, as an `Error`. */
export function abortReason(signal: AbortSignal): Error {
  return toError(signal.reason);
}
