/**
 * A whole game under load: N scripted players, each a real @startales/client (HTTP and one
 * graphql-ws socket), in one campaign ticking every second. Each signs in, joins, follows
 * the campaign's events and its chat live, and for the measured window plays: polls its
 * galaxy map, sends commands, chats, asks the AI to narrate. Steps of N, each a fresh
 * campaign with the same players; for each: API latency (every request, by operation), live
 * delivery latency (a chat message from its send to each other member; a tick's event from
 * its occurredAt to each member), tick lag (the longest gap between ticks beyond the tick
 * rate), errors, and the CPU and memory each process used (ours, PostgreSQL's and Redis's,
 * from /proc). Reports the highest N where API p95 < 100 ms, live p99 < 50 ms, tick lag
 * < 1 tick and no errors all hold, and the busiest process where it stops. Baseline, same
 * run: the first (smallest) step; each step's cores per player is printed as a ratio to it,
 * so a cost that grows faster than the players shows. Measured first, with nothing else running:
 * this machine's floor for a chat message's hops between processes (bench/lib/loopback-floor.ts).
 *
 *   npm run bench:game
 *   BENCH_GAME_STEPS=10,25,50 BENCH_GAME_SECONDS=15 npm run bench:game
 *
 * Each step first plays BENCH_GAME_WARMUP_SECONDS (5) unmeasured: a step's first seconds
 * (cold JIT, every map computed for the new world) otherwise weighed on its p95 as much as
 * the step's load did.
 *
 * The players' behaviour per second is fixed (BENCH_MAP_EVERY_MS 2000, BENCH_COMMAND_EVERY_MS
 * 5000, BENCH_CHAT_EVERY_MS 5000, BENCH_AI_EVERY_MS 30000, each ±50 %), so a step's load is
 * proportional to N. docs/scaling.md turns the figures into replicas for 10,000 players.
 */
import { randomUUID } from "node:crypto";
import { readFileSync, readdirSync } from "node:fs";
import { performance } from "node:perf_hooks";
import WebSocket from "ws";
import {
  CampaignChannelDocument,
  CampaignEventsDocument,
  CampaignOverviewDocument,
  CreateCampaignDocument,
  EndCampaignDocument,
  GalaxyMapDocument,
  GenerateTextDocument,
  JoinCampaignDocument,
  MessageAddedDocument,
  SendMessageDocument,
  StartCampaignDocument,
  SubmitCommandDocument,
  createStartalesClient,
  type StartalesClient,
} from "@startales/client";
import { inBatches } from "./lib/batches";
import { CHAT_PATH_ROUND_TRIPS, describeFloor, measureLoopbackFloor } from "./lib/loopback-floor";
import { machine, printTable, progress, quantile, round, writeResults } from "./lib/report";
import { loopbackPlayersGatewayEnv, startBenchStack, type BenchStack } from "./lib/services";

const STEPS = (process.env.BENCH_GAME_STEPS ?? "10,25,50,100").split(",").map(Number);
const SECONDS = Number(process.env.BENCH_GAME_SECONDS ?? 20);
/** Played before each step's window and not counted: JIT, connection pools and the first tick's read models warm up. */
const WARMUP_SECONDS = Number(process.env.BENCH_GAME_WARMUP_SECONDS ?? 5);
const TICK_MS = 1000;
const EVERY = {
  map: Number(process.env.BENCH_MAP_EVERY_MS ?? 2000),
  command: Number(process.env.BENCH_COMMAND_EVERY_MS ?? 5000),
  chat: Number(process.env.BENCH_CHAT_EVERY_MS ?? 5000),
  ai: Number(process.env.BENCH_AI_EVERY_MS ?? 30000),
};
const TARGETS = { apiP95Ms: 100, liveP99Ms: 50, tickLagS: TICK_MS / 1000 };
const SETUP_CONCURRENCY = 8;
const REQUEST_TIMEOUT_MS = 10_000;
/** After the window: how long deliveries still due may take before they count as missing. */
const DRAIN_MS = 10_000;
const CLK_TCK = 100;

type Step = {
  players: number;
  requests: number;
  apiP50Ms: number;
  apiP95Ms: number;
  apiP99Ms: number;
  liveDeliveries: number;
  liveP50Ms: number;
  liveP99Ms: number;
  chatP99Ms: number;
  tickDeliveryP99Ms: number;
  ticks: number;
  tickLagS: number;
  errors: Record<string, number>;
  /** Cores each process used on average over the window, and its resident memory at the end (MiB). */
  processes: Record<string, { cores: number; rssMiB: number }>;
  byOperation: Record<string, { count: number; p95Ms: number }>;
  pass: boolean;
  failed: string[];
};

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));
const jittered = (every: number) => every * (0.5 + Math.random());

