/** A dependency the process needs to serve traffic (its database, Redis, a subgraph). */
export type ReadinessCheck = { name: string; check: () => Promise<unknown> };

export type ReadinessReport = { ready: boolean; checks: Record<string, "ok" | string> };

const CHECK_TIMEOUT_MS = 2_000;

/** Runs every check concurrently, each with a timeout, and names the ones that failed. */
export async function runReadinessChecks(checks: ReadinessCheck[]): Promise<ReadinessReport> {
  const results = await Promise.all(
    checks.map(async ({ name, check }) => {
      let timer: NodeJS.Timeout | undefined;
      try {
        await Promise.race([
          check(),
          new Promise((_, reject) => {
            // Only bounds the wait: a check still running when the process stops does not hold it up.
            timer = setTimeout(() => reject(new Error(`timed out after ${CHECK_TIMEOUT_MS} ms`)), CHECK_TIMEOUT_MS).unref();
          }),
        ]);
        return [name, "ok"] as const;
      } catch (error) {
        return [name, error instanceof Error ? error.message : String(error)] as const;
      } finally {
        clearTimeout(timer);
      }
    }),
  );
  return { ready: results.every(([, status]) => status === "ok"), checks: Object.fromEntries(results) };
}
