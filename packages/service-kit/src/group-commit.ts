type Waiting<I, O> = { input: I; resolve: (output: O) => void; reject: (error: unknown) => void };

/**
 * One statement for many concurrent callers (group commit): the first call runs at once;
 * calls made while a statement is in flight wait and go together in the next one. Under load
 * a worker's jobs share their statements (and PostgreSQL's commits, whose WAL flushes were
 * most of a fan-out's database time); alone, a call costs what it did. `run` answers each input in order. When a shared statement fails, each of its
 * inputs is run again alone, so one caller's bad input fails that caller only.
 */
export function createGroupCommit<I, O>(run: (inputs: I[]) => Promise<O[]>, options: { maxBatch?: number } = {}) {
  const maxBatch = options.maxBatch ?? 200;
  let waiting: Waiting<I, O>[] = [];
  let inFlight = false;

  async function drain(): Promise<void> {
    inFlight = true;
    while (waiting.length > 0) {
      const batch = waiting.slice(0, maxBatch);
      waiting = waiting.slice(batch.length);
      try {
        const outputs = await run(batch.map((w) => w.input));
        batch.forEach((w, i) => w.resolve(outputs[i]!));
      } catch (error) {
        if (batch.length === 1) batch[0]!.reject(error);
        else await Promise.all(batch.map((w) => run([w.input]).then((outputs) => w.resolve(outputs[0]!), w.reject)));
      }
    }
    inFlight = false;
  }

  return (input: I): Promise<O> =>
    new Promise<O>((resolve, reject) => {
      waiting.push({ input, resolve, reject });
      if (!inFlight) void drain();
    });
}
