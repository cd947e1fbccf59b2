import { execFile, type ChildProcess } from "node:child_process";
import { generateKeyPairSync, randomBytes } from "node:crypto";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { createInterface } from "node:readline";
import { promisify } from "node:util";
import { createRedis, streamKey } from "@startales/service-kit";
import { GATEWAY_NODE_FLAGS } from "../../gateway/src/node-flags";
import { startBuiltProcess } from "../../test/testkit/built-process";
import { unusedPort } from "../../test/testkit/ports";
import { deleteKeysMatching } from "../../test/testkit/redis-keys";
import { gatewayService, serviceNamed, wiredUrls, type Service } from "../../test/testkit/services";

const root = join(__dirname, "..", "..");
// A bench that is interrupted must not leave services behind: exiting kills them (testkit).
for (const signal of ["SIGINT", "SIGTERM"] as const) process.once(signal, () => process.exit(130));

export type ServiceProcess = { name: string; url: string; child: ChildProcess; stop(): Promise<void> };

/** Where every service writes a V8 CPU profile (`<name>.cpuprofile`) of its run, when set. */
const PROFILE_DIR = process.env.BENCH_PROFILE_DIR;
/** The bench's own OTEL_* settings, given to every service: a run can be traced (docs/tracing.md). */
const TRACING_ENV = Object.fromEntries(Object.entries(process.env).filter((entry): entry is [string, string] => entry[0].startsWith("OTEL_") && entry[1] !== undefined));

/**
 * A built entry point (what `npm start` runs) as its own process, on loopback, resolved
 * once it logs `listening`. Benches measure real processes, never in-process apps.
 */
export async function spawnService(name: string, entry: string, env: Record<string, string>, nodeFlags: readonly string[] = []): Promise<ServiceProcess> {
  const profile = PROFILE_DIR ? ["--cpu-prof", `--cpu-prof-dir=${PROFILE_DIR}`, `--cpu-prof-name=${name}.cpuprofile`] : [];
  const service = startBuiltProcess(entry, { NODE_ENV: "production", LOG_LEVEL: "info", HOST: "127.0.0.1", PORT: "0", ...TRACING_ENV, ...env }, [...nodeFlags, ...profile]);
  const faults = watchFaults(service.child);
  const listening = await service.waitForLog((line) => line.msg === "listening" && typeof line.url === "string", 60_000);
  return {
    name,
    url: listening.url as string,
    child: service.child,
    stop: async () => {
      await service.kill("SIGTERM");
      faults.report(name);
    },
  };
}

/**
 * A service's error-level log lines during a run (a fault of ours, docs/logging.md): a bench
 * whose figures include answers that were errors says which, on stderr, when it stops.
 */
function watchFaults(child: ChildProcess) {
  const seen = new Map<string, number>();
  createInterface({ input: child.stdout! }).on("line", (line) => {
    let entry: { level?: unknown; msg?: unknown; err?: { message?: unknown } };
    try {
      entry = JSON.parse(line) as typeof entry;
    } catch {
      return;
    }
    if (entry.level !== "error" && entry.level !== "fatal" && !(typeof entry.level === "number" && entry.level >= 50)) return;
    const what = `${String(entry.msg)}${entry.err?.message ? `: ${String(entry.err.message).slice(0, 200)}` : ""}`;
    seen.set(what, (seen.get(what) ?? 0) + 1);
  });
  return {
    report(name: string) {
      for (const [what, count] of seen) process.stderr.write(`  ${name} logged an error ×${count}: ${what}\n`);
    },
  };
}

/**
 * The gateway's limits for a bench whose players all come from loopback: the per-address
 * limits would count every player as one, and `sockets` players each hold a WebSocket.
 */
export const loopbackPlayersGatewayEnv = (sockets = 0): Record<string, string> => ({
  ...(sockets > 0 ? { WS_MAX_CONNECTIONS_PER_IP: String(sockets + 10), WS_MAX_CONNECTIONS: String(sockets + 10) } : {}),
  RATE_LIMIT_IP_PER_MINUTE: "100000000",
  RATE_LIMIT_USER_PER_MINUTE: "100000000",
  RATE_LIMIT_COST_PER_MINUTE: "1000000000",
});

