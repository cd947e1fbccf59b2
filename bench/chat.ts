/**
 * Live chat latency: players in campaigns of tens (registered, campaigns created and joined
 * through the gateway), each with one graphql-ws socket to the gateway subscribed to
 * `messageAdded` of its campaign's channel, each posting a message (`postMessage` over HTTP,
 * as the typed client does) every few seconds, jittered. Measured for every message: the time
 * from just before its send to its arrival at each other member of the campaign (one send,
 * members − 1 latencies), the deliveries missing, the mutation's own latency. Baseline, same
 * run: the same sockets and the same send plan against a bare `ws` relay that forwards each
 * frame to the other sockets of its room (bench/lib/raw-room-relay.ts); the ratio of the p99s
 * is printed. A second baseline, measured first: this machine's floor for as many hops between
 * processes as a message crosses (bench/lib/loopback-floor.ts), and the gateway path's ratio to it.
 *
 *   npm run bench:chat
 *   BENCH_PLAYERS=100 BENCH_SECONDS=10 npm run bench:chat
 *
 * BENCH_PLAYERS (1000) players in campaigns of BENCH_CAMPAIGN_SIZE (50), each sending every
 * BENCH_INTERVAL_MS (3000, ±50 %) for BENCH_SECONDS (30). Loopback only; the players live in
 * this process, the gateway, the subgraphs and the relay in their own. Bounded: every wait
 * has a deadline.
 */
import { fork } from "node:child_process";
import { randomUUID } from "node:crypto";
import { join } from "node:path";
import { monitorEventLoopDelay, performance } from "node:perf_hooks";
import type WebSocket from "ws";
import { Topics, createRedis, streamKey } from "@startales/service-kit";
import { CHAT_PATH_ROUND_TRIPS, describeFloor, measureLoopbackFloor, type LoopbackFloor } from "./lib/loopback-floor";
import { machine, printTable, progress, quantile, round, writeResults } from "./lib/report";
import { connect, inBatches } from "./lib/batches";
import { graphql, loopbackPlayersGatewayEnv, startBenchStack } from "./lib/services";

const PLAYERS = Number(process.env.BENCH_PLAYERS ?? 1000);
const CAMPAIGN_SIZE = Number(process.env.BENCH_CAMPAIGN_SIZE ?? 50);
const INTERVAL_MS = Number(process.env.BENCH_INTERVAL_MS ?? 3000);
const SECONDS = Number(process.env.BENCH_SECONDS ?? 30);
const TARGET_P99_MS = 50;
const SETUP_CONCURRENCY = 8;
const OPEN_BATCH = 100;
const SEND_TIMEOUT_MS = 10_000;
const READY_TIMEOUT_MS = 30_000;
/** After the last send: how long the deliveries still due may take before they count as missing. */
const DRAIN_TIMEOUT_MS = 15_000;

/** The operations of the typed client (packages/client/operations/chat.graphql, subscriptions.graphql). */
const MESSAGE_FIELDS = "id text createdAt editedAt deleted author { id displayName } channel { id }";
const SUBSCRIBE = `subscription MessageAdded($channelId: ID!) { messageAdded(channelId: $channelId) { id text createdAt author { id displayName } channel { id } } }`;
const SEND = `mutation SendMessage($channelId: ID!, $text: String!, $idempotencyKey: String!) { postMessage(channelId: $channelId, text: $text, idempotencyKey: $idempotencyKey) { ${MESSAGE_FIELDS} } }`;

/** A message's text: its id, its sender and its send time (performance clock of this process), then words of a typical length. */
const FILLER = "holding the jump point until the second fleet arrives";
const textOf = (id: number, sender: number, sentAt: number) => `chat m${id} p${sender} t${sentAt.toFixed(3)} ${FILLER}`;
const TEXT_PATTERN = /chat m(\d+) p(\d+) t([\d.]+)/;
const WHOLE_TEXT = new RegExp(`chat m\\d+ p\\d+ t[\\d.]+ ${FILLER}`);

type Player = { userId: string; token: string; room: number };
type Room = { campaignId: string; channelId: string; members: number[] };
/** One socket of a player, and how that player sends. */
type Peer = { socket: WebSocket; send(text: string): Promise<string | void> };
/** How a path is reached: the gateway, or the raw relay. */
type Path = { label: string; open(player: number, tally: () => Tally): Promise<Peer> };

