import { createHash } from "node:crypto";
import { readFileSync } from "node:fs";
import type { ApolloServerPlugin, BaseContext, PersistedQueryOptions } from "@apollo/server";
import { Kind, parse, print, type DefinitionNode, type DocumentNode } from "graphql";
import { z } from "zod";
import { ConfigError, ErrorCode, requestError, type Logger, type createRedis } from "@startales/service-kit";

type Redis = ReturnType<typeof createRedis>;
type KeyValueCache = NonNullable<PersistedQueryOptions["cache"]>;

export const sha256 = (text: string) => createHash("sha256").update(text).digest("hex");

/** How long a lookup may wait on Redis before it counts as a miss. */
const LOOKUP_TIMEOUT_MS = 500;

/**
 * Apollo's KeyValueCache over the gateway's Redis, so an operation registered through one
 * replica (APQ) is known to all. Redis trouble is a cache miss, never a failed request: the
 * client then resends the full query. The shared client queues commands until it
 * reconnects, which would hold the request: so nothing is sent while it is not ready, and
 * a lookup caught by a connection that drops waits LOOKUP_TIMEOUT_MS at most.
 */
export function redisKeyValueCache(redis: Redis, prefix: string, logger: Logger): KeyValueCache {
  const available = () => redis.status === "ready";
  return {
    async get(key) {
      if (!available()) return undefined;
      let timer: NodeJS.Timeout | undefined;
      const timeout = new Promise<undefined>((resolve) => {
        timer = setTimeout(() => resolve(undefined), LOOKUP_TIMEOUT_MS);
      });
      try {
        return (await Promise.race([redis.get(prefix + key), timeout])) ?? undefined;
      } catch (error) {
        logger.warn({ err: error }, "persisted query lookup failed");
        return undefined;
      } finally {
        clearTimeout(timer);
      }
    },
    async set(key, value, options) {
      if (!available()) return;
      const ttl = options?.ttl;
      if (ttl) await redis.set(prefix + key, value, "EX", Math.ceil(ttl));
      else await redis.set(prefix + key, value);
    },
    async delete(key) {
      return available() ? (await redis.del(prefix + key)) > 0 : false;
    },
  };
}

/** Apollo's persisted query manifest (what @apollo/generate-persisted-query-manifest writes). */
export const operationManifestSchema = z.object({
  format: z.literal("apollo-persisted-query-manifest"),
  version: z.literal(1),
  operations: z.array(
    z.object({
      id: z.string().min(1),
      name: z.string().optional(),
      type: z.enum(["query", "mutation", "subscription"]).optional(),
      body: z.string().min(1),
    }),
  ),
});
export type OperationManifest = z.infer<typeof operationManifestSchema>;

/**
 * One text per operation however the client spelled it: printed (no comments, canonical
 * spacing), operations in document order, then fragments by name. Registration and the
 * safelist check both compare this form.
 */
export function normalizeOperation(document: DocumentNode): string {
  const isFragment = (d: DefinitionNode) => d.kind === Kind.FRAGMENT_DEFINITION;
  const name = (d: DefinitionNode) => ("name" in d && d.name ? d.name.value : "");
  const fragments = document.definitions.filter(isFragment).sort((a, b) => name(a).localeCompare(name(b)));
  return [...document.definitions.filter((d) => !isFragment(d)), ...fragments].map((d) => print(d)).join("\n\n");
}

/** Reads and checks the safelist at startup; a bad file stops the gateway naming the variable. */
export function loadOperationManifest(path: string): OperationManifest {
  const fail = (message: string) => new ConfigError([{ variable: "OPERATION_SAFELIST_PATH", message }]);
  let json: unknown;
  try {
    json = JSON.parse(readFileSync(path, "utf8"));
  } catch (error) {
    throw fail(`cannot read ${path} as JSON: ${(error as Error).message}`);
  }
  const result = operationManifestSchema.safeParse(json);
  if (!result.success) throw fail(`${path} is not an Apollo persisted query manifest (format "apollo-persisted-query-manifest", version 1)`);
  for (const operation of result.data.operations) {
    try {
      parse(operation.body);
    } catch (error) {
      throw fail(`operation ${operation.id} in ${path} does not parse: ${(error as Error).message}`);
    }
  }
  return result.data;
}

/**
 * Safelist enforcement: the persisted-query cache answers only the manifest's ids (nothing
 * can register), and a request with query text runs only when that text, normalized, is in
 * the manifest. Checked once the operation is resolved, before anything executes.
 */
function safelist<T extends BaseContext>(manifest: OperationManifest): { cache: KeyValueCache; plugin: ApolloServerPlugin<T> } {
  const bodies = new Map(manifest.operations.map((operation) => [operation.id, operation.body]));
  const bodyHashes = new Set(manifest.operations.map((operation) => sha256(operation.body)));
  const normalized = new Set(manifest.operations.map((operation) => normalizeOperation(parse(operation.body))));
  const cache: KeyValueCache = {
    // Apollo namespaces the keys it passes with "apq:".
    get: async (key) => bodies.get(key.replace(/^apq:/, "")),
    set: async () => {},
    delete: async () => false,
  };
  const plugin: ApolloServerPlugin<T> = {
    async requestDidStart() {
      return {
        async didResolveOperation({ request, queryHash, document }) {
          // No query text: Apollo took it from the cache above, i.e. from the manifest.
          if (request.query === undefined || bodyHashes.has(queryHash) || normalized.has(normalizeOperation(document))) return;
          throw requestError(ErrorCode.PERSISTED_QUERY_NOT_FOUND, "Only registered operations may run on this gateway, and this one is not in its safelist");
        },
      };
    },
  };
  return { cache, plugin };
}

export type PersistedOperationsOptions = {
  mode: "off" | "enforce";
  /** The manifest; required in enforce mode (the config checks it). */
  manifestPath?: string;
  redis: Redis;
  ttlSeconds: number;
  logger: Logger;
};

/**
 * Apollo Server options for persisted operations. Off: automatic persisted queries (APQ)
 * in Redis, registered by any client, kept for ttlSeconds. Enforce: only the manifest's
 * operations run, by id (hash only) or by their full text.
 */
export function persistedOperations<T extends BaseContext>(options: PersistedOperationsOptions): {
  persistedQueries: PersistedQueryOptions;
  plugins: ApolloServerPlugin<T>[];
} {
  if (options.mode === "enforce") {
    if (!options.manifestPath) throw new ConfigError([{ variable: "OPERATION_SAFELIST_PATH", message: "is required when SAFELIST_MODE=enforce" }]);
    const { cache, plugin } = safelist<T>(loadOperationManifest(options.manifestPath));
    return { persistedQueries: { cache, ttl: null }, plugins: [plugin] };
  }
  return { persistedQueries: { cache: redisKeyValueCache(options.redis, "gateway:", options.logger), ttl: options.ttlSeconds }, plugins: [] };
}
