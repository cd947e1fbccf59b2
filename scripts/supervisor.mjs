// Keeps `npm start`'s processes running as Kubernetes keeps a pod's containers running
// (restartPolicy: Always, CrashLoopBackOff): a child that exits when it was not asked to is
// started again after a delay that doubles with each crash in a row, up to a cap, and the
// delay goes back to the first one once the restarted child has stayed up for a while.
// It never gives up on a child: a crash loop usually waits on something outside the
// process (PostgreSQL or Redis down, a port taken, a rebuild under way), and a retry at
// most every `maxMs` picks up the fix without restarting everything; every crash is
// printed, so the loop is never silent. Stopping cancels pending restarts first, so
// nothing is started while stopping.

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
 * again whenever its child ends on its own. `stop()` sends SIGTERM to the running children
 * one at a time, the last supervised first (npm start supervises the gateway last, so no
 * request reaches a subgraph that is going away), SIGKILL after `graceMs`.
 */
export function createSupervisor({ backoff = RESTART_BACKOFF, graceMs = 15_000, output = console } = {}) {
  const services = [];
  let stopping;

  function run(service) {
    const child = service.spawnChild();
    service.child = child;
    service.running = true;
    // Only a child that crashed before needs its backoff forgotten.
    const steady =
      service.restarts > 0
        ? setTimeout(() => {
            service.restarts = 0;
            output.log(`start: ${service.name} has stayed up ${duration(backoff.resetAfterMs)}; its restart backoff is back to ${duration(backoff.initialMs)}`);
          }, backoff.resetAfterMs)
        : undefined;
    const ended = (reason) => {
      if (!service.running) return;
      service.running = false;
      clearTimeout(steady);
      if (stopping) return;
      service.restarts += 1;
      const delay = restartDelayMs(service.restarts, backoff);
      output.error(`start: ${service.name} exited unexpectedly (${reason}); restarting it in ${duration(delay)} (restart ${service.restarts})`);
      service.timer = setTimeout(() => {
        service.timer = undefined;
        output.log(`start: restarting ${service.name}`);
        run(service);
      }, delay);
    };
    child.once("exit", (code, signal) => ended(signal ?? `code ${code}`));
    // A child that could not be spawned at all never emits "exit".
    child.once("error", (error) => {
      if (child.pid === undefined) ended(error.message);
    });
  }

  function supervise(name, spawnChild) {
    const service = { name, spawnChild, child: undefined, running: false, restarts: 0, timer: undefined };
    services.push(service);
    run(service);
  }

  async function stopAll() {
    for (const service of services) clearTimeout(service.timer);
    for (const service of [...services].reverse()) {
      if (!service.running) continue;
      const { child } = service;
      const exited = new Promise((resolve) => child.once("exit", resolve));
      child.kill("SIGTERM");
      const timer = setTimeout(() => child.kill("SIGKILL"), graceMs);
      await exited;
      clearTimeout(timer);
      output.log(`start: ${service.name} stopped`);
    }
  }

  return {
    supervise,
    stop: () => (stopping ??= stopAll()),
  };
}
