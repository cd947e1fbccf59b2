/**
 * Job throughput. Baseline: raw BullMQ, no-op jobs added in bulk and processed by a worker
 * in this process (the most BullMQ can do here). Ours, each with a trivial job and its own
 * stack of built processes, sent to the subgraph as the gateway would (signed identity):
 *
 * - provider: `generateText` (offline narrator, a distinct prompt each so nothing is a cache
 *   hit): idempotency check, budgets, the job row, the queue, then its worker pool process
 *   runs it, writes the result and bills it once;
 * - notification: `sendNotification` by an admin to one recipient with one registered push
 *   device (recipients round-robin; devices registered before the clock starts): the
 *   notification and delivery rows, the queue, then its worker pool process pushes it to a
 *   fake FCM HTTP v1 service on loopback (test/testkit/fake-push.ts) and marks it SENT.
 *
 * - fan-out: a campaign starting, as campaign's outbox relay publishes it: one
 *   NOTIFICATION_REQUESTED event (CAMPAIGN_STARTED) to BENCH_FANOUT_RECIPIENTS recipients
 *   (10,000, the contract's most), each with one registered push device (written before the
 *   clock starts): the worker pool's consumer writes the notifications, events and
 *   deliveries, queues them, and its workers push each to the fake FCM. Target: the last
 *   push in under 10 s.
 *
 * A path is done when every job is finished in its database (and, for notification, every
 * push reached the fake). Reports jobs per second end to end and the ratio to raw BullMQ,
 * and the CPU time the stack's processes spent per job (Linux /proc): on a shared machine
 * the one figure that does not depend on the neighbours.
 *
 *   npm run bench:queues
 *   BENCH_RAW_JOBS=20000 BENCH_PROVIDER_JOBS=1000 BENCH_NOTIFICATION_JOBS=1000 npm run bench:queues
 *   (also BENCH_NOTIFICATION_RECIPIENTS, BENCH_FANOUT_RECIPIENTS, BENCH_IN_FLIGHT,
 *   BENCH_WORKER_CONCURRENCY, and BENCH_PATHS=provider,notification,fanout to run some only;
 *   BENCH_PROFILE_DIR=<dir> writes each process's CPU profile there)
 */
import { randomBytes, randomUUID } from "node:crypto";
import { readFileSync } from "node:fs";
import { performance } from "node:perf_hooks";
import { Queue, Worker } from "bullmq";
import pg from "pg";
import { IDENTITY_HEADER, NOTIFICATION_REQUESTED, Role, Topics, createIdentitySigner, createRedis, publishEnvelope, signedIn, streamKey } from "@startales/service-kit";
import { startFakePush } from "../test/testkit/fake-push";
import { machine, printTable, progress, round, writeResults } from "./lib/report";
import { startBenchStack } from "./lib/services";

const RAW_JOBS = Number(process.env.BENCH_RAW_JOBS ?? 20_000);
const PROVIDER_JOBS = Number(process.env.BENCH_PROVIDER_JOBS ?? 1_000);
const NOTIFICATION_JOBS = Number(process.env.BENCH_NOTIFICATION_JOBS ?? 1_000);
/** Users who each register one push device; the sends go round-robin over them. */
const NOTIFICATION_RECIPIENTS = Number(process.env.BENCH_NOTIFICATION_RECIPIENTS ?? 50);
const IN_FLIGHT = Number(process.env.BENCH_IN_FLIGHT ?? 32);
const WORKER_CONCURRENCY = Number(process.env.BENCH_WORKER_CONCURRENCY ?? 32);
/** Recipients of the fan-out's one request (each with one push device). */
const FANOUT_RECIPIENTS = Number(process.env.BENCH_FANOUT_RECIPIENTS ?? 10_000);
const FANOUT_TARGET_S = 10;
const TARGET = 10_000;
/** Which of our paths run (raw BullMQ always does: it is the baseline); comma-separated. */
const PATHS = new Set((process.env.BENCH_PATHS ?? "provider,notification,fanout").split(",").map((p) => p.trim()));
const TIMEOUT_MS = 180_000;

type Row = { path: string; jobs: number; seconds: number; jobsPerSecond: number; target?: string; cpuMsPerJob?: number };

/**
 * CPU time (user + system, ms) the stack's processes have used so far, from /proc (Linux;
 * 0 elsewhere). Per job it is what a path costs whatever else the machine runs: on a shared
 * machine jobs/s says as much about the neighbours as about the path.
 */
