import { randomUUID } from "node:crypto";
import { Queue, Worker } from "bullmq";
import { addQueueMetrics, createMetrics, createRedis, type Metrics } from "@startales/service-kit";
import { metricValue } from "../testkit/metrics";
import { deleteKeysMatching } from "../testkit/redis-keys";
import { eventually } from "../testkit/simulation";

/**
 * The queue series of the worker pools against a real BullMQ queue on the real Redis: each
 * state's count follows the jobs added, taken and failed, and a job whose worker lost its lock
 * is counted as stalled by the worker that takes it back. Each test has its own key prefix.
 */

const REDIS_URL = process.env.REDIS_URL ?? "redis://127.0.0.1:6379";
const connection = createRedis(REDIS_URL, "queue-metrics-test");
/** Connection options, not a client: each worker then opens and closes its own connections. */
const redisOptions = () => {
  const url = new URL(REDIS_URL);
  return { host: url.hostname, port: Number(url.port || 6379), db: Number(url.pathname.slice(1) || 0), maxRetriesPerRequest: null };
};
const closing: { close(): Promise<unknown> }[] = [];
const prefixes: string[] = [];
afterAll(async () => {
  for (const c of closing.reverse()) await c.close();
  for (const prefix of prefixes) await deleteKeysMatching(connection, `${prefix}:*`);
  connection.disconnect();
});

function setUp() {
  const prefix = `test-queue-metrics-${randomUUID()}`;
  prefixes.push(prefix);
  const name = "metrics-jobs";
  const queue = new Queue(name, { connection, prefix });
  closing.push(queue);
  const metrics = createMetrics("queue-metrics-test");
  const series = addQueueMetrics(metrics, [queue], { cacheMs: 0 });
  return { prefix, name, queue, metrics, series };
}

async function counts(metrics: Metrics, queue: string) {
  const text = await metrics.registry.metrics();
  const state = (s: string) => metricValue(text, "bullmq_queue_jobs", { queue, state: s });
  return { waiting: state("waiting"), prioritized: state("prioritized"), delayed: state("delayed"), active: state("active"), failed: state("failed"), stalled: metricValue(text, "bullmq_jobs_stalled_total", { queue }) };
}

describe("bullmq_queue_jobs", () => {
  it("counts a queue's jobs by state as they are added, taken and failed", async () => {
    const { prefix, name, queue, metrics } = setUp();
    expect(await counts(metrics, name)).toEqual({ waiting: 0, prioritized: 0, delayed: 0, active: 0, failed: 0, stalled: 0 });

    await queue.add("a", {});
    await queue.add("b", {});
    await queue.add("c", {}, { delay: 3_600_000 });
    await queue.add("d", {}, { priority: 5 });
    expect(await counts(metrics, name)).toEqual({ waiting: 2, prioritized: 1, delayed: 1, active: 0, failed: 0, stalled: 0 });

    // A worker that takes jobs by hand: one active, then failed for good.
    const worker = new Worker(name, null, { connection: redisOptions(), prefix });
    closing.push(worker);
    const token = randomUUID();
    const job = await worker.getNextJob(token);
    expect(job).toBeDefined();
    // Jobs without a priority go first.
    expect(await counts(metrics, name)).toMatchObject({ active: 1, waiting: 1, prioritized: 1 });
    await job!.moveToFailed(new Error("refused by the test"), token);
    expect(await counts(metrics, name)).toMatchObject({ active: 0, failed: 1 });
  });

  it("counts a job as stalled when its worker lost the lock and another worker took it back", async () => {
    const { prefix, name, queue, metrics, series } = setUp();
    await queue.add("lost", {});
    // The job's first worker takes it with a short lock and never renews it (as if it had died).
    const lost = new Worker(name, null, { connection: redisOptions(), prefix, lockDuration: 200 });
    closing.push(lost);
    const job = await lost.getNextJob(randomUUID());
    expect(job?.name).toBe("lost");

    const done: string[] = [];
    const rescuer = new Worker(name, async (j) => void done.push(j.name), { connection: redisOptions(), prefix, stalledInterval: 100, autorun: false });
    closing.push(rescuer);
    series.watch(rescuer);
    void rescuer.run();
    await eventually("the stalled job counted", async () => ((await counts(metrics, name)).stalled === 1 ? true : undefined), 15_000);
    await eventually("the stalled job run again", async () => (done.includes("lost") ? true : undefined), 15_000);
    // The processor has returned; BullMQ marks the job completed a moment later (a loaded CI run saw it still active).
    const settled = await eventually("the job completed", async () => {
      const now = await counts(metrics, name);
      return now.active === 0 ? now : undefined;
    });
    expect(settled).toMatchObject({ active: 0, waiting: 0, failed: 0, stalled: 1 });
  });

  it("has no queue samples while Redis cannot answer, and the scrape still succeeds", async () => {
    const metrics = createMetrics("queue-metrics-test");
    // Nothing listens on port 9: every command waits in the client's offline queue.
    const unreachable = createRedis("redis://127.0.0.1:9", "queue-metrics-test-unreachable");
    unreachable.on("error", () => undefined);
    const queue = new Queue("metrics-unreachable", { connection: unreachable, prefix: `test-queue-metrics-${randomUUID()}` });
    queue.on("error", () => undefined);
    addQueueMetrics(metrics, [queue], { cacheMs: 0, timeoutMs: 200 });
    try {
      const text = await metrics.registry.metrics();
      expect(text).toContain("# TYPE bullmq_queue_jobs gauge");
      expect(metricValue(text, "bullmq_queue_jobs", { queue: "metrics-unreachable" })).toBeUndefined();
      expect(metricValue(text, "bullmq_jobs_stalled_total", { queue: "metrics-unreachable" })).toBe(0);
    } finally {
      unreachable.disconnect();
    }
  });
});
