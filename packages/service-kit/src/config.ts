import { z } from "zod";
import { tracingConfigShape } from "./tracing";

/** Raised when the environment does not satisfy a service's config schema. */
export class ConfigError extends Error {
  constructor(readonly issues: { variable: string; message: string }[]) {
    super(`Invalid configuration:\n${issues.map((i) => `  ${i.variable}: ${i.message}`).join("\n")}`);
    this.name = "ConfigError";
  }
}

/** Parses the environment once into a typed, validated config (names are the variables). */
export function parseConfig<S extends z.ZodObject>(schema: S, env: NodeJS.ProcessEnv = process.env): z.infer<S> {
  // An empty variable (`PORT=` in a compose file) means "not set": the default applies.
  const result = schema.safeParse(Object.fromEntries(Object.entries(env).filter(([, value]) => value !== "")));
  if (result.success) return result.data;
  throw new ConfigError(
    result.error.issues.map((issue) => ({ variable: String(issue.path[0] ?? "(env)"), message: issue.message })),
  );
}

/** For a process entry point: a bad or missing variable is printed by name and the process exits 1. */
export function loadConfigOrExit<S extends z.ZodObject>(schema: S, env: NodeJS.ProcessEnv = process.env): z.infer<S> {
  return exitOnConfigError(() => parseConfig(schema, env));
}

export function exitOnConfigError<T>(load: () => T): T {
  try {
    return load();
  } catch (error) {
    if (error instanceof ConfigError) {
      process.stderr.write(`${error.message}\n`);
      process.exit(1);
    }
    throw error;
  }
}

// Building blocks shared by every service's schema.
export const port = (fallback: number) => z.coerce.number().int().min(0).max(65535).default(fallback);
export const url = (fallback?: string) => (fallback === undefined ? z.url() : z.url().default(fallback));
export const positiveInt = (fallback: number) => z.coerce.number().int().positive().default(fallback);
export const booleanFlag = (fallback: boolean) =>
  z.enum(["true", "false", "1", "0"]).default(fallback ? "true" : "false").transform((v) => v === "true" || v === "1");
/** A shared secret: required and long enough to resist guessing. */
export const secret = () => z.string({ error: "is required" }).min(32, "must be at least 32 characters");

/**
 * How long the gateway keeps an idle upstream (subgraph) socket (gateway/src/execution/subgraph-client.ts)
 * when the subgraph's `Keep-Alive: timeout=` hint does not reach it (a proxy may drop it; with
 * the hint, undici closes 2 s before the subgraph would). A subgraph must keep idle sockets
 * open longer, or it could close one just as the gateway sends a request on it (a reset,
 * reported as SERVICE_UNAVAILABLE): subgraphConfigShape refuses a shorter HTTP_KEEP_ALIVE_TIMEOUT_MS.
 */
export const UPSTREAM_KEEP_ALIVE_MS = 30_000;

/** Bounds on slow clients (slowloris) and idle sockets, applied by createHttpService. */
export const httpTimeoutsShape = {
  /** The whole header block must arrive within this (trickling bytes does not extend it). */
  HTTP_HEADERS_TIMEOUT_MS: positiveInt(10_000),
  /** The whole request, body included; must not be shorter than the headers timeout. */
  HTTP_REQUEST_TIMEOUT_MS: positiveInt(30_000),
  // Longer than the idle timeout of load balancers in front (60 s on AWS ALB and GCP) and
  // than UPSTREAM_KEEP_ALIVE_MS, so the server is never the side that closes under a request.
  HTTP_KEEP_ALIVE_TIMEOUT_MS: positiveInt(65_000),
};
export type HttpTimeouts = z.infer<z.ZodObject<typeof httpTimeoutsShape>>;
export const defaultHttpTimeouts = (): HttpTimeouts => z.object(httpTimeoutsShape).parse({});

export const baseConfigShape = {
  NODE_ENV: z.enum(["development", "test", "production"]).default("development"),
  LOG_LEVEL: z.enum(["fatal", "error", "warn", "info", "debug", "trace", "silent"]).default("info"),
  HOST: z.string().min(1).default("127.0.0.1"),
  SHUTDOWN_GRACE_MS: positiveInt(10_000),
  ...httpTimeoutsShape,
  ...tracingConfigShape,
};

/** Config every subgraph needs: its port, its database, Redis, and the gateway's signing secret. */
export function subgraphConfigShape(defaults: { port: number; database: string }) {
  return {
    ...baseConfigShape,
    PORT: port(defaults.port),
    DATABASE_URL: url(`postgresql://postgres@127.0.0.1:5432/${defaults.database}`),
    DATABASE_POOL_SIZE: positiveInt(10),
    /** How long a query waits for one of the pool's connections before its request is answered SERVICE_UNAVAILABLE. */
    DATABASE_POOL_TIMEOUT_MS: positiveInt(5_000),
    REDIS_URL: url("redis://127.0.0.1:6379"),
    GATEWAY_SIGNING_SECRET: secret(),
    BODY_LIMIT_BYTES: positiveInt(1_000_000),
    HTTP_KEEP_ALIVE_TIMEOUT_MS: z.coerce
      .number()
      .int()
      .min(UPSTREAM_KEEP_ALIVE_MS + 1, `must be longer than the gateway's upstream keep-alive (${UPSTREAM_KEEP_ALIVE_MS} ms)`)
      .default(65_000),
  };
}
