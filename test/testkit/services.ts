import { readFileSync } from "node:fs";
import { join } from "node:path";
import { z } from "zod";

/**
 * services.json, the stack's one list of services (npm start and npm run dev read it through
 * scripts/services-manifest.mjs), typed and validated for the tests, the benchmarks and the
 * deployment checks.
 */

const root = join(__dirname, "..", "..");

const name = z.string().regex(/^[a-z][a-z0-9-]*$/);
const port = z.number().int().min(1).max(65535);
/** A repository path of a built entry point. */
const builtEntry = z.string().regex(/^[a-z0-9/_-]+\/dist\/[a-z0-9-]+\.js$/);
/** `<service>[/path]`: that service's URL, and the path on it. */
const urlTargetSchema = z.string().regex(/^[a-z][a-z0-9-]*(\/\S*)?$/);

const workerPoolSchema = z.strictObject({ name, healthPort: port, main: builtEntry });

const serviceSchema = z.strictObject({
  name,
  kind: z.enum(["gateway", "subgraph"]),
  dir: z.string().min(1),
  port,
  main: builtEntry,
  database: z.string().regex(/^[a-z][a-z0-9_]*$/).nullable(),
  workerPool: workerPoolSchema.nullable(),
  urls: z.record(z.string().regex(/^[A-Z][A-Z0-9_]*$/), urlTargetSchema),
});

export const servicesManifestSchema = z.strictObject({ $comment: z.string().optional(), services: z.array(serviceSchema).min(2) });

export type Service = z.infer<typeof serviceSchema>;
export type WorkerPool = z.infer<typeof workerPoolSchema>;
/** A process of the stack: a service, or a subgraph's worker pool (its `port` serves health and metrics only). */
export type StackProcess = {
  name: string;
  kind: "gateway" | "subgraph" | "worker-pool";
  dir: string;
  port: number;
  main: string;
  database: string | null;
  urls: Record<string, string>;
  /** The subgraph it belongs to: itself, or a worker pool's. */
  subgraph?: string;
};

/** The manifest as services.json holds it (parsed and validated). */
export function readServicesManifest(path = join(root, "services.json")): z.infer<typeof servicesManifestSchema> {
  return servicesManifestSchema.parse(JSON.parse(readFileSync(path, "utf8")));
}

export const services: readonly Service[] = readServicesManifest().services;
export const gatewayService: Service = services.find((s) => s.kind === "gateway")!;
export const subgraphServices: readonly Service[] = services.filter((s) => s.kind === "subgraph");

/** Every process: the services in the manifest's order, then the worker pools. */
export const processes: readonly StackProcess[] = [
  ...services.map(({ workerPool: _pool, ...s }) => ({ ...s, ...(s.kind === "subgraph" ? { subgraph: s.name } : {}) })),
  ...subgraphServices.flatMap((s) => (s.workerPool ? [{ name: s.workerPool.name, kind: "worker-pool" as const, dir: s.dir, port: s.workerPool.healthPort, main: s.workerPool.main, database: s.database, urls: s.urls, subgraph: s.name }] : [])),
];

export function serviceNamed(serviceName: string): Service {
  const service = services.find((s) => s.name === serviceName);
  if (!service) throw new Error(`services.json has no service ${serviceName}`);
  return service;
}

/** "campaign/graphql" → { service: "campaign", path: "/graphql" }. */
export function urlTarget(target: string): { service: string; path: string } {
  const slash = target.indexOf("/");
  return slash < 0 ? { service: target, path: "" } : { service: target.slice(0, slash), path: target.slice(slash) };
}

/**
 * The variables of `service`'s `urls` whose service is in `origins` (name → origin, as a
 * test or bench stack started them), each pointed at that origin: what the stack tells a
 * service about the others it started.
 */
export function wiredUrls(service: Service, origins: Readonly<Record<string, string | undefined>>): Record<string, string> {
  return Object.fromEntries(
    Object.entries(service.urls).flatMap(([variable, target]) => {
      const { service: to, path } = urlTarget(target);
      const origin = origins[to];
      return origin ? [[variable, `${origin}${path}`]] : [];
    }),
  );
}

/** The TypeScript source a built entry point comes from: subgraphs/x/dist/main.js → subgraphs/x/src/main.ts. */
export const sourceOf = (main: string) => main.replace("/dist/", "/src/").replace(/\.js$/, ".ts");