function cpuMs(pids: (number | undefined)[]): number {
  let ticks = 0;
  for (const pid of pids) {
    try {
      const fields = readFileSync(`/proc/${pid}/stat`, "utf8").split(") ")[1]!.split(" ");
      ticks += Number(fields[11]) + Number(fields[12]);
    } catch {
      // Not Linux, or the process is gone.
    }
  }
  return ticks * 10;
}
const stackPids = (stack: { services: { child: { pid?: number } }[] }) => stack.services.map((s) => s.child.pid);

async function rawBullmq(): Promise<Row> {
  const redisUrl = process.env.REDIS_URL ?? "redis://127.0.0.1:6379";
  const prefix = `bench-raw-${randomBytes(4).toString("hex")}`;
  const producer = createRedis(redisUrl, "bench-queue-producer");
  const consumer = createRedis(redisUrl, "bench-queue-consumer");
  const queue = new Queue("noop", { connection: producer, prefix, defaultJobOptions: { removeOnComplete: true, removeOnFail: true } });
  let done = 0;
  const worker = new Worker("noop", async () => undefined, { connection: consumer, prefix, concurrency: WORKER_CONCURRENCY, autorun: false });
  worker.on("completed", () => {
    done += 1;
  });
  try {
    const started = performance.now();
    void worker.run();
    for (let i = 0; i < RAW_JOBS; i += 1_000) {
      await queue.addBulk(Array.from({ length: Math.min(1_000, RAW_JOBS - i) }, (_, k) => ({ name: "noop", data: { i: i + k } })));
      progress(`\r  raw BullMQ: ${i + 1_000} added, ${done} done`);
    }
    const deadline = Date.now() + TIMEOUT_MS;
    while (done < RAW_JOBS && Date.now() < deadline) await new Promise((resolve) => setTimeout(resolve, 20));
    const seconds = (performance.now() - started) / 1000;
    progress(`\r  raw BullMQ: ${done}/${RAW_JOBS} in ${seconds.toFixed(1)} s\n`);
    return { path: "raw BullMQ, no-op jobs (baseline)", jobs: done, seconds: round(seconds), jobsPerSecond: Math.round(done / seconds) };
  } finally {
    await worker.close();
    await queue.obliterate({ force: true }).catch(() => undefined);
    await queue.close();
    producer.disconnect();
    consumer.disconnect();
  }
}

async function providerPath(): Promise<Row> {
  const stack = await startBenchStack({
    provider: true,
    providerEnv: {
      PROVIDER_WORKER_CONCURRENCY: String(WORKER_CONCURRENCY),
      PROVIDER_BUDGET_PLAYER_REQUESTS: "0",
      PROVIDER_BUDGET_PLAYER_TOKENS: "0",
      PROVIDER_BUDGET_PLAYER_COST_MICROS: "0",
    },
  });
  const db = new pg.Client({ connectionString: stack.providerDatabaseUrl });
  await db.connect();
  try {
    const sign = createIdentitySigner(stack.signingSecret);
    const players = Array.from({ length: 50 }, () => signedIn(randomUUID(), [Role.PLAYER]));
    const url = `${stack.providerUrl}/graphql`;
    const create = async (i: number) => {
      const response = await fetch(url, {
        method: "POST",
        headers: { "content-type": "application/json", [IDENTITY_HEADER]: await sign(players[i % players.length]!, randomUUID()) },
        body: JSON.stringify({
          query: "mutation($i: GenerateTextInput!) { generateText(input: $i) { id } }",
          variables: { i: { idempotencyKey: `bench-${i}`, style: "NARRATION", prompt: `The fleet ${i} jumps to the rim.` } },
        }),
      });
      const body = (await response.json()) as { errors?: unknown[] };
      if (body.errors) throw new Error(`generateText failed: ${JSON.stringify(body.errors)}`);
    };
    const succeeded = async () => Number((await db.query<{ n: string }>("SELECT count(*) AS n FROM provider_jobs WHERE status = 'SUCCEEDED'")).rows[0]!.n);
    const cpuBefore = cpuMs(stackPids(stack));
    const started = performance.now();
    let next = 0;
    await Promise.all(
      Array.from({ length: IN_FLIGHT }, async () => {
        while (next < PROVIDER_JOBS) {
          const i = next++;
          await create(i);
          if (i % 100 === 0) progress(`\r  provider: ${i} created`);
        }
      }),
    );
    const createdAfter = (performance.now() - started) / 1000;
    const deadline = Date.now() + TIMEOUT_MS;
    let done = await succeeded();
    while (done < PROVIDER_JOBS && Date.now() < deadline) {
      await new Promise((resolve) => setTimeout(resolve, 50));
      done = await succeeded();
    }
    const seconds = (performance.now() - started) / 1000;
    const cpuMsPerJob = round((cpuMs(stackPids(stack)) - cpuBefore) / Math.max(done, 1));
    progress(`\r  provider: ${done}/${PROVIDER_JOBS} succeeded in ${seconds.toFixed(1)} s (all created after ${createdAfter.toFixed(1)} s); stack CPU ${cpuMsPerJob} ms/job\n`);
    return {
      path: "provider generateText (offline narrator): mutation → row → queue → worker → result, billed",
      jobs: done,
      seconds: round(seconds),
      jobsPerSecond: Math.round(done / seconds),
      target: `≥ 1000/s: ${done / seconds >= 1000 ? "PASS" : "FAIL"}`,
      cpuMsPerJob,
    };
  } finally {
    await db.end();
    await stack.stop();
  }
}

