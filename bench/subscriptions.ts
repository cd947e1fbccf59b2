/**
 * Subscription fan-out: 1,000 and 10,000 graphql-ws subscribers of one campaign's events on
 * one gateway process; each event is a world tick (TICK_COMPLETED on the campaign's world
 * topic, resolved by simulation), published to Redis as simulation's relay does; the gateway
 * resolves it once through the federated query path (identical subscriptions share one
 * execution) and sends it to every socket. Baseline, same run: a raw `ws` server that
 * broadcasts the same bytes to the same number of sockets. Reports deliveries per second
 * and the latency from publish to receipt (p50/p99), and the ratios to raw `ws`. Every
 * subscriber's access is checked again as the gateway's settings say (WS_REAUTHORIZE_SECONDS,
 * or BENCH_WS_REAUTHORIZE_SECONDS for the run).
 *
 *   npm run bench:subscriptions
 *   BENCH_SUBSCRIBERS=1000 BENCH_ROUNDS=5 npm run bench:subscriptions
 *
 * Loopback only; the subscribers live in this process, the gateway and the raw server in
 * their own. Bounded: every wait has a deadline.
 */
import { fork } from "node:child_process";
import { randomUUID } from "node:crypto";
import { join } from "node:path";
import { performance } from "node:perf_hooks";
import type WebSocket from "ws";
import { Topics, createRedis, publishEnvelope } from "@startales/service-kit";
import { machine, printTable, progress, quantile, round, writeResults } from "./lib/report";
import { connect, inBatches } from "./lib/batches";
import { graphql, startBenchStack } from "./lib/services";

const SIZES = (process.env.BENCH_SUBSCRIBERS ?? "1000,10000").split(",").map(Number);
const ROUNDS = Number(process.env.BENCH_ROUNDS ?? 10);
const ROUND_TIMEOUT_MS = 30_000;
const OPEN_BATCH = 250;
const TARGET_DELIVERIES_PER_S = 100_000;
/** A delivery's p99 at most this many times raw ws's, same run. */
const TARGET_P99_RATIO = 1.5;

type Receiver = { sockets: WebSocket[]; received: number; latencies: number[] };
type Figures = { subscribers: number; deliveriesPerSecond: number; p50Ms: number; p99Ms: number; deliveries: number; expected: number };

/** Publish time of event i (ms, performance clock of this process). */
const publishedAt = new Map<number, number>();

/** Counts a frame by the event's number it carries (its `"tick":<n>`), without parsing the JSON (cheap on both sides). */
function onFrame(receiver: Receiver, data: WebSocket.RawData): void {
  const text = data.toString();
  const match = /"tick":(\d+)/.exec(text);
  if (!match) return;
  const sent = publishedAt.get(Number(match[1]));
  if (sent === undefined) return;
  receiver.received += 1;
  receiver.latencies.push(performance.now() - sent);
}

/** Waits for `done`, polling; false at the deadline. */
async function until(done: () => boolean, timeoutMs: number): Promise<boolean> {
  const deadline = Date.now() + timeoutMs;
  while (!done()) {
    if (Date.now() > deadline) return false;
    await new Promise((resolve) => setTimeout(resolve, 2));
  }
  return true;
}

/** `rounds` events, one at a time; each fanned out to every socket before the next. */
async function measure(receiver: Receiver, subscribers: number, publish: (i: number) => Promise<void>, label: string, firstIndex: number): Promise<Figures> {
  receiver.received = 0;
  receiver.latencies = [];
  let busyMs = 0;
  for (let r = 0; r < ROUNDS; r++) {
    const target = (r + 1) * subscribers;
    const i = firstIndex + r;
    const started = performance.now();
    publishedAt.set(i, started);
    await publish(i);
    const complete = await until(() => receiver.received >= target, ROUND_TIMEOUT_MS);
    busyMs += performance.now() - started;
    progress(`\r  ${label}: round ${r + 1}/${ROUNDS}`);
    if (!complete) {
      progress(` timed out with ${receiver.received - r * subscribers}/${subscribers}`);
      break;
    }
    await new Promise((resolve) => setTimeout(resolve, 50));
  }
  progress("\n");
  return {
    subscribers,
    deliveries: receiver.received,
    expected: subscribers * ROUNDS,
    deliveriesPerSecond: Math.round(receiver.received / (busyMs / 1000)),
    p50Ms: round(quantile(receiver.latencies, 0.5)),
    p99Ms: round(quantile(receiver.latencies, 0.99)),
  };
}