/** CPU seconds (user + system) and resident bytes of a process, from /proc; null when it is gone. */
function usageOf(pid: number): { cpuS: number; rss: number } | null {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, "utf8");
    const fields = stat.slice(stat.lastIndexOf(")") + 2).split(" ");
    const rssPages = Number(fields[21]);
    return { cpuS: (Number(fields[11]) + Number(fields[12])) / CLK_TCK, rss: rssPages * 4096 };
  } catch {
    return null;
  }
}

/** PostgreSQL's and Redis's processes, by command name (all of PostgreSQL's backends are one figure). */
function enginePids(): Record<string, number[]> {
  const found: Record<string, number[]> = { postgres: [], redis: [] };
  for (const entry of readdirSync("/proc")) {
    if (!/^\d+$/.test(entry)) continue;
    try {
      const name = readFileSync(`/proc/${entry}/comm`, "utf8").trim();
      if (name === "postgres") found.postgres!.push(Number(entry));
      else if (name.startsWith("redis-server")) found.redis!.push(Number(entry));
    } catch {
      // Gone between the listing and the read.
    }
  }
  return found;
}

/** Every process of the run, by name, with the pids it stands for. */
function processGroups(stack: BenchStack): Record<string, number[]> {
  const groups: Record<string, number[]> = {};
  for (const service of stack.services) if (service.child.pid) groups[service.name] = [service.child.pid];
  return { ...groups, ...enginePids(), "load generator": [process.pid] };
}

function snapshot(groups: Record<string, number[]>): Record<string, { cpuS: number; rss: number }> {
  return Object.fromEntries(
    Object.entries(groups).map(([name, pids]) => {
      const usages = pids.map(usageOf).filter((u) => u !== null);
      return [name, { cpuS: usages.reduce((sum, u) => sum + u.cpuS, 0), rss: usages.reduce((sum, u) => sum + u.rss, 0) }];
    }),
  );
}

class Recorder {
  readonly api: number[] = [];
  readonly live: number[] = [];
  /** The same deliveries by kind: a chat message from its send, a tick from its occurredAt. */
  readonly chat: number[] = [];
  readonly ticks: number[] = [];
  readonly byOperation = new Map<string, number[]>();
  readonly errors = new Map<string, number>();
  error(what: string): void {
    this.errors.set(what, (this.errors.get(what) ?? 0) + 1);
  }
  /** Times one request; an error is counted by operation and code, never thrown. */
  async time<T>(operation: string, run: () => Promise<T>): Promise<T | undefined> {
    const started = performance.now();
    try {
      const result = await Promise.race([run(), sleep(REQUEST_TIMEOUT_MS).then(() => Promise.reject(Object.assign(new Error("timeout"), { code: "TIMEOUT" })))]);
      const ms = performance.now() - started;
      this.api.push(ms);
      const times = this.byOperation.get(operation);
      if (times) times.push(ms);
      else this.byOperation.set(operation, [ms]);
      return result;
    } catch (error) {
      this.error(`${operation} ${(error as { code?: string }).code ?? (error as Error).message}`);
      return undefined;
    }
  }
}

const CHAT_PATTERN = /^game m(\d+) t([\d.]+)/;