/** prisma/migrate-all.mjs with these databases (`--service <name>` for one, `--drop` to remove them). */
export const migrateAll = (env: Record<string, string>, args: string[] = []) =>
  promisify(execFile)(process.execPath, [join(root, "prisma", "migrate-all.mjs"), ...args], { env: { ...process.env, ...env } });

export type BenchStack = {
  gatewayUrl: string;
  identityUrl: string;
  campaignUrl: string;
  /** With `simulation: true`: the simulation subgraph (its worker pool runs beside it). */
  simulationUrl?: string;
  /** With `provider: true`: the provider subgraph (its worker pool runs beside it) and its database. */
  providerUrl?: string;
  providerDatabaseUrl?: string;
  /** With `notification: true`: the notification subgraph (its worker pool runs beside it) and its database. */
  notificationUrl?: string;
  notificationDatabaseUrl?: string;
  /** With `realtime: true`: the realtime subgraph (chat and presence). */
  realtimeUrl?: string;
  /** With `content: true`: the content subgraph (uploads and downloads of assets). */
  contentUrl?: string;
  /** The secret the gateway signs identities with: a bench may call a subgraph directly. */
  signingSecret: string;
  services: ServiceProcess[];
  stop(): Promise<void>;
};

/**
 * identity and campaign (fresh `startales_<name>_bench` databases, migrated), optionally the
 * simulation, provider and notification subgraphs, each with its worker pool, optionally the
 * realtime and content subgraphs, and a gateway, each its own process, with throwaway secrets;
 * `gatewayEnv` tunes the gateway (limits), `identityEnv` identity (its first admins),
 * `contentEnv` content, `simulationEnv`, `providerEnv` and `notificationEnv` both processes
 * of theirs. Campaign (and notification) use a notification-request topic of this run's
 * (`integration:notifications:bench:<random>`, or `notificationEnv`'s NOTIFICATION_TOPIC),
 * the delivery queue a namespace of its own, realtime a presence namespace of its own
 * (`bench-presence-<random>:`), content an account-erasure topic of its own and its blobs a
 * temporary directory (its URLs name the gateway, whose port is chosen first); all are
 * removed on stop.
 */
