/**
 * Runs tasks at most `size` at a time; the others wait their turn, in order. For work that
 * is heavy per task (a process of its own, its memory and a core), where the worker's job
 * concurrency alone would start too many at once. Ten lines of our own: p-limit, the usual
 * library, is published as ES modules only and our services are CommonJS.
 */
export function createSlots(size: number): <T>(task: () => Promise<T>) => Promise<T> {
  let free = size;
  const waiting: (() => void)[] = [];
  return async (task) => {
    if (free > 0) free--;
    else await new Promise<void>((resolve) => waiting.push(resolve));
    try {
      return await task();
    } finally {
      // The slot passes straight to the next in line, so a newcomer cannot overtake it.
      const next = waiting.shift();
      if (next) next();
      else free++;
    }
  };
}
