// Keeps `npm start`'s processes running as Kubernetes keeps a pod's containers running
// (restartPolicy: Always, CrashLoopBackOff): a child that exits when it was not asked to is
// started again after a delay that doubles with each crash in a row, up to a cap, and the
// delay goes back to the first one once the restarted child has stayed up for a while.
// It never gives up on a child: a crash loop usually waits on something outside the
// process (PostgreSQL or Redis down, a port taken, a rebuild under way), and a retry at
// most every `maxMs` picks up the fix without restarting everything; every crash is
// printed, so the loop is never silent. Stopping cancels pending restarts first, so
// nothing is started while stopping.
// `npm run dev` (dev.mjs) runs the same supervisor with `onExit: "wait"`: there a crash is
// usually the code just saved (a syntax error), which no retry fixes, so the child stays
// down, its error on screen, until dev.mjs restarts it for the next save.

/** Kubernetes doubles from 10 s up to 5 min; a developer's machine wants to recover sooner. */
const RESTART_BACKOFF = { initialMs: 1_000, maxMs: 30_000, resetAfterMs: 60_000 };

/** The delay before the `restart`-th restart in a row (1-based). */
function restartDelayMs(restart, { initialMs, maxMs } = RESTART_BACKOFF) {
  // The exponent is capped so that a child crashing for days never overflows to Infinity.
  return Math.min(maxMs, initialMs * 2 ** Math.min(restart - 1, 30));
}

const duration = (ms) => (ms >= 1_000 ? `${ms / 1_000} s` : `${ms} ms`);

/**
 * `supervise(name, spawnChild)` runs `spawnChild()` (which returns a ChildProcess) now and
 * again whenever its child ends on its own (with `onExit: "wait"`, only when `restart(name)`
 * asks). `restart(name)` stops the running child (as `stop()` does) and runs a new one,
 * resolving with it. `stop()` sends SIGTERM to the running children one at a time, the last
 * supervised first (npm start supervises the gateway last, so no request reaches a subgraph
 * that is going away), SIGKILL after `graceMs`. `label` starts every line it prints.
 */
export function createSupervisor({ backoff = RESTART_BACKOFF, graceMs = 15_000, output = console, label = "start", onExit = "restart" } = {}) {
  const services = [];
  let stopping;

  function run(service) {
    const child = service.spawnChild();
    service.child = child;
    service.running = true;
    // Only a child that crashed before needs its backoff forgotten.
    service.steady =
      service.restarts > 0
        ? setTimeout(() => {
            service.restarts = 0;
            output.log(`${label}: ${service.name} has stayed up ${duration(backoff.resetAfterMs)}; its restart backoff is back to ${duration(backoff.initialMs)}`);
          }, backoff.resetAfterMs)
        : undefined;
    const ended = (reason) => {
      if (!service.running || service.child !== child) return;
      service.running = false;
      clearTimeout(service.steady);
      if (stopping) return;
      if (onExit === "wait") {
        output.error(`${label}: ${service.name} exited (${reason}); it starts again when a file it runs changes`);
        return;
      }
      service.restarts += 1;
      const delay = restartDelayMs(service.restarts, backoff);
      output.error(`${label}: ${service.name} exited unexpectedly (${reason}); restarting it in ${duration(delay)} (restart ${service.restarts})`);
      service.timer = setTimeout(() => {
        service.timer = undefined;
        output.log(`${label}: restarting ${service.name}`);
        run(service);
      }, delay);
    };
    child.once("exit", (code, signal) => ended(signal ?? `code ${code}`));
    // A child that could not be spawned at all never emits "exit".
    child.once("error", (error) => {
      if (child.pid === undefined) ended(error.message);
    });
  }

  /** SIGTERM, SIGKILL after graceMs; resolves once the child has exited. Not a crash: nothing restarts it. */
  function terminate(service) {
    clearTimeout(service.timer);
    service.timer = undefined;
    if (!service.running) return service.terminating ?? Promise.resolve();
    service.running = false;
    clearTimeout(service.steady);
    const { child } = service;
    service.terminating = new Promise((resolve) => {
      if (child.exitCode !== null || child.signalCode !== null) return resolve();
      const timer = setTimeout(() => child.kill("SIGKILL"), graceMs);
      child.once("exit", () => {
        clearTimeout(timer);
        resolve();
      });
      child.kill("SIGTERM");
    }).finally(() => {
      service.terminating = undefined;
    });
    return service.terminating;
  }

  function find(name) {
    const service = services.find((s) => s.name === name);
    if (!service) throw new Error(`${name} is not supervised`);
    return service;
  }

  function supervise(name, spawnChild) {
    const service = { name, spawnChild, child: undefined, running: false, restarts: 0, timer: undefined, steady: undefined, terminating: undefined };
    services.push(service);
    run(service);
  }

  async function restart(name) {
    const service = find(name);
    await terminate(service);
    if (stopping) return undefined;
    service.restarts = 0;
    run(service);
    return service.child;
  }

  async function stopAll() {
    for (const service of services) clearTimeout(service.timer);
    for (const service of [...services].reverse()) {
      // A child a restart is replacing is already on its way out: wait for it all the same.
      if (!service.running && !service.terminating) continue;
      await terminate(service);
      output.log(`${label}: ${service.name} stopped`);
    }
  }

  return {
    supervise,
    restart,
    /** Whether the named child is running (false once it exited on its own, with `onExit: "wait"`). */
    isRunning: (name) => find(name).running,
    stop: () => (stopping ??= stopAll()),
  };
}