export async function startBenchStack(
  options: {
    gatewayEnv?: Record<string, string>;
    identityEnv?: Record<string, string>;
    simulation?: boolean;
    simulationEnv?: Record<string, string>;
    provider?: boolean;
    providerEnv?: Record<string, string>;
    notification?: boolean;
    notificationEnv?: Record<string, string>;
    realtime?: boolean;
    content?: boolean;
    contentEnv?: Record<string, string>;
  } = {},
): Promise<BenchStack> {
  const server = process.env.DATABASE_SERVER_URL ?? "postgresql://postgres@127.0.0.1:5432";
  const names = ["identity", "campaign", ...(options.simulation ? ["simulation"] : []), ...(options.provider ? ["provider"] : []), ...(options.notification ? ["notification"] : []), ...(options.realtime ? ["realtime"] : []), ...(options.content ? ["content"] : [])];
  const databases = Object.fromEntries(
    names.map((name) => {
      const url = new URL(server);
      url.pathname = `/${serviceNamed(name).database}_bench`;
      return [`${name.toUpperCase()}_DATABASE_URL`, url.toString()];
    }),
  );
  for (const name of names) await migrateAll(databases, ["--service", name]);
  const secret = randomBytes(48).toString("base64url");
  const jwtKey = generateKeyPairSync("ed25519").privateKey.export({ type: "pkcs8", format: "pem" }).toString();
  const redisUrl = process.env.REDIS_URL ?? "redis://127.0.0.1:6379";
  const run = randomBytes(4).toString("hex");
  // Always the run's own: a bench campaign must never ask a developer's notification pool
  // (the real topic) to tell its made-up players anything.
  const notificationTopic = options.notificationEnv?.NOTIFICATION_TOPIC ?? `integration:notifications:bench:${run}`;
  // Likewise its campaign tells only its own simulation pool of lifecycle changes.
  const lifecycleTopic = `integration:campaign-lifecycle:bench:${run}`;
  const notificationRedisPrefix = options.notification ? (options.notificationEnv?.NOTIFICATION_REDIS_PREFIX ?? `bench-notification-${run}:`) : undefined;
  const presenceKeyPrefix = options.realtime ? `bench-presence-${run}:` : undefined;
  const runPrefixes = [notificationRedisPrefix, presenceKeyPrefix].filter((prefix) => prefix !== undefined);
  // Content reads account erasures in a group of its own: never a developer's stack's requests.
  const erasureTopic = `integration:account-erasures:bench:${run}`;
  const runTopics = [notificationTopic, lifecycleTopic, ...(options.content ? [erasureTopic] : [])];
  const contentDir = options.content ? (options.contentEnv?.CONTENT_DIR ?? mkdtempSync(join(tmpdir(), "startales-bench-content-"))) : undefined;
  const removeContentDir = () => {
    if (contentDir && !options.contentEnv?.CONTENT_DIR) rmSync(contentDir, { recursive: true, force: true });
  };
  const services: ServiceProcess[] = [];
  // The services started so far, by name: what services.json wires a later one to.
  const origins: Record<string, string> = {};
  const start = async (service: Service, env: Record<string, string>, nodeFlags: readonly string[] = []) => {
    const started = await spawnService(service.name, service.main, { ...wiredUrls(service, origins), ...env }, nodeFlags);
    services.push(started);
    origins[service.name] = started.url;
    return started;
  };
  /** A subgraph's worker pool, with the subgraph's environment. */
  const startPool = async (subgraph: Service, env: Record<string, string>) => {
    services.push(await spawnService(subgraph.workerPool!.name, subgraph.workerPool!.main, { ...wiredUrls(subgraph, origins), ...env }));
  };
  try {
    const identity = await start(serviceNamed("identity"), {
      DATABASE_URL: databases.IDENTITY_DATABASE_URL!,
      JWT_PRIVATE_KEY: jwtKey,
      GATEWAY_SIGNING_SECRET: secret,
      EMAIL_LINK_SECRET: randomBytes(32).toString("base64url"),
      REDIS_URL: redisUrl,
      ...options.identityEnv,
    });
    const campaign = await start(serviceNamed("campaign"), {
      DATABASE_URL: databases.CAMPAIGN_DATABASE_URL!,
      GATEWAY_SIGNING_SECRET: secret,
      REDIS_URL: redisUrl,
      NOTIFICATION_TOPIC: notificationTopic,
      LIFECYCLE_TOPIC: lifecycleTopic,
    });
    let simulationUrl: string | undefined;
    if (options.simulation) {
      const simulationEnv = {
        DATABASE_URL: databases.SIMULATION_DATABASE_URL!,
        GATEWAY_SIGNING_SECRET: secret,
        REDIS_URL: redisUrl,
        QUEUE_PREFIX: `bench-${randomBytes(4).toString("hex")}`,
        LIFECYCLE_TOPIC: lifecycleTopic,
        ...options.simulationEnv,
      };
      const simulation = await start(serviceNamed("simulation"), simulationEnv);
      await startPool(serviceNamed("simulation"), simulationEnv);
      simulationUrl = simulation.url;
    }
    let providerUrl: string | undefined;
    if (options.provider) {
      const providerEnv = {
        DATABASE_URL: databases.PROVIDER_DATABASE_URL!,
        GATEWAY_SIGNING_SECRET: secret,
        REDIS_URL: redisUrl,
        PROVIDER_REDIS_PREFIX: `bench-provider-${randomBytes(4).toString("hex")}:`,
        ...options.providerEnv,
      };
      const provider = await start(serviceNamed("provider"), providerEnv);
      await startPool(serviceNamed("provider"), providerEnv);
      providerUrl = provider.url;
    }
    let notificationUrl: string | undefined;
    if (options.notification) {
      const notificationEnv = {
        DATABASE_URL: databases.NOTIFICATION_DATABASE_URL!,
        GATEWAY_SIGNING_SECRET: secret,
        REDIS_URL: redisUrl,
        UNSUBSCRIBE_SIGNING_SECRET: randomBytes(32).toString("base64url"),
        WEBHOOK_SECRET_KEY: randomBytes(48).toString("base64"),
        ...options.notificationEnv,
        NOTIFICATION_REDIS_PREFIX: notificationRedisPrefix!,
        NOTIFICATION_TOPIC: notificationTopic,
      };
      const notification = await start(serviceNamed("notification"), notificationEnv);
      await startPool(serviceNamed("notification"), notificationEnv);
      notificationUrl = notification.url;
    }
    let realtimeUrl: string | undefined;
    if (options.realtime) {
      const realtime = await start(serviceNamed("realtime"), {
        DATABASE_URL: databases.REALTIME_DATABASE_URL!,
        GATEWAY_SIGNING_SECRET: secret,
        REDIS_URL: redisUrl,
        PRESENCE_KEY_PREFIX: presenceKeyPrefix!,
      });
      realtimeUrl = realtime.url;
    }
    // Content's URLs name the gateway's origin, so the gateway's port is chosen before content starts.
    const gatewayPort = options.content ? String(await unusedPort()) : "0";
    let contentUrl: string | undefined;
    if (options.content) {
      const content = await start(serviceNamed("content"), {
        DATABASE_URL: databases.CONTENT_DATABASE_URL!,
        GATEWAY_SIGNING_SECRET: secret,
        REDIS_URL: redisUrl,
        CONTENT_URL_SIGNING_SECRET: randomBytes(32).toString("base64url"),
        CONTENT_PUBLIC_BASE_URL: `http://127.0.0.1:${gatewayPort}`,
        ACCOUNT_ERASURE_TOPIC: erasureTopic,
        ...options.contentEnv,
        CONTENT_DIR: contentDir!,
      });
      contentUrl = content.url;
    }
    // The gateway routes to the subgraphs started (its other URLs: services.json's, of those).
    const gateway = await start(gatewayService, {
      PORT: gatewayPort,
      GATEWAY_SIGNING_SECRET: secret,
      REDIS_URL: redisUrl,
      ...Object.fromEntries(Object.entries(origins).map(([name, url]) => [`SUBGRAPH_${name.toUpperCase()}_URL`, `${url}/graphql`])),
      RATE_LIMIT_KEY_PREFIX: `rate-limit:bench:${randomBytes(4).toString("hex")}:`,
      ...options.gatewayEnv,
      // As deployed: the gateway's V8 flags (gateway/src/node-flags.ts).
    }, GATEWAY_NODE_FLAGS);
    return {
      gatewayUrl: gateway.url,
      identityUrl: identity.url,
      campaignUrl: campaign.url,
      ...(simulationUrl ? { simulationUrl } : {}),
      ...(providerUrl ? { providerUrl, providerDatabaseUrl: databases.PROVIDER_DATABASE_URL } : {}),
      ...(notificationUrl ? { notificationUrl, notificationDatabaseUrl: databases.NOTIFICATION_DATABASE_URL } : {}),
      ...(realtimeUrl ? { realtimeUrl } : {}),
      ...(contentUrl ? { contentUrl } : {}),
      signingSecret: secret,
      services,
      async stop() {
        for (const service of [...services].reverse()) await service.stop();
        await migrateAll(databases, ["--drop"]).catch(() => undefined);
        await removeRunKeys(redisUrl, runTopics, runPrefixes).catch(() => undefined);
        removeContentDir();
      },
    };
  } catch (error) {
    for (const service of services) await service.stop();
    await removeRunKeys(redisUrl, runTopics, runPrefixes).catch(() => undefined);
    removeContentDir();
    throw error;
  }
}

