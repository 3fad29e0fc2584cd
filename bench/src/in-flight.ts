/** A fixed number of concurrent callers: how a busy web tier calls an enqueue API. */

/**
 * Calls `task(0)` … `task(total − 1)` with at most `limit` calls in flight: `limit` loops, each
 * starting the next index as soon as its previous call settles. Rejects with the first error
 * (the other loops stop starting new calls).
 */
export async function runInFlight(total: number, limit: number, task: (index: number) => Promise<unknown>): Promise<void> {
  let next = 0;
  let failed = false;
  const loop = async () => {
    while (!failed && next < total) {
      const index = next++;
      try {
        await task(index);
      } catch (error) {
        failed = true;
        throw error;
      }
    }
  };
  await Promise.all(Array.from({ length: Math.min(limit, total) }, loop));
}
