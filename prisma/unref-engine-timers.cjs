// Preloaded (node --require) into the Prisma CLI by migrate-all.ts only.
// The Wasm schema engine leaves a 10-second timer armed after `migrate deploy` has
// finished, which keeps every CLI run alive ~10 s longer. Long timers that the engine
// arms are unref'd: while it still has work, its database sockets keep the process up.
const setTimeoutOriginal = globalThis.setTimeout;
globalThis.setTimeout = function setTimeoutUnrefLong(fn, ms, ...args) {
  const timer = setTimeoutOriginal.call(this, fn, ms, ...args);
  if (ms >= 5000 && timer && typeof timer.unref === "function") timer.unref();
  return timer;
};