type Sent = { expected: number; received: number; ok: boolean | null; sentAt: number; messageId?: string; firstDeliveryAt?: number };
type Tally = { sent: Map<number, Sent>; latencies: number[]; sendLatencies: number[]; errors: Map<string, number> };
/**
 * Where a message's time goes (gateway path only): from its send to its event's publication
 * on Redis pub/sub (the mutation, its transaction and the outbox relay), then to its first
 * delivery (the gateway resolving it for the room and writing the frames), p50 / p99 ms.
 */
type Stages = {
  /** From the send to the start of the transaction that wrote the message (its event's occurredAt): gateway, realtime, campaign's check. */
  sendToTransactionP50Ms: number;
  sendToTransactionP99Ms: number;
  /** From there to the event on pub/sub: the transaction, its commit and the outbox relay's. */
  transactionToPublishedP50Ms: number;
  transactionToPublishedP99Ms: number;
  sendToPublishedP50Ms: number;
  sendToPublishedP99Ms: number;
  publishedToDeliveredP50Ms: number;
  publishedToDeliveredP99Ms: number;
  tapped: number;
};
/** A message's event as the tap saw it: when it arrived, and when its transaction started (wall clock, ms). */
type Publication = { at: number; occurredAt: number };
type Figures = {
  path: string;
  sent: number;
  sendFailures: number;
  expected: number;
  delivered: number;
  missing: number;
  duplicates: number;
  p50Ms: number;
  p95Ms: number;
  p99Ms: number;
  maxMs: number;
  sendP50Ms: number;
  sendP99Ms: number;
  errors: Record<string, number>;
  /** Event-loop delay of this process while measuring: latencies near it are the load generator's. */
  loadGeneratorLoopDelayP99Ms: number;
  stages?: Stages;
};

const newTally = (): Tally => ({ sent: new Map(), latencies: [], sendLatencies: [], errors: new Map() });
const countError = (tally: Tally, code: string) => tally.errors.set(code, (tally.errors.get(code) ?? 0) + 1);
const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

/** A frame received by `recipient`: counted against its message by the id its text carries, without parsing the JSON. */
function onFrame(tally: Tally, recipient: number, frame: string): void {
  const match = TEXT_PATTERN.exec(frame);
  if (!match || Number(match[2]) === recipient) return;
  const record = tally.sent.get(Number(match[1]));
  if (!record) return;
  record.received += 1;
  record.firstDeliveryAt ??= performance.now();
  tally.latencies.push(performance.now() - Number(match[3]));
}

/** A send failure's code: the GraphQL error code, the HTTP status, or how the request broke. */
class SendError extends Error {
  constructor(readonly code: string) {
    super(code);
  }
}
const codeOf = (error: unknown) =>
  error instanceof SendError ? error.code : error instanceof Error && (error.name === "TimeoutError" || error.name === "AbortError") ? "TIMEOUT" : "NETWORK";

/** Waits for `done`, polling; false at the deadline. */
async function until(done: () => boolean, timeoutMs: number, everyMs = 10): Promise<boolean> {
  const deadline = Date.now() + timeoutMs;
  while (!done()) {
    if (Date.now() > deadline) return false;
    await sleep(everyMs);
  }
  return true;
}

/** Each player's send times (ms from the start): a random first one within the interval, then the interval ±50 %. */
function sendPlan(players: number): number[][] {
  return Array.from({ length: players }, () => {
    const times: number[] = [];
    for (let at = Math.random() * INTERVAL_MS; at < SECONDS * 1000; at += INTERVAL_MS * (0.5 + Math.random())) times.push(at);
    return times;
  });
}

/** Messages still due: deliveries of successful sends not yet received, and sends not yet answered. */
function outstanding(tally: Tally): number {
  let due = 0;
  for (const record of tally.sent.values()) {
    if (record.ok === null) due += 1;
    else if (record.ok) due += Math.max(0, record.expected - record.received);
  }
  return due;
}

