/**
 * `promise`, or `undefined` as soon as `signal` aborts: Ctrl-C need not wait
 * for a slow reply. The promise itself runs on; its late failure is ignored.
 *
 * @example
 * ```ts
 * const reply = await untilAborted(client.inspect(), io.signal);
 * if (reply === undefined) return ExitCode.interrupted;
 * ```
 */
export function untilAborted<T>(
  promise: Promise<T>,
  signal: AbortSignal | undefined,
): Promise<T | undefined> {
  if (!signal) return promise;
  if (signal.aborted) {
    promise.catch(() => undefined);
    return Promise.resolve(undefined);
  }
  return new Promise<T | undefined>((resolve, reject) => {
    const onAbort = () => {
      promise.catch(() => undefined);
      resolve(undefined);
    };
    signal.addEventListener("abort", onAbort, { once: true });
    promise.then(
      (value) => {
        signal.removeEventListener("abort", onAbort);
        resolve(value);
      },
      (error) => {
        signal.removeEventListener("abort", onAbort);
        reject(error);
      },
    );
  });
}