/**
 * A bench's integration streams (no relay trims an `integration:` stream) and the keys
 * of its run's namespaces (the delivery queue's finished jobs are kept for an hour, presence
 * keys until their connections lapse), so runs leave nothing behind.
 */
async function removeRunKeys(redisUrl: string, topics: readonly string[], prefixes: readonly string[]): Promise<void> {
  const redis = createRedis(redisUrl, "bench-cleanup");
  try {
    await redis.del(...topics.flatMap((topic) => [streamKey(topic), `${streamKey(topic)}:dead-letter`]));
    for (const prefix of prefixes) await deleteKeysMatching(redis, `${prefix}*`);
  } finally {
    redis.disconnect();
  }
}

/** A GraphQL POST that must succeed. */
export async function graphql<T>(url: string, query: string, variables: Record<string, unknown> = {}, token?: string): Promise<T> {
  const response = await fetch(url, {
    method: "POST",
    headers: { "content-type": "application/json", ...(token ? { authorization: `Bearer ${token}` } : {}) },
    body: JSON.stringify({ query, variables }),
  });
  const body = (await response.json()) as { data?: T; errors?: unknown[] };
  if (!body.data || body.errors?.length) throw new Error(`GraphQL failed: ${JSON.stringify(body.errors)}`);
  return body.data;
}