/**
 * One path, measured: every player's socket opened, then one message per room (not counted)
 * until every member has it, then the plan, then the deliveries still due.
 */
async function measure(path: Path, players: Player[], rooms: Room[], plan: number[][], ready: () => Promise<void>, published?: Map<string, Publication>): Promise<Figures> {
  let tally = newTally();
  let nextId = 0;
  progress(`[${path.label}] opening ${players.length} sockets\n`);
  const peers = await inBatches(players.length, OPEN_BATCH, (p) => path.open(p, () => tally));
  await ready();

  const sendAs = async (player: number) => {
    const id = nextId++;
    const started = performance.now();
    const record: Sent = { expected: rooms[players[player]!.room]!.members.length - 1, received: 0, ok: null, sentAt: started };
    const current = tally;
    current.sent.set(id, record);
    try {
      record.messageId = (await peers[player]!.send(textOf(id, player, started))) ?? undefined;
      current.sendLatencies.push(performance.now() - started);
      record.ok = true;
    } catch (error) {
      record.ok = false;
      countError(current, `send ${codeOf(error)}`);
    }
  };

  progress(`[${path.label}] warm-up: one message per room, until every member has it\n`);
  await Promise.all(rooms.map((room) => sendAs(room.members[0]!)));
  const warm = await until(() => outstanding(tally) === 0, READY_TIMEOUT_MS);
  if (!warm) progress(`  warm-up incomplete: ${outstanding(tally)} deliveries or answers still due\n`);

  tally = newTally();
  const loopDelay = monitorEventLoopDelay({ resolution: 10 });
  loopDelay.enable();
  const started = performance.now();
  const ticker = setInterval(() => {
    progress(`\r  [${path.label}] ${Math.round((performance.now() - started) / 1000)} s: ${tally.sent.size} sent, ${tally.latencies.length} delivered`);
  }, 1000);
  const sends: Promise<void>[] = [];
  await Promise.all(
    plan.map(async (times, player) => {
      for (const at of times) {
        const wait = started + at - performance.now();
        if (wait > 0) await sleep(wait);
        sends.push(sendAs(player));
      }
    }),
  );
  await Promise.all(sends);
  const drained = await until(() => outstanding(tally) === 0, DRAIN_TIMEOUT_MS, 20);
  clearInterval(ticker);
  loopDelay.disable();
  progress(`\r  [${path.label}] ${tally.sent.size} sent, ${tally.latencies.length} delivered${drained ? "" : `, ${outstanding(tally)} still due after ${DRAIN_TIMEOUT_MS / 1000} s`}\n`);
  const measured = tally;
  // Closes from here on are ours: they go to a tally nobody reads.
  tally = newTally();
  for (const peer of peers) peer.socket.terminate();

  let expected = 0;
  let delivered = 0;
  let duplicates = 0;
  for (const record of measured.sent.values()) {
    if (!record.ok) continue;
    expected += record.expected;
    delivered += Math.min(record.received, record.expected);
    duplicates += Math.max(0, record.received - record.expected);
  }
  if (expected > delivered) measured.errors.set("delivery missing", expected - delivered);
  if (duplicates > 0) measured.errors.set("delivery duplicated", duplicates);
  const latencies = [...measured.latencies].sort((a, b) => a - b);
  const stages = published ? stagesOf(measured, published) : undefined;
  const sendFailures = [...measured.sent.values()].filter((record) => !record.ok).length;
  return {
      path: path.label,
      sent: measured.sent.size,
      sendFailures,
      expected,
      delivered,
      missing: expected - delivered,
      duplicates,
      p50Ms: round(quantile(latencies, 0.5)),
      p95Ms: round(quantile(latencies, 0.95)),
      p99Ms: round(quantile(latencies, 0.99)),
      maxMs: round(latencies.at(-1) ?? Number.NaN),
      sendP50Ms: round(quantile(measured.sendLatencies, 0.5)),
      sendP99Ms: round(quantile(measured.sendLatencies, 0.99)),
      errors: Object.fromEntries(measured.errors),
      loadGeneratorLoopDelayP99Ms: round(loopDelay.percentile(99) / 1e6),
      stages,
  };
}

