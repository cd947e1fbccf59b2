import { existsSync, readFileSync, readdirSync } from "node:fs";
import { join } from "node:path";
import { parse } from "yaml";
import type { z } from "zod";
import { gatewayService, processes, readServicesManifest, services, sourceOf, subgraphServices, urlTarget, type StackProcess } from "../testkit/services";

/**
 * services.json against what it describes: the folders, the services' own config defaults,
 * supergraph.yaml, and the tables of README.md and docs/architecture.md. Reads files and
 * config schemas only: no build, database or Redis.
 */

const root = join(__dirname, "..", "..");
const read = (path: string) => readFileSync(join(root, path), "utf8");

/** The module's one exported `*ConfigSchema`. */
function configSchemaIn(module: string): z.ZodObject {
  const exports = require(join(root, module)) as Record<string, unknown>;
  const schemas = Object.entries(exports).filter(([name]) => name.endsWith("ConfigSchema"));
  if (schemas.length !== 1) throw new Error(`${module} must export exactly one *ConfigSchema`);
  return schemas[0]![1] as z.ZodObject;
}

const defaultOf = (schema: z.ZodObject, variable: string) => (schema.shape[variable] as z.ZodType).parse(undefined);

/** A worker pool's config: a worker-config.ts of its own, or its subgraph's. */
const workerConfigModule = (dir: string) => (existsSync(join(root, dir, "src", "worker-config.ts")) ? `${dir}/src/worker-config.ts` : `${dir}/src/config.ts`);

/** The port a worker pool listens on when PORT is unset: its worker-config.ts default, or the one its worker.ts passes. */
function workerDefaultPort(dir: string): number {
  const module = workerConfigModule(dir);
  if (module.endsWith("worker-config.ts")) return defaultOf(configSchemaIn(module), "PORT") as number;
  const entry = read(`${dir}/src/worker.ts`);
  const constant = /\bconst WORKER_PORT = (\d+);/.exec(entry);
  if (!constant || !entry.includes("PORT: String(WORKER_PORT)")) throw new Error(`${dir}/src/worker.ts: cannot tell its default PORT; teach test/unit/services-manifest.test.ts`);
  return Number(constant[1]);
}

/** What the docs call a process: its name, or "<subgraph> worker pool". */
const docName = (p: StackProcess) => (p.kind === "worker-pool" ? `${p.subgraph} worker pool` : p.name);

/** The rows of the first Markdown table after `heading`, as cells. */
function tableAfter(markdown: string, heading: RegExp): string[][] {
  const lines = markdown.split("\n");
  const start = lines.findIndex((line) => heading.test(line));
  if (start < 0) throw new Error(`no heading ${heading}`);
  const first = lines.findIndex((line, i) => i > start && line.startsWith("|"));
  const rows: string[][] = [];
  for (let i = first + 2; i < lines.length && lines[i]!.startsWith("|"); i++) rows.push(lines[i]!.slice(1, -1).split("|").map((cell) => cell.trim()));
  return rows;
}