async function playStep(stack: BenchStack, everyone: StartalesClient[], players: number): Promise<Step> {
  const clients = everyone.slice(0, players);
  const gameMaster = clients[0]!;
  let recorder = new Recorder();
  const setup = new Recorder();

  const { createCampaign: campaign } = await gameMaster.request(CreateCampaignDocument, { input: { name: `Load ${players} ${randomUUID().slice(0, 6)}`, tickRateMs: TICK_MS, maxPlayers: Math.max(players, 2) } });
  await inBatches(players - 1, SETUP_CONCURRENCY, (i) => setup.time("join", () => clients[i + 1]!.request(JoinCampaignDocument, { campaignId: campaign.id })), " joined");
  const { campaignChannel: channel } = await gameMaster.request(CampaignChannelDocument, { campaignId: campaign.id });
  const { campaign: overview } = await gameMaster.request(CampaignOverviewDocument, { id: campaign.id });

  // What each member must receive: every chat message of the others, and every tick.
  const sentChat = new Map<number, { at: number; expected: number; received: number }>();
  const tickTimes: number[] = [];
  let worldCreated = false;
  let nextMessage = 0;
  const stops: (() => void)[] = [];
  for (const [index, client] of clients.entries()) {
    stops.push(
      client.subscribe(
        CampaignEventsDocument,
        { campaignId: campaign.id, after: overview?.latestEventId },
        {
          next: ({ campaignEvents: event }) => {
            if (event.type === "WORLD_CREATED") worldCreated = true;
            if (event.type !== "TICK_COMPLETED") return;
            const occurredAt = Date.parse(event.occurredAt as string);
            recorder.live.push(Date.now() - occurredAt);
            recorder.ticks.push(Date.now() - occurredAt);
            if (index === 0) tickTimes.push(occurredAt);
          },
          error: (error) => recorder.error(`campaignEvents ${(error as { code?: string }).code ?? "closed"}`),
        },
        { resumeFrom: (data) => data.campaignEvents.id },
      ),
      client.subscribe(
        MessageAddedDocument,
        { channelId: channel.id },
        {
          next: ({ messageAdded }) => {
            const match = CHAT_PATTERN.exec(messageAdded.text ?? "");
            if (!match || messageAdded.author.id === client.session?.user.id) return;
            const record = sentChat.get(Number(match[1]));
            if (!record) return;
            record.received += 1;
            recorder.live.push(performance.now() - Number(match[2]));
            recorder.chat.push(performance.now() - Number(match[2]));
          },
          error: (error) => recorder.error(`messageAdded ${(error as { code?: string }).code ?? "closed"}`),
        },
      ),
    );
  }
  // Every socket is subscribed before the game starts (the gateway counts them).
  const deadline = Date.now() + 30_000;
  while ((await gatewaySubscriptions(stack.gatewayUrl)) < players * 2 && Date.now() < deadline) await sleep(50);
  await gameMaster.request(StartCampaignDocument, { id: campaign.id });
  while (!worldCreated && Date.now() < deadline + 30_000) await sleep(50);

  const groups = processGroups(stack);
  /** Every player doing everything a player does, for `seconds`. */
  const play = (seconds: number) => {
    const end = performance.now() + seconds * 1000;
    const loops = (client: StartalesClient, every: number, act: () => Promise<unknown>) =>
      (async () => {
        for (let at = performance.now() + Math.random() * every; at < end; at += jittered(every)) {
          const wait = at - performance.now();
          if (wait > 0) await sleep(wait);
          await act();
        }
      })();
    return Promise.all(
      clients.flatMap((client) => [
        loops(client, EVERY.map, () => recorder.time("GalaxyMap", () => client.request(GalaxyMapDocument, { campaignId: campaign.id }))),
        loops(client, EVERY.command, () =>
          recorder.time("SubmitCommand", () =>
            client.request(SubmitCommandDocument, { input: { campaignId: campaign.id, type: "SET_TAX", payload: { rate: 20 + Math.floor(Math.random() * 10) }, idempotencyKey: randomUUID() } }),
          ),
        ),
        loops(client, EVERY.chat, async () => {
          const id = nextMessage++;
          const at = performance.now();
          sentChat.set(id, { at, expected: players - 1, received: 0 });
          const sent = await recorder.time("SendMessage", () =>
            client.request(SendMessageDocument, { channelId: channel.id, text: `game m${id} t${at.toFixed(3)} holding the jump point`, idempotencyKey: randomUUID() }),
          );
          if (!sent) sentChat.delete(id);
        }),
        loops(client, EVERY.ai, () =>
          recorder.time("GenerateText", () =>
            client.request(GenerateTextDocument, { input: { idempotencyKey: randomUUID(), style: "NARRATION", prompt: `Narrate turn ${Math.random()}`, campaignId: campaign.id } }),
          ),
        ),
      ]),
    );
  };
  // Warm-up: the same play, measured by a recorder nobody reads.
  if (WARMUP_SECONDS > 0) {
    progress(`  ${players} players: warming up for ${WARMUP_SECONDS} s\n`);
    await play(WARMUP_SECONDS);
  }
  // Only chat messages sent in the window count.
  sentChat.clear();
  recorder = new Recorder();
  const before = snapshot(groups);
  const started = performance.now();
  const ticker = setInterval(() => progress(`\r  ${players} players: ${Math.round((performance.now() - started) / 1000)} s, ${recorder.api.length} requests, ${recorder.live.length} deliveries`), 1000);
  await play(SECONDS);
  const windowS = (performance.now() - started) / 1000;
  const after = snapshot(groups);
  const missing = () => [...sentChat.values()].reduce((sum, r) => sum + Math.max(0, r.expected - r.received), 0);
  const drainUntil = Date.now() + DRAIN_MS;
  while (missing() > 0 && Date.now() < drainUntil) await sleep(20);
  clearInterval(ticker);
  progress("\n");
  const stillMissing = missing();
  if (stillMissing > 0) recorder.errors.set("chat delivery missing", stillMissing);

  for (const stop of stops) stop();
  await setup.time("EndCampaign", () => gameMaster.request(EndCampaignDocument, { id: campaign.id }));

  const inWindow = tickTimes.filter((t) => t >= Date.now() - windowS * 1000 - DRAIN_MS);
  const gaps = inWindow.slice(1).map((t, i) => (t - inWindow[i]!) / 1000 - TICK_MS / 1000);
  const api = [...recorder.api].sort((a, b) => a - b);
  const live = [...recorder.live].sort((a, b) => a - b);
  const processes = Object.fromEntries(
    Object.keys(groups).map((name) => [name, { cores: round((after[name]!.cpuS - before[name]!.cpuS) / windowS, 2), rssMiB: Math.round(after[name]!.rss / 2 ** 20) }]),
  );
  const errors = Object.fromEntries([...recorder.errors, ...setup.errors]);
  const step: Step = {
    players,
    requests: api.length,
    apiP50Ms: round(quantile(api, 0.5)),
    apiP95Ms: round(quantile(api, 0.95)),
    apiP99Ms: round(quantile(api, 0.99)),
    liveDeliveries: live.length,
    liveP50Ms: round(quantile(live, 0.5)),
    liveP99Ms: round(quantile(live, 0.99)),
    chatP99Ms: round(quantile(recorder.chat, 0.99)),
    tickDeliveryP99Ms: round(quantile(recorder.ticks, 0.99)),
    ticks: inWindow.length,
    tickLagS: round(Math.max(0, ...gaps), 2),
    errors,
    processes,
    byOperation: Object.fromEntries([...recorder.byOperation].map(([name, times]) => [name, { count: times.length, p95Ms: round(quantile([...times].sort((a, b) => a - b), 0.95)) }])),
    pass: false,
    failed: [],
  };
  if (!(step.apiP95Ms < TARGETS.apiP95Ms)) step.failed.push(`API p95 ${step.apiP95Ms} ms`);
  if (!(step.liveP99Ms < TARGETS.liveP99Ms)) step.failed.push(`live p99 ${step.liveP99Ms} ms`);
  if (!(step.tickLagS < TARGETS.tickLagS)) step.failed.push(`tick lag ${step.tickLagS} s`);
  if (Object.keys(errors).length > 0) step.failed.push(`errors ${Object.values(errors).reduce((a, b) => a + b, 0)}`);
  step.pass = step.failed.length === 0;
  return step;
}