/** The stages of the messages whose publication the tap saw (see Stages). */
function stagesOf(tally: Tally, published: Map<string, Publication>): Stages {
  const toTransaction: number[] = [];
  const toPublished: number[] = [];
  const transactionToPublished: number[] = [];
  const toDelivered: number[] = [];
  // occurredAt is the database's clock, the rest this process's performance clock: one machine, so the wall clocks agree.
  const wallClock = (at: number) => performance.timeOrigin + at;
  for (const record of tally.sent.values()) {
    const event = record.messageId === undefined ? undefined : published.get(record.messageId);
    if (event === undefined || record.firstDeliveryAt === undefined) continue;
    toTransaction.push(event.occurredAt - wallClock(record.sentAt));
    transactionToPublished.push(wallClock(event.at) - event.occurredAt);
    toPublished.push(event.at - record.sentAt);
    toDelivered.push(record.firstDeliveryAt - event.at);
  }
  const q = (values: number[], p: number) => round(quantile([...values].sort((a, b) => a - b), p));
  return {
    sendToTransactionP50Ms: q(toTransaction, 0.5),
    sendToTransactionP99Ms: q(toTransaction, 0.99),
    transactionToPublishedP50Ms: q(transactionToPublished, 0.5),
    transactionToPublishedP99Ms: q(transactionToPublished, 0.99),
    sendToPublishedP50Ms: q(toPublished, 0.5),
    sendToPublishedP99Ms: q(toPublished, 0.99),
    publishedToDeliveredP50Ms: q(toDelivered, 0.5),
    publishedToDeliveredP99Ms: q(toDelivered, 0.99),
    tapped: toPublished.length,
  };
}

/**
 * Listens to the rooms' chat topics on Redis pub/sub as the gateway does: when each
 * message's event was published (performance clock of this process), by message id.
 */
async function tapPublications(rooms: Room[]): Promise<{ published: Map<string, Publication>; close(): void }> {
  const published = new Map<string, Publication>();
  const subscriber = createRedis(process.env.REDIS_URL ?? "redis://127.0.0.1:6379", "bench-chat-tap");
  subscriber.on("message", (_channel: string, message: string) => {
    const at = performance.now();
    const aggregateId = /"aggregateId":"([^"]+)"/.exec(message)?.[1];
    const occurredAt = Date.parse(/"occurredAt":"([^"]+)"/.exec(message)?.[1] ?? "");
    if (aggregateId && message.includes('"MESSAGE_ADDED"') && !Number.isNaN(occurredAt)) published.set(aggregateId, { at, occurredAt });
  });
  await subscriber.subscribe(...rooms.map((room) => streamKey(Topics.channel(room.channelId))));
  return { published, close: () => subscriber.disconnect() };
}

/** A counter or gauge of the gateway's /metrics (summed over its label sets matching `labels`). */
async function gatewayMetric(gatewayUrl: string, name: string, labels = ""): Promise<number> {
  const text = await (await fetch(`${gatewayUrl}/metrics`)).text();
  let total = 0;
  for (const match of text.matchAll(new RegExp(`^${name}(?:\\{([^}]*)\\})? ([\\d.e+]+)$`, "gm"))) if ((match[1] ?? "").includes(labels)) total += Number(match[2]);
  return total;
}