async function main(): Promise<void> {
  const { node, cpu, cores, loadavg } = machine();
  progress(`node ${node}, ${cpu} ×${cores}, load ${loadavg.join(" ")}; sizes ${SIZES.join(", ")}, ${ROUNDS} events each\n`);
  const largest = Math.max(...SIZES);
  progress("starting identity, campaign and a gateway (own processes)…\n");
  const stack = await startBenchStack({
    // The world's events (a tick) are resolved by simulation.
    simulation: true,
    gatewayEnv: {
      WS_MAX_CONNECTIONS_PER_USER: String(largest + 10),
      WS_MAX_CONNECTIONS_PER_IP: String(largest + 10),
      WS_MAX_CONNECTIONS: String(largest + 10),
      RATE_LIMIT_IP_PER_MINUTE: String(largest * 10),
      RATE_LIMIT_USER_PER_MINUTE: String(largest * 10),
      RATE_LIMIT_COST_PER_MINUTE: String(largest * 1000),
      // How often each subscriber's access is checked again (the gateway's default unless set).
      ...(process.env.BENCH_WS_REAUTHORIZE_SECONDS ? { WS_REAUTHORIZE_SECONDS: process.env.BENCH_WS_REAUTHORIZE_SECONDS } : {}),
    },
  });
  const raw = fork(join(__dirname, "lib", "raw-broadcast-server.ts"), [], { execArgv: ["--require", require.resolve("tsx/cjs")], stdio: ["ignore", "inherit", "inherit", "ipc"] });
  const rawPort = await new Promise<number>((resolve) => raw.once("message", (m) => resolve((m as { port: number }).port)));
  const redis = createRedis(process.env.REDIS_URL ?? "redis://127.0.0.1:6379", "bench-subscriptions");
  const results: { gateway: Figures; raw: Figures }[] = [];
  try {
    const gql = `${stack.gatewayUrl}/graphql`;
    const email = `bench-${randomUUID()}@example.test`;
    const registered = await graphql<{ register: { accessToken: string } }>(
      gql,
      "mutation($i: RegisterInput!) { register(input: $i) { accessToken } }",
      { i: { email, password: `pw-${randomUUID()}`, displayName: "Bench" } },
    );
    const token = registered.register.accessToken;
    const campaign = await graphql<{ createCampaign: { id: string } }>(gql, 'mutation { createCampaign(input: { name: "Fan-out" }) { id } }', {}, token);
    const campaignId = campaign.createCampaign.id;
    const query = "subscription($id: ID!) { campaignEvents(campaignId: $id) { id type data campaign { name } } }";
    let index = 0;
    let sampleFrame = "";

    for (const size of SIZES) {
      progress(`[${size} subscribers] gateway\n`);
      const gatewayReceiver: Receiver = { sockets: [], received: 0, latencies: [] };
      gatewayReceiver.sockets = await inBatches(size, OPEN_BATCH, async () => {
        const socket = await connect(gql.replace(/^http/, "ws"), "graphql-transport-ws");
        await new Promise<void>((resolve, reject) => {
          socket.once("message", (data) => (String(data).includes("connection_ack") ? resolve() : reject(new Error(String(data)))));
          socket.send(JSON.stringify({ type: "connection_init", payload: { authorization: `Bearer ${token}` } }));
        });
        socket.on("message", (data) => {
          if (!sampleFrame) sampleFrame = data.toString();
          onFrame(gatewayReceiver, data);
        });
        socket.send(JSON.stringify({ id: "1", type: "subscribe", payload: { query, variables: { id: campaignId } } }));
        return socket;
      }, " sockets");
      // Until the gateway counts every subscription.
      for (let tries = 0; tries < 600; tries++) {
        const metrics = await (await fetch(`${stack.gatewayUrl}/metrics`)).text();
        const active = Number(/^gateway_subscriptions(?:\{[^}]*\})? (\d+)/m.exec(metrics)?.[1] ?? 0);
        if (active >= size) break;
        await new Promise((resolve) => setTimeout(resolve, 50));
      }
      const publish = async (i: number) => {
        await publishEnvelope(
          redis,
          {
            id: randomUUID(),
            type: "TICK_COMPLETED",
            topic: Topics.world(campaignId),
            producer: "simulation",
            occurredAt: new Date().toISOString(),
            aggregateId: campaignId,
            version: i,
            data: { tick: i, hash: "bench", commandsApplied: 0, commandsRejected: 0, events: 0 },
            traceparent: null,
          },
          { streamMaxLen: 10_000 },
        );
      };
      // One warm-up event (plans, connections, JIT), not counted.
      publishedAt.set(index, performance.now());
      await publish(index);
      await until(() => gatewayReceiver.received >= size, ROUND_TIMEOUT_MS);
      index += 1;
      const gateway = await measure(gatewayReceiver, size, publish, "gateway", index);
      index += ROUNDS;
      for (const socket of gatewayReceiver.sockets) socket.terminate();

      progress(`[${size} subscribers] raw ws broadcast of the same frame\n`);
      const rawReceiver: Receiver = { sockets: [], received: 0, latencies: [] };
      rawReceiver.sockets = await inBatches(size, OPEN_BATCH, async () => {
        const socket = await connect(`ws://127.0.0.1:${rawPort}`);
        socket.on("message", (data) => onFrame(rawReceiver, data));
        return socket;
      }, " sockets");
      await new Promise((resolve) => setTimeout(resolve, 200));
      const broadcast = async (i: number) => {
        raw.send({ frame: sampleFrame.replace(/"tick":\d+/, `"tick":${i}`) });
      };
      publishedAt.set(index, performance.now());
      await broadcast(index);
      await until(() => rawReceiver.received >= size, ROUND_TIMEOUT_MS);
      index += 1;
      const rawFigures = await measure(rawReceiver, size, broadcast, "raw ws", index);
      index += ROUNDS;
      for (const socket of rawReceiver.sockets) socket.terminate();
      results.push({ gateway, raw: rawFigures });
      await new Promise((resolve) => setTimeout(resolve, 500));
    }
  } finally {
    raw.kill();
    redis.disconnect();
    await stack.stop();
  }

  printTable(
    "subscriptions: one event fanned out to every subscriber (gateway: resolved once through the federated path; raw ws: the same bytes broadcast)",
    ["subscribers", "gateway deliveries/s", "p50 ms", "p99 ms", "raw ws deliveries/s", "raw p50 ms", "raw p99 ms", "gateway / raw", "p99 / raw p99", "target", "result"],
    results.map(({ gateway, raw }) => {
      const ratio = gateway.deliveriesPerSecond / raw.deliveriesPerSecond;
      const p99Ratio = gateway.p99Ms / Math.max(raw.p99Ms, 0.001);
      const pass = gateway.deliveries === gateway.expected && (gateway.deliveriesPerSecond >= TARGET_DELIVERIES_PER_S || ratio >= 0.5) && p99Ratio <= TARGET_P99_RATIO;
      return [
        String(gateway.subscribers),
        String(gateway.deliveriesPerSecond),
        gateway.p50Ms.toFixed(1),
        gateway.p99Ms.toFixed(1),
        String(raw.deliveriesPerSecond),
        raw.p50Ms.toFixed(1),
        raw.p99Ms.toFixed(1),
        ratio.toFixed(2),
        p99Ratio.toFixed(2),
        `≥ 100k/s or ≥ 0.50; p99 ≤ ${TARGET_P99_RATIO}× raw`,
        `${pass ? "PASS" : "FAIL"}${gateway.deliveries === gateway.expected ? "" : ` (${gateway.deliveries}/${gateway.expected} delivered)`}`,
      ];
    }),
  );
  writeResults("subscriptions", { rounds: ROUNDS, results });
}

main().catch((error: unknown) => {
  console.error(error);
  process.exit(1);
});