/** Cores the backend used in a step: every process but the load generator. */
const serviceCores = (step: Step) => Object.entries(step.processes).reduce((sum, [name, p]) => (name === "load generator" ? sum : sum + p.cores), 0);

async function gatewaySubscriptions(gatewayUrl: string): Promise<number> {
  const text = await (await fetch(`${gatewayUrl}/metrics`)).text();
  return Number(/^gateway_subscriptions ([\d.e+]+)$/m.exec(text)?.[1] ?? 0);
}

async function main(): Promise<void> {
  const { node, cpu, cores, loadavg } = machine();
  const most = Math.max(...STEPS);
  progress(`node ${node}, ${cpu} ×${cores}, load ${loadavg.join(" ")}; steps of ${STEPS.join(", ")} players, ${SECONDS} s each, a tick every ${TICK_MS} ms\n`);
  progress(`measuring this machine's loopback floor (${CHAT_PATH_ROUND_TRIPS} hops) before anything else runs…\n`);
  const floor = await measureLoopbackFloor(CHAT_PATH_ROUND_TRIPS);
  progress("starting every service and worker pool (own processes)…\n");
  const stack = await startBenchStack({
    simulation: true,
    provider: true,
    notification: true,
    realtime: true,
    providerEnv: { PROVIDER_BUDGET_PLAYER_REQUESTS: "0", PROVIDER_BUDGET_PLAYER_TOKENS: "0" },
    gatewayEnv: loopbackPlayersGatewayEnv(most),
  });
  const steps: Step[] = [];
  const everyone: StartalesClient[] = [];
  try {
    progress(`signing up ${most} players`);
    everyone.push(
      ...(await inBatches(most, SETUP_CONCURRENCY, async (i) => {
        const client = createStartalesClient({ url: `${stack.gatewayUrl}/graphql`, webSocketImpl: WebSocket, clientName: "bench-game", clientVersion: "1" });
        await client.signUp({ email: `game-${i}-${randomUUID()}@example.test`, password: `pw-${randomUUID()}`, displayName: `Player ${i}` });
        return client;
      })),
    );
    for (const players of STEPS) {
      progress(`step: ${players} players\n`);
      steps.push(await playStep(stack, everyone, players));
    }
  } finally {
    await Promise.all(everyone.map((client) => client.close().catch(() => undefined)));
    await stack.stop();
  }

  printTable(
    `game: players in one campaign (tick ${TICK_MS} ms) for ${SECONDS} s per step; each polls its map every ${EVERY.map} ms, commands every ${EVERY.command} ms, chats every ${EVERY.chat} ms, asks the AI every ${EVERY.ai} ms (±50 %)`,
    ["players", "requests", "API p50 ms", "API p95 ms", "live deliveries", "live p50 ms", "live p99 ms", "chat p99 ms", "tick event p99 ms", "ticks", "tick lag s", "errors", "cores", "cores per player / first step's", "result"],
    steps.map((s) => [
      String(s.players),
      String(s.requests),
      String(s.apiP50Ms),
      String(s.apiP95Ms),
      String(s.liveDeliveries),
      String(s.liveP50Ms),
      String(s.liveP99Ms),
      String(s.chatP99Ms),
      String(s.tickDeliveryP99Ms),
      String(s.ticks),
      String(s.tickLagS),
      String(Object.values(s.errors).reduce((a, b) => a + b, 0)),
      String(round(serviceCores(s), 2)),
      String(round(serviceCores(s) / s.players / (serviceCores(steps[0]!) / steps[0]!.players), 2)),
      s.pass ? "pass" : `FAIL: ${s.failed.join(", ")}`,
    ]),
  );
  const names = Object.keys(steps[0]?.processes ?? {});
  printTable(
    `cores used (average over the window) and resident memory, per process (targets: API p95 < ${TARGETS.apiP95Ms} ms, live p99 < ${TARGETS.liveP99Ms} ms, tick lag < ${TARGETS.tickLagS} s, no errors)`,
    ["process", ...steps.map((s) => `${s.players} players`)],
    names.map((name) => [name, ...steps.map((s) => `${s.processes[name]?.cores ?? "—"} cores, ${s.processes[name]?.rssMiB ?? "—"} MiB`)]),
  );
  printTable(
    "API latency by operation (p95 ms, count)",
    ["operation", ...steps.map((s) => `${s.players} players`)],
    [...new Set(steps.flatMap((s) => Object.keys(s.byOperation)))].map((op) => [op, ...steps.map((s) => (s.byOperation[op] ? `${s.byOperation[op].p95Ms} (${s.byOperation[op].count})` : "—"))]),
  );
  for (const s of steps) if (Object.keys(s.errors).length) console.log(`errors at ${s.players}: ${Object.entries(s.errors).map(([what, n]) => `${what} ×${n}`).join(", ")}`);
  const passing = steps.filter((s) => s.pass).map((s) => s.players);
  const highest = passing.length ? Math.max(...passing) : 0;
  const stopper = steps.find((s) => !s.pass);
  const busiest = stopper ? Object.entries(stopper.processes).sort((a, b) => b[1].cores - a[1].cores)[0] : undefined;
  console.log(
    `\nhighest passing step: ${highest} players${stopper ? `; at ${stopper.players} it fails on ${stopper.failed.join(", ")}; busiest process there: ${busiest?.[0]} (${busiest?.[1].cores} cores of ${cores})` : " (every step passed: try larger steps)"}`,
  );
  console.log(`\nfloor under live delivery: ${describeFloor(floor)} (a chat message's hops from its send to a member's socket)`);
  writeResults("game", { machine: machine(), floor, seconds: SECONDS, tickMs: TICK_MS, every: EVERY, targets: TARGETS, steps, highestPassing: highest });
}

main().catch((error: unknown) => {
  console.error(error);
  process.exit(1);
});
