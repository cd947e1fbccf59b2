import { randomUUID } from "node:crypto";
import { createServer, type AddressInfo } from "node:net";
import { Queue, type Job } from "bullmq";
import { createMetrics, createRedis, createWorkerApp, defaultHttpTimeouts, queueWorker, redisReadiness, type Service, type WorkerPart } from "@startales/service-kit";
import { captureLogs } from "../testkit/logs";
import { fetchMetrics, metricValue } from "../testkit/metrics";
import { deleteKeysMatching } from "../testkit/redis-keys";
import { eventually } from "../testkit/simulation";

/**
 * The worker-pool factory of the service kit on the real Redis and BullMQ: jobs run at the
 * pool's concurrency, /health/ready and /metrics answer with the queue's series, the parts
 * start and stop around the workers in their order, stop() lets a running job finish, and a
 * failed attempt is a warning. Each pool has its own key prefix and an HTTP port of its own.
 */

const REDIS_URL = process.env.REDIS_URL ?? "redis://127.0.0.1:6379";
const QUEUE = "worker-app-jobs";
const redis = createRedis(REDIS_URL, "worker-app-test");
const prefixes: string[] = [];
const running = new Set<Service>();
const inspectors: Queue[] = [];
afterAll(async () => {
  // Pools a failed test left running.
  for (const app of running) await app.stop();
  for (const inspector of inspectors) await inspector.close();
  for (const prefix of prefixes) await deleteKeysMatching(redis, `${prefix}:*`);
  redis.disconnect();
});

type TestJob = { name: string; fail?: string };

/** A promise the test settles when it chooses. */
function gate() {
  let open = () => {};
  const opened = new Promise<void>((resolve) => (open = resolve));
  return { open, opened };
}

/** A pool of one worker whose jobs wait for `release`; `events` records what ran and what started and stopped, in order. */
function pool(options: { concurrency: number; parts?: Omit<WorkerPart, "start" | "stop">[]; port?: number }) {
  const prefix = `test-worker-app-${randomUUID()}`;
  prefixes.push(prefix);
  const connection = createRedis(REDIS_URL, "worker-app-test-bullmq");
  const queue = new Queue<TestJob>(QUEUE, { connection, prefix });
  // The test's own view of the queue, still open after the pool closed its connections.
  const inspector = new Queue<TestJob>(QUEUE, { connection: redis, prefix });
  inspectors.push(inspector);
  const logs = captureLogs("worker-app-test", "info");
  const events: string[] = [];
  const failed: string[] = [];
  const release = gate();
  const app = createWorkerApp({
    name: "test worker pool",
    config: { HOST: "127.0.0.1", PORT: options.port ?? 0, SHUTDOWN_GRACE_MS: 1_000, ...defaultHttpTimeouts() },
    logger: logs.logger,
    metrics: createMetrics("worker-app-test"),
    readiness: [redisReadiness(redis)],
    queues: [queue],
    workers: [
      queueWorker({
        queue: QUEUE,
        prefix,
        connection,
        concurrency: options.concurrency,
        processor: async (job: Job<TestJob>) => {
          events.push(`run ${job.data.name}`);
          if (job.data.fail) throw new Error(job.data.fail);
          await release.opened;
          events.push(`finished ${job.data.name}`);
          return job.data.name;
        },
        onFailed: (job) => failed.push(job?.data.name ?? "?"),
        onCompleted: (_job, result) => events.push(`completed ${result}`),
      }),
    ],
    parts: (options.parts ?? []).map((part) => ({
      ...part,
      start: () => void events.push(`start ${part.name}`),
      stop: async () => void events.push(`stop ${part.name}`),
    })),
    closers: [() => queue.close(), () => connection.disconnect()],
  });
  running.add(app);
  const stop = async () => {
    await app.stop();
    running.delete(app);
  };
  return { app, stop, queue, inspector, logs, events, failed, release };
}

const count = (events: string[], prefix: string) => events.filter((e) => e.startsWith(prefix)).length;

describe("createWorkerApp", () => {
  it("runs jobs at the given concurrency, and serves readiness and the queue's series", async () => {
    const p = pool({ concurrency: 2 });
    const url = await p.app.listen();
    expect(p.logs.lines().find((line) => line.msg === "test worker pool started")).toMatchObject({ level: "info", concurrency: { [QUEUE]: 2 } });
    const ready = await fetch(`${url}/health/ready`);
    expect({ status: ready.status, body: await ready.json() }).toEqual({ status: 200, body: { ready: true, checks: { redis: "ok" } } });
    expect((await fetch(`${url}/graphql`)).status).toBe(404);

    await p.queue.addBulk(["a", "b", "c"].map((name) => ({ name, data: { name } })));
    await eventually("two jobs running", async () => (count(p.events, "run ") === 2 ? true : undefined));
    const text = await fetchMetrics(url);
    const series = (state: string) => metricValue(text, "bullmq_queue_jobs", { queue: QUEUE, state });
    expect({ active: series("active"), waiting: series("waiting"), stalled: metricValue(text, "bullmq_jobs_stalled_total", { queue: QUEUE }) }).toEqual({ active: 2, waiting: 1, stalled: 0 });
    // The third waits for a free slot.
    expect(count(p.events, "run ")).toBe(2);

    p.release.open();
    await eventually("all three completed", async () => (count(p.events, "completed ") === 3 ? true : undefined));
    await p.stop();
  });

  it("starts the parts around the workers and stops them in reverse, letting the running job finish", async () => {
    const p = pool({ concurrency: 1, parts: [{ name: "relay", servesJobs: true }, { name: "listener" }, { name: "sweep" }] });
    await p.app.listen();
    expect(p.events).toEqual(["start relay", "start listener", "start sweep"]);
    const job = await p.queue.add("held", { name: "held" });
    await eventually("the job running", async () => (p.events.includes("run held") ? true : undefined));

    const stopping = p.stop().then(() => p.events.push("stopped"));
    await eventually("the parts that feed the workers stopped", async () => (p.events.includes("stop listener") ? true : undefined));
    // The workers wait for the held job, and the relay outlives them.
    expect(p.events).not.toContain("stop relay");
    p.release.open();
    await stopping;
    expect(p.events).toEqual(["start relay", "start listener", "start sweep", "run held", "stop sweep", "stop listener", "finished held", "completed held", "stop relay", "stopped"]);
    expect(await (await p.inspector.getJob(job.id!))?.getState()).toBe("completed");
  });

  it("logs a failed attempt at warn and calls the worker's own hook", async () => {
    const p = pool({ concurrency: 1 });
    await p.app.listen();
    const job = await p.queue.add("bad", { name: "bad", fail: "refused by the test" });
    const line = await eventually("the failed attempt logged", async () => p.logs.lines().find((l) => l.msg === "job attempt failed"));
    expect(line).toMatchObject({ level: "warn", queue: QUEUE, jobId: job.id, attemptsMade: 1, err: { message: "refused by the test" } });
    expect(p.failed).toEqual(["bad"]);
    await p.stop();
  });

  it("stops what it started when it cannot listen", async () => {
    const taken = createServer();
    await new Promise<void>((resolve) => taken.listen(0, "127.0.0.1", resolve));
    try {
      const p = pool({ concurrency: 1, port: (taken.address() as AddressInfo).port, parts: [{ name: "sweep" }] });
      await expect(p.app.listen()).rejects.toThrow(/EADDRINUSE/);
      expect(p.events).toEqual(["start sweep", "stop sweep"]);
      await p.stop();
    } finally {
      taken.close();
    }
  });
});