/** A GraphQL POST to a subgraph, signed as the gateway would; errors throw. */
async function signedPost(url: string, identity: string, query: string, variables: Record<string, unknown>, what: string): Promise<unknown> {
  const response = await fetch(url, {
    method: "POST",
    headers: { "content-type": "application/json", [IDENTITY_HEADER]: identity },
    body: JSON.stringify({ query, variables }),
  });
  const body = (await response.json()) as { data?: unknown; errors?: unknown[] };
  if (body.errors || !body.data) throw new Error(`${what} failed (HTTP ${response.status}): ${JSON.stringify(body.errors ?? body)}`);
  return body.data;
}

/** `count` calls of `call(i)`, IN_FLIGHT at a time. */
async function inFlight(count: number, call: (i: number) => Promise<void>): Promise<void> {
  let next = 0;
  await Promise.all(
    Array.from({ length: Math.min(IN_FLIGHT, count) }, async () => {
      while (next < count) await call(next++);
    }),
  );
}

async function notificationPath(): Promise<Row> {
  const push = await startFakePush();
  const run = randomBytes(4).toString("hex");
  try {
    const stack = await startBenchStack({
      notification: true,
      notificationEnv: {
        PUSH_URL: push.url,
        PUSH_PROJECT_ID: push.projectId,
        PUSH_ACCESS_TOKEN: push.accessToken,
        NOTIFICATION_REDIS_PREFIX: `bench-notification-${run}:`,
        NOTIFICATION_TOPIC: `integration:notifications:bench:${run}`,
        DELIVERY_CONCURRENCY: String(WORKER_CONCURRENCY),
      },
    });
    const db = new pg.Client({ connectionString: stack.notificationDatabaseUrl });
    await db.connect();
    try {
      const sign = createIdentitySigner(stack.signingSecret);
      const url = `${stack.notificationUrl}/graphql`;
      const recipients = Array.from({ length: NOTIFICATION_RECIPIENTS }, () => randomUUID());
      // Not timed: every recipient registers one device.
      await inFlight(recipients.length, async (i) => {
        await signedPost(
          url,
          await sign(signedIn(recipients[i]!, [Role.PLAYER]), randomUUID()),
          "mutation($i: RegisterPushDeviceInput!) { registerPushDevice(input: $i) { id } }",
          { i: { platform: "ANDROID", token: `bench-${run}-device-${i}` } },
          "registerPushDevice",
        );
      });
      progress(`  notification: ${recipients.length} recipients registered a push device\n`);
      const admin = signedIn(randomUUID(), [Role.ADMIN]);
      const send = async (i: number) => {
        await signedPost(
          url,
          await sign(admin, randomUUID()),
          "mutation($i: SendNotificationInput!) { sendNotification(input: $i) { id } }",
          { i: { recipientIds: [recipients[i % recipients.length]!], category: "SYSTEM", title: "t", body: "b", idempotencyKey: `bench-${run}-${i}` } },
          "sendNotification",
        );
      };
      const sent = async () => Number((await db.query<{ n: string }>("SELECT count(*) AS n FROM deliveries WHERE status = 'SENT'")).rows[0]!.n);
      const cpuBefore = cpuMs(stackPids(stack));
      const started = performance.now();
      let created = 0;
      await inFlight(NOTIFICATION_JOBS, async (i) => {
        await send(i);
        created += 1;
        if (created % 100 === 0) progress(`\r  notification: ${created} sent, ${push.messages.length} pushed`);
      });
      const deadline = Date.now() + TIMEOUT_MS;
      let done = await sent();
      while ((done < NOTIFICATION_JOBS || push.messages.length < NOTIFICATION_JOBS) && Date.now() < deadline) {
        progress(`\r  notification: ${created} sent, ${push.messages.length} pushed, ${done} marked SENT`);
        await new Promise((resolve) => setTimeout(resolve, 100));
        done = await sent();
      }
      const seconds = (performance.now() - started) / 1000;
      const cpuUsed = cpuMs(stackPids(stack)) - cpuBefore;
      progress(`\r  notification: ${done}/${NOTIFICATION_JOBS} marked SENT (${push.messages.length} pushed) in ${seconds.toFixed(1)} s\n`);
      if (done < NOTIFICATION_JOBS || push.messages.length < NOTIFICATION_JOBS) {
        const statuses = await db.query<{ status: string; last_error: string | null; n: string }>("SELECT status, last_error, count(*) AS n FROM deliveries GROUP BY 1, 2 ORDER BY 1, 2");
        progress(`  notification: timed out after ${TIMEOUT_MS / 1000} s; deliveries: ${JSON.stringify(statuses.rows)}; push requests ${push.requests}\n`);
      }
      // Fewer pushed than marked SENT would be a bug: count what both agree on.
      const finished = Math.min(done, push.messages.length);
      return {
        path: "notification sendNotification → row → queue → worker → FCM push, marked SENT",
        jobs: finished,
        seconds: round(seconds),
        jobsPerSecond: Math.round(finished / seconds),
        cpuMsPerJob: round(cpuUsed / Math.max(finished, 1)),
      };
    } finally {
      await db.end();
      await stack.stop();
    }
  } finally {
    await push.stop();
  }
}