describe("services.json", () => {
  it("is valid, and names each process once on a port of its own", () => {
    expect(() => readServicesManifest()).not.toThrow();
    expect(services.filter((s) => s.kind === "gateway")).toHaveLength(1);
    const names = processes.map((p) => p.name);
    expect(names.filter((name, i) => names.indexOf(name) !== i)).toEqual([]);
    const ports = processes.map((p) => p.port);
    expect(processes.filter((p, i) => ports.indexOf(p.port) !== i).map((p) => `${p.name}: ${p.port}`)).toEqual([]);
  });

  it("has every folder under subgraphs/, and the gateway's", () => {
    const folders = readdirSync(join(root, "subgraphs"), { withFileTypes: true }).filter((entry) => entry.isDirectory()).map((entry) => entry.name);
    expect(subgraphServices.map((s) => s.name).sort()).toEqual(folders.sort());
    for (const s of subgraphServices) expect({ name: s.name, dir: s.dir }).toEqual({ name: s.name, dir: `subgraphs/${s.name}` });
    expect(gatewayService.dir).toBe("gateway");
  });

  it("gives each process a built entry point in its folder, from a source that exists; a worker pool exactly where there is a src/worker.ts", () => {
    for (const p of processes) {
      expect({ process: p.name, main: p.main }).toEqual({ process: p.name, main: expect.stringMatching(new RegExp(`^${p.dir}/dist/[a-z-]+\\.js$`)) });
      expect({ process: p.name, source: sourceOf(p.main), exists: existsSync(join(root, sourceOf(p.main))) }).toEqual({ process: p.name, source: sourceOf(p.main), exists: true });
    }
    for (const s of subgraphServices) {
      expect({ subgraph: s.name, workerPool: s.workerPool !== null }).toEqual({ subgraph: s.name, workerPool: existsSync(join(root, s.dir, "src", "worker.ts")) });
      if (s.workerPool) expect({ subgraph: s.name, pool: s.workerPool.name, main: s.workerPool.main }).toEqual({ subgraph: s.name, pool: `${s.name}-worker`, main: `${s.dir}/dist/worker.js` });
    }
  });

  it("gives a database exactly to the services with a Prisma schema", () => {
    for (const s of services) {
      expect({ service: s.name, database: s.database !== null }).toEqual({ service: s.name, database: existsSync(join(root, s.dir, "prisma", "schema.prisma")) });
    }
  });

  it("agrees with each service's own defaults: its port, its database, and the variables it is told", () => {
    for (const s of services) {
      const schema = configSchemaIn(`${s.dir}/src/config.ts`);
      expect({ service: s.name, port: defaultOf(schema, "PORT") }).toEqual({ service: s.name, port: s.port });
      if (s.database) {
        const database = new URL(String(defaultOf(schema, "DATABASE_URL"))).pathname.slice(1);
        expect({ service: s.name, database }).toEqual({ service: s.name, database: s.database });
      }
      const unread = Object.keys(s.urls).filter((variable) => !(variable in schema.shape));
      expect({ service: s.name, unread }).toEqual({ service: s.name, unread: [] });
      const unknownTargets = Object.values(s.urls).filter((target) => !services.some((other) => other.name === urlTarget(target).service));
      expect({ service: s.name, unknownTargets }).toEqual({ service: s.name, unknownTargets: [] });
      if (s.workerPool) expect({ pool: s.workerPool.name, port: workerDefaultPort(s.dir) }).toEqual({ pool: s.workerPool.name, port: s.workerPool.healthPort });
    }
  });

  it("lists the subgraphs of supergraph.yaml, in its order, each at its port", () => {
    const supergraph = parse(read("supergraph.yaml")) as { subgraphs: Record<string, { routing_url: string; schema: { file: string } }> };
    expect(Object.keys(supergraph.subgraphs)).toEqual(subgraphServices.map((s) => s.name));
    for (const s of subgraphServices) {
      const { routing_url, schema } = supergraph.subgraphs[s.name]!;
      expect({ subgraph: s.name, routing_url, schema: schema.file }).toEqual({ subgraph: s.name, routing_url: `http://127.0.0.1:${s.port}/graphql`, schema: `./${s.dir}/schema.graphql` });
    }
  });

  it("is the README's table of services and ports", () => {
    const rows = tableAfter(read("README.md"), /^## Services and ports$/);
    const documented = rows.map(([name = "", port = "", , entry = ""]) => ({ name, port: Number(/^\d+/.exec(port)?.[0]), entry }));
    expect(documented).toEqual(
      expect.arrayContaining(processes.map((p) => ({ name: docName(p), port: p.port, entry: `\`${sourceOf(p.main)}\`` }))),
    );
    expect(documented).toHaveLength(processes.length);
  });

  it("is the process table of docs/architecture.md §1", () => {
    const rows = tableAfter(read("docs/architecture.md"), /^## 1\. Processes$/);
    const documented = rows.map(([name = "", port = "", , database = ""]) => ({ name, port: Number(port), database }));
    expect(documented).toEqual(
      expect.arrayContaining(processes.map((p) => ({ name: docName(p), port: p.port, database: p.database ? `\`${p.database}\`` : "none" }))),
    );
    expect(documented).toHaveLength(processes.length);
  });
});