async function main(): Promise<void> {
  if (CAMPAIGN_SIZE < 2) throw new Error("BENCH_CAMPAIGN_SIZE must be at least 2: a campaign's channel needs someone to send to");
  const { node, cpu, cores, loadavg } = machine();
  const roomCount = Math.ceil(PLAYERS / CAMPAIGN_SIZE);
  progress(`node ${node}, ${cpu} ×${cores}, load ${loadavg.join(" ")}; ${PLAYERS} players in ${roomCount} campaigns of up to ${CAMPAIGN_SIZE}, a message each every ${INTERVAL_MS} ms ±50 % for ${SECONDS} s\n`);
  progress(`measuring this machine's loopback floor (${CHAT_PATH_ROUND_TRIPS} hops) before anything else runs…\n`);
  const floor: LoopbackFloor = await measureLoopbackFloor(CHAT_PATH_ROUND_TRIPS);
  progress("starting identity, campaign, realtime and a gateway (own processes)…\n");
  const stack = await startBenchStack({
    realtime: true,
    gatewayEnv: loopbackPlayersGatewayEnv(PLAYERS),
  });
  const relay = fork(join(__dirname, "lib", "raw-room-relay.ts"), [], { execArgv: ["--require", require.resolve("tsx/cjs")], stdio: ["ignore", "inherit", "inherit", "ipc"] });
  const relayPort = await new Promise<number>((resolve) => relay.once("message", (m) => resolve((m as { port: number }).port)));
  const rooms: Room[] = [];
  const results: Figures[] = [];
  let setupSeconds = 0;
  let executionsPerMessage = Number.NaN;
  let subscriptionGroups = Number.NaN;
  try {
    const gql = `${stack.gatewayUrl}/graphql`;
    const setupStarted = performance.now();
    // Registration hashes each password (argon2id), the slowest step of the set-up by far.
    progress(`registering ${PLAYERS} players`);
    const registered = await inBatches(PLAYERS, SETUP_CONCURRENCY, (i) =>
      graphql<{ register: { accessToken: string; user: { id: string } } }>(gql, "mutation($i: RegisterInput!) { register(input: $i) { accessToken user { id } } }", {
        i: { email: `chat-${i}-${randomUUID()}@example.test`, password: `pw-${randomUUID()}`, displayName: `Player ${i}` },
      }),
    );
    const players: Player[] = registered.map((r, i) => ({ userId: r.register.user.id, token: r.register.accessToken, room: Math.floor(i / CAMPAIGN_SIZE) }));
    progress(`creating ${roomCount} campaigns and their channels`);
    const created = await inBatches(roomCount, SETUP_CONCURRENCY, async (r) => {
      const gameMaster = players[r * CAMPAIGN_SIZE]!;
      const campaign = await graphql<{ createCampaign: { id: string } }>(
        gql,
        "mutation($n: String!, $max: Int!) { createCampaign(input: { name: $n, maxPlayers: $max }) { id } }",
        { n: `Chat ${r}`, max: CAMPAIGN_SIZE },
        gameMaster.token,
      );
      return campaign.createCampaign.id;
    });
    progress("joining");
    await inBatches(PLAYERS, SETUP_CONCURRENCY, async (p) => {
      if (p % CAMPAIGN_SIZE !== 0) await graphql(gql, "mutation($id: ID!) { joinCampaign(campaignId: $id) { id } }", { id: created[players[p]!.room] }, players[p]!.token);
    });
    progress("finding each campaign's channel");
    rooms.push(
      ...(await inBatches(roomCount, SETUP_CONCURRENCY, async (r) => {
        const channel = await graphql<{ campaignChannel: { id: string } }>(gql, "query($id: ID!) { campaignChannel(campaignId: $id) { id } }", { id: created[r] }, players[r * CAMPAIGN_SIZE]!.token);
        const members = players.flatMap((player, p) => (player.room === r ? [p] : []));
        return { campaignId: created[r]!, channelId: channel.campaignChannel.id, members };
      })),
    );
    setupSeconds = round((performance.now() - setupStarted) / 1000, 1);
    const plan = sendPlan(PLAYERS);
    progress(`set up in ${setupSeconds} s; ${plan.reduce((sum, times) => sum + times.length, 0)} messages planned per path\n`);

    let sampleFrame = "";
    const gateway: Path = {
      label: "gateway",
      async open(p, tally) {
        const player = players[p]!;
        const socket = await connect(gql.replace(/^http/, "ws"), "graphql-transport-ws");
        await new Promise<void>((resolve, reject) => {
          socket.once("message", (data) => (String(data).includes("connection_ack") ? resolve() : reject(new Error(String(data)))));
          socket.once("close", (code) => reject(new Error(`closed ${code} before the ack`)));
          socket.send(JSON.stringify({ type: "connection_init", payload: { authorization: `Bearer ${player.token}` } }));
        });
        socket.on("message", (data) => {
          const frame = data.toString();
          // An error frame ends the subscription; a result with errors is a delivery that failed.
          if (frame.startsWith('{"id":"1","type":"error"') || (frame.startsWith('{"id":"1","type":"next"') && frame.includes('"errors":'))) {
            countError(tally(), `subscription ${/"code":"([A-Z_]+)"/.exec(frame)?.[1] ?? "error"}`);
          }
          if (!sampleFrame && WHOLE_TEXT.test(frame)) sampleFrame = frame;
          onFrame(tally(), p, frame);
        });
        socket.once("close", (code) => countError(tally(), `socket closed ${code}`));
        socket.send(JSON.stringify({ id: "1", type: "subscribe", payload: { query: SUBSCRIBE, variables: { channelId: rooms[player.room]!.channelId } } }));
        const channelId = rooms[player.room]!.channelId;
        return {
          socket,
          async send(text) {
            const response = await fetch(gql, {
              method: "POST",
              headers: { "content-type": "application/json", authorization: `Bearer ${player.token}` },
              body: JSON.stringify({ query: SEND, variables: { channelId, text, idempotencyKey: randomUUID() } }),
              signal: AbortSignal.timeout(SEND_TIMEOUT_MS),
            });
            const body = (await response.json()) as { data?: { postMessage?: { id: string } }; errors?: { extensions?: { code?: string } }[] };
            if (body.errors?.length || !body.data?.postMessage) throw new SendError(body.errors?.[0]?.extensions?.code ?? `HTTP ${response.status}`);
            return body.data.postMessage.id;
          },
        };
      },
    };
    const gatewayReady = async () => {
      // Until the gateway counts every subscription (each one authorized, its topic subscribed).
      let active = 0;
      for (const deadline = Date.now() + READY_TIMEOUT_MS; Date.now() < deadline && active < PLAYERS; await sleep(50)) {
        active = await gatewayMetric(stack.gatewayUrl, "gateway_subscriptions");
      }
      if (active < PLAYERS) progress(`  only ${active}/${PLAYERS} subscriptions active after ${READY_TIMEOUT_MS / 1000} s\n`);
      subscriptionGroups = await gatewayMetric(stack.gatewayUrl, "gateway_subscription_groups");
    };
    const executionsBefore = await gatewayMetric(stack.gatewayUrl, "gateway_subscription_executions_total", 'field="messageAdded"');
    const tap = await tapPublications(rooms);
    const viaGateway = await measure(gateway, players, rooms, plan, gatewayReady, tap.published).finally(() => tap.close());
    results.push(viaGateway);
    // Warm-up messages included: the counter runs from before them.
    const executions = (await gatewayMetric(stack.gatewayUrl, "gateway_subscription_executions_total", 'field="messageAdded"')) - executionsBefore;
    executionsPerMessage = round(executions / (viaGateway.sent + rooms.length), 1);

    // The relay forwards what the gateway would have sent: its frame, with this message's text.
    const [before, after] = sampleFrame ? sampleFrame.split(WHOLE_TEXT) : [];
    const frameOf = (text: string) => (before !== undefined && after !== undefined ? `${before}${text}${after}` : JSON.stringify({ id: "1", type: "next", payload: { data: { messageAdded: { text } } } }));
    const raw: Path = {
      label: "raw ws relay",
      async open(p, tally) {
        const socket = await connect(`ws://127.0.0.1:${relayPort}/?room=${players[p]!.room}`);
        // Answers come back in the order of the sends (one socket, one relay process).
        const waiting: { resolve: () => void; done: boolean }[] = [];
        socket.on("message", (data) => {
          const frame = data.toString();
          if (frame === "ack") {
            const next = waiting.shift();
            if (next && !next.done) {
              next.done = true;
              next.resolve();
            }
            return;
          }
          onFrame(tally(), p, frame);
        });
        socket.once("close", (code) => countError(tally(), `socket closed ${code}`));
        return {
          socket,
          send(text) {
            return new Promise<void>((resolve, reject) => {
              const entry = { resolve, done: false };
              waiting.push(entry);
              socket.send(frameOf(text));
              setTimeout(() => {
                if (entry.done) return;
                entry.done = true;
                reject(new SendError("TIMEOUT"));
              }, SEND_TIMEOUT_MS).unref();
            });
          },
        };
      },
    };
    results.push(await measure(raw, players, rooms, plan, async () => undefined));
  } finally {
    relay.kill();
    await stack.stop();
    // The run's event streams (campaign, chat and presence feeds of its campaigns).
    const redis = createRedis(process.env.REDIS_URL ?? "redis://127.0.0.1:6379", "bench-chat-cleanup");
    const keys = rooms.flatMap((room) => [Topics.campaign(room.campaignId), Topics.presence(room.campaignId), Topics.channel(room.channelId)].map(streamKey));
    for (let i = 0; i < keys.length; i += 500) await redis.del(...keys.slice(i, i + 500)).catch(() => undefined);
    redis.disconnect();
  }

  const [viaGateway, raw] = results as [Figures, Figures];
  const ratio = viaGateway.p99Ms / raw.p99Ms;
  const pass = viaGateway.p99Ms < TARGET_P99_MS && viaGateway.missing === 0 && viaGateway.sendFailures === 0;
  printTable(
    `chat: ${PLAYERS} players in campaigns of ${CAMPAIGN_SIZE}, each sending every ${INTERVAL_MS} ms ±50 % for ${SECONDS} s; latency from send to each other member's socket (gateway: postMessage over HTTP, delivered by messageAdded; raw ws: the same frames relayed to the room)`,
    ["path", "sent", "delivered / expected", "p50 ms", "p95 ms", "p99 ms", "max ms", "send p50 ms", "send p99 ms", "p99 / raw p99", "target", "result"],
    results.map((f) => [
      f.path,
      String(f.sent),
      `${f.delivered}/${f.expected}`,
      f.p50Ms.toFixed(1),
      f.p95Ms.toFixed(1),
      f.p99Ms.toFixed(1),
      f.maxMs.toFixed(1),
      f.sendP50Ms.toFixed(1),
      f.sendP99Ms.toFixed(1),
      f === viaGateway ? ratio.toFixed(2) : "1.00",
      f === viaGateway ? `p99 < ${TARGET_P99_MS} ms, none missing` : "— (baseline)",
      f === viaGateway ? (pass ? "PASS" : "FAIL") : "",
    ]),
  );
  for (const f of results) {
    const errors = Object.entries(f.errors);
    console.log(`\n${f.path} errors: ${errors.length === 0 ? "none" : errors.map(([code, n]) => `${code} ×${n}`).join(", ")}`);
  }
  if (viaGateway.stages) {
    const st = viaGateway.stages;
    console.log(
      `\ngateway, where a message's time goes (${st.tapped} messages, p50 / p99 ms): send → its transaction starts (gateway, realtime, campaign's check) ${st.sendToTransactionP50Ms} / ${st.sendToTransactionP99Ms}; → its event on Redis pub/sub (transaction, commit, outbox relay) ${st.transactionToPublishedP50Ms} / ${st.transactionToPublishedP99Ms}; send → pub/sub ${st.sendToPublishedP50Ms} / ${st.sendToPublishedP99Ms}; pub/sub → first member's socket (the gateway resolving it for the room) ${st.publishedToDeliveredP50Ms} / ${st.publishedToDeliveredP99Ms}`,
    );
  }
  console.log(
    `\ngateway: ${executionsPerMessage} subscription executions per message (one per group of identical subscriptions; ${subscriptionGroups} groups for ${PLAYERS} subscriptions); load generator (this process) event-loop delay p99: ${viaGateway.loadGeneratorLoopDelayP99Ms} ms (gateway run), ${raw.loadGeneratorLoopDelayP99Ms} ms (raw run), a floor under every latency above`,
  );
  console.log(
    `\nfloor: ${describeFloor(floor)}; the gateway path's p50 / p99 are ${round(viaGateway.p50Ms / floor.chain.p50Ms, 1)}× / ${round(viaGateway.p99Ms / floor.chain.p99Ms, 1)}× that chain's`,
  );
  writeResults("chat", {
    players: PLAYERS,
    floor,
    campaignSize: CAMPAIGN_SIZE,
    intervalMs: INTERVAL_MS,
    seconds: SECONDS,
    setupSeconds,
    executionsPerMessage,
    subscriptionGroups,
    targetP99Ms: TARGET_P99_MS,
    p99Ratio: ratio,
    results,
  });
}

main().catch((error: unknown) => {
  console.error(error);
  process.exit(1);
});