/** One campaign-start request to FANOUT_RECIPIENTS players, through the worker pool's consumer, to the fake FCM. */
async function fanoutPath(): Promise<Row> {
  const push = await startFakePush();
  const run = randomBytes(4).toString("hex");
  const topic = `integration:notifications:bench:${run}`;
  const redis = createRedis(process.env.REDIS_URL ?? "redis://127.0.0.1:6379", "bench-fanout");
  try {
    const stack = await startBenchStack({
      notification: true,
      notificationEnv: {
        PUSH_URL: push.url,
        PUSH_PROJECT_ID: push.projectId,
        PUSH_ACCESS_TOKEN: push.accessToken,
        NOTIFICATION_REDIS_PREFIX: `bench-fanout-${run}:`,
        NOTIFICATION_TOPIC: topic,
        DELIVERY_CONCURRENCY: String(WORKER_CONCURRENCY),
        // The consumer waits on the stream this long per read: short, so the request is read at once.
        EVENTS_BLOCK_MS: "100",
      },
    });
    const db = new pg.Client({ connectionString: stack.notificationDatabaseUrl });
    await db.connect();
    const recipients = Array.from({ length: FANOUT_RECIPIENTS }, () => randomUUID());
    try {
      // Not timed: every recipient has registered one device (as registerPushDevice writes it).
      await db.query("INSERT INTO push_devices (id, user_id, platform, token) SELECT gen_random_uuid(), u, 'ANDROID', 'bench-fanout-' || u FROM unnest($1::uuid[]) AS u", [recipients]);
      progress(`  fan-out: ${recipients.length} recipients have a push device\n`);
      const sent = async () => Number((await db.query<{ n: string }>("SELECT count(*) AS n FROM deliveries WHERE status = 'SENT'")).rows[0]!.n);
      const campaignId = randomUUID();
      const cpuBefore = cpuMs(stackPids(stack));
      const started = performance.now();
      await publishEnvelope(
        redis,
        {
          id: randomUUID(),
          type: NOTIFICATION_REQUESTED,
          topic,
          occurredAt: new Date().toISOString(),
          aggregateId: campaignId,
          version: 1,
          data: { template: "CAMPAIGN_STARTED", recipientIds: recipients, campaignId, params: { campaignName: "Bench" } },
          traceparent: null,
        },
        { streamMaxLen: 100_000 },
      );
      const deadline = Date.now() + TIMEOUT_MS;
      let lastPushAt = started;
      let firstPushAt: number | null = null;
      while (push.messages.length < FANOUT_RECIPIENTS && Date.now() < deadline) {
        if (firstPushAt === null && push.messages.length > 0) firstPushAt = performance.now();
        progress(`\r  fan-out: ${push.messages.length} pushed`);
        await new Promise((resolve) => setTimeout(resolve, 20));
      }
      if (push.messages.length >= FANOUT_RECIPIENTS) lastPushAt = performance.now();
      const seconds = (lastPushAt - started) / 1000;
      const cpuUsed = cpuMs(stackPids(stack)) - cpuBefore;
      // Not timed: every push is also recorded SENT, and no device got two.
      let done = await sent();
      while (done < FANOUT_RECIPIENTS && Date.now() < deadline) {
        await new Promise((resolve) => setTimeout(resolve, 50));
        done = await sent();
      }
      const tokens = new Set(push.messages.map((m) => m.token));
      progress(`\r  fan-out: ${push.messages.length} pushed (${tokens.size} devices) in ${seconds.toFixed(1)} s (first after ${(((firstPushAt ?? lastPushAt) - started) / 1000).toFixed(1)} s), ${done} marked SENT; ${push.connections} connections\n`);
      if (push.messages.length !== tokens.size) progress(`  fan-out: ${push.messages.length - tokens.size} duplicate pushes\n`);
      const finished = Math.min(done, tokens.size);
      progress(`  fan-out: stack CPU ${round(cpuUsed / Math.max(finished, 1))} ms/push (to the last push)\n`);
      return {
        path: `fan-out: one campaign-start request → ${FANOUT_RECIPIENTS} notifications → queue → workers → FCM push, marked SENT (s to last push)`,
        jobs: finished,
        seconds: round(seconds),
        jobsPerSecond: Math.round(finished / seconds),
        target: `< ${FANOUT_TARGET_S} s: ${finished === FANOUT_RECIPIENTS && seconds < FANOUT_TARGET_S ? "PASS" : "FAIL"}`,
        cpuMsPerJob: round(cpuUsed / Math.max(finished, 1)),
      };
    } finally {
      await db.end();
      await stack.stop();
      // The made-up recipients' inbox streams and the run's request topic: nobody reads them again.
      for (let i = 0; i < recipients.length; i += 1_000) await redis.unlink(...recipients.slice(i, i + 1_000).map((id) => streamKey(Topics.inbox(id))));
      await redis.unlink(streamKey(topic), `${streamKey(topic)}:dead-letter`);
    }
  } finally {
    redis.disconnect();
    await push.stop();
  }
}

