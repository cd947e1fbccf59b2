import { execFile, type ChildProcess } from "node:child_process";
import { generateKeyPairSync, randomBytes } from "node:crypto";
import { join } from "node:path";
import { promisify } from "node:util";
import { GATEWAY_NODE_FLAGS } from "../../gateway/src/node-flags";
import { startBuiltProcess } from "../../test/testkit/built-process";

const root = join(__dirname, "..", "..");
// A bench that is interrupted must not leave services behind: exiting kills them (testkit).
for (const signal of ["SIGINT", "SIGTERM"] as const) process.once(signal, () => process.exit(130));

export type ServiceProcess = { name: string; url: string; child: ChildProcess; stop(): Promise<void> };

/** Where every service writes a V8 CPU profile (`<name>.cpuprofile`) of its run, when set. */
const PROFILE_DIR = process.env.BENCH_PROFILE_DIR;

/**
 * A built entry point (what `npm start` runs) as its own process, on loopback, resolved
 * once it logs `listening`. Benches measure real processes, never in-process apps.
 */
export async function spawnService(name: string, entry: string, env: Record<string, string>, nodeFlags: readonly string[] = []): Promise<ServiceProcess> {
  const profile = PROFILE_DIR ? ["--cpu-prof", `--cpu-prof-dir=${PROFILE_DIR}`, `--cpu-prof-name=${name}.cpuprofile`] : [];
  const service = startBuiltProcess(entry, { NODE_ENV: "production", LOG_LEVEL: "info", HOST: "127.0.0.1", PORT: "0", ...env }, [...nodeFlags, ...profile]);
  const listening = await service.waitForLog((line) => line.msg === "listening" && typeof line.url === "string", 60_000);
  return { name, url: listening.url as string, child: service.child, stop: async () => void (await service.kill("SIGTERM")) };
}

const migrateAll = (env: Record<string, string>, args: string[] = []) =>
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
  /** The secret the gateway signs identities with: a bench may call a subgraph directly. */
  signingSecret: string;
  services: ServiceProcess[];
  stop(): Promise<void>;
};

/**
 * identity and campaign (fresh `startales_<name>_bench` databases, migrated), optionally the
 * simulation subgraph and its worker pool, and a gateway, each its own process, with
 * throwaway secrets; `gatewayEnv` tunes the gateway (limits), `simulationEnv` both
 * simulation processes.
 */
export async function startBenchStack(
  options: {
    gatewayEnv?: Record<string, string>;
    simulation?: boolean;
    simulationEnv?: Record<string, string>;
    provider?: boolean;
    providerEnv?: Record<string, string>;
  } = {},
): Promise<BenchStack> {
  const server = process.env.DATABASE_SERVER_URL ?? "postgresql://postgres@127.0.0.1:5432";
  const names = ["identity", "campaign", ...(options.simulation ? ["simulation"] : []), ...(options.provider ? ["provider"] : [])];
  const databases = Object.fromEntries(
    names.map((name) => {
      const url = new URL(server);
      url.pathname = `/startales_${name}_bench`;
      return [`${name.toUpperCase()}_DATABASE_URL`, url.toString()];
    }),
  );
  for (const name of names) await migrateAll(databases, ["--service", name]);
  const secret = randomBytes(48).toString("base64url");
  const jwtKey = generateKeyPairSync("ed25519").privateKey.export({ type: "pkcs8", format: "pem" }).toString();
  const redisUrl = process.env.REDIS_URL ?? "redis://127.0.0.1:6379";
  const services: ServiceProcess[] = [];
  try {
    const identity = await spawnService("identity", "subgraphs/identity/dist/main.js", {
      DATABASE_URL: databases.IDENTITY_DATABASE_URL!,
      JWT_PRIVATE_KEY: jwtKey,
      GATEWAY_SIGNING_SECRET: secret,
      REDIS_URL: redisUrl,
    });
    services.push(identity);
    const campaign = await spawnService("campaign", "subgraphs/campaign/dist/main.js", {
      DATABASE_URL: databases.CAMPAIGN_DATABASE_URL!,
      GATEWAY_SIGNING_SECRET: secret,
      REDIS_URL: redisUrl,
    });
    services.push(campaign);
    let simulationUrl: string | undefined;
    if (options.simulation) {
      const simulationEnv = {
        DATABASE_URL: databases.SIMULATION_DATABASE_URL!,
        GATEWAY_SIGNING_SECRET: secret,
        REDIS_URL: redisUrl,
        CAMPAIGN_URL: `${campaign.url}/graphql`,
        QUEUE_PREFIX: `bench-${randomBytes(4).toString("hex")}`,
        ...options.simulationEnv,
      };
      const simulation = await spawnService("simulation", "subgraphs/simulation/dist/main.js", simulationEnv);
      services.push(simulation);
      services.push(await spawnService("simulation-worker", "subgraphs/simulation/dist/worker.js", simulationEnv));
      simulationUrl = simulation.url;
    }
    let providerUrl: string | undefined;
    if (options.provider) {
      const providerEnv = {
        DATABASE_URL: databases.PROVIDER_DATABASE_URL!,
        GATEWAY_SIGNING_SECRET: secret,
        REDIS_URL: redisUrl,
        CAMPAIGN_URL: `${campaign.url}/graphql`,
        PROVIDER_REDIS_PREFIX: `bench-provider-${randomBytes(4).toString("hex")}:`,
        ...options.providerEnv,
      };
      const provider = await spawnService("provider", "subgraphs/provider/dist/main.js", providerEnv);
      services.push(provider);
      services.push(await spawnService("provider-worker", "subgraphs/provider/dist/worker.js", providerEnv));
      providerUrl = provider.url;
    }
    const gateway = await spawnService("gateway", "gateway/dist/main.js", {
      GATEWAY_SIGNING_SECRET: secret,
      REDIS_URL: redisUrl,
      IDENTITY_JWKS_URL: `${identity.url}/.well-known/jwks.json`,
      SUBGRAPH_IDENTITY_URL: `${identity.url}/graphql`,
      SUBGRAPH_CAMPAIGN_URL: `${campaign.url}/graphql`,
      ...(simulationUrl ? { SUBGRAPH_SIMULATION_URL: `${simulationUrl}/graphql` } : {}),
      ...(providerUrl ? { SUBGRAPH_PROVIDER_URL: `${providerUrl}/graphql`, PROVIDER_CONTENT_URL: providerUrl } : {}),
      RATE_LIMIT_KEY_PREFIX: `rate-limit:bench:${randomBytes(4).toString("hex")}:`,
      ...options.gatewayEnv,
      // As deployed: the gateway's V8 flags (gateway/src/node-flags.ts).
    }, GATEWAY_NODE_FLAGS);
    services.push(gateway);
    return {
      gatewayUrl: gateway.url,
      identityUrl: identity.url,
      campaignUrl: campaign.url,
      ...(simulationUrl ? { simulationUrl } : {}),
      ...(providerUrl ? { providerUrl, providerDatabaseUrl: databases.PROVIDER_DATABASE_URL } : {}),
      signingSecret: secret,
      services,
      async stop() {
        for (const service of [...services].reverse()) await service.stop();
        await migrateAll(databases, ["--drop"]).catch(() => undefined);
      },
    };
  } catch (error) {
    for (const service of services) await service.stop();
    throw error;
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