async function main(): Promise<void> {
  const { node, cpu, cores, loadavg } = machine();
  progress(`node ${node}, ${cpu} ×${cores}, load ${loadavg.join(" ")}; worker concurrency ${WORKER_CONCURRENCY}\n`);
  const raw = await rawBullmq();
  const rows = [raw];
  if (PATHS.has("provider")) {
    progress("starting identity, campaign, provider and its worker pool…\n");
    rows.push(await providerPath());
  }
  if (PATHS.has("notification")) {
    progress("starting identity, campaign, notification and its worker pool, and a fake push service…\n");
    rows.push(await notificationPath());
  }
  if (PATHS.has("fanout")) {
    progress(`starting identity, campaign, notification and its worker pool, and a fake push service; one request to ${FANOUT_RECIPIENTS} recipients…\n`);
    rows.push(await fanoutPath());
  }
  printTable(
    "queues: jobs per second end to end",
    ["path", "jobs", "seconds", "jobs/s", "× raw BullMQ", "stack CPU ms/job", "target"],
    rows.map((r) => [
      r.path,
      String(r.jobs),
      r.seconds.toFixed(1),
      String(r.jobsPerSecond),
      (r.jobsPerSecond / raw.jobsPerSecond).toFixed(3),
      r.cpuMsPerJob === undefined ? "—" : r.cpuMsPerJob.toFixed(2),
      r === raw ? `≥ ${TARGET}/s` : (r.target ?? "—"),
    ]),
  );
  console.log(`\nraw BullMQ ≥ ${TARGET} jobs/s: ${raw.jobsPerSecond >= TARGET ? "PASS" : "FAIL"}`);
  writeResults("queues", { workerConcurrency: WORKER_CONCURRENCY, inFlight: IN_FLIGHT, notificationRecipients: NOTIFICATION_RECIPIENTS, fanoutRecipients: FANOUT_RECIPIENTS, rows });
}

main().catch((error: unknown) => {
  console.error(error);
  process.exit(1);
});
