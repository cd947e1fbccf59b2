import { existsSync, readFileSync } from "node:fs";
import { join } from "node:path";
import { Writable } from "node:stream";
import type { ApolloServerPlugin, BaseContext } from "@apollo/server";
import { parse } from "yaml";
import {
  badInput,
  createLogger,
  logFailure,
  requestLoggingPlugin,
  startTracing,
  warnDatabaseOutage,
  withSpan,
  type Logger,
  type Tracing,
} from "@startales/service-kit";

/**
 * The log shipping of docs/logging.md against the code: Loki keeps 14 days, the shipper makes
 * only the bounded labels and pushes where compose runs Loki, Grafana reads the same Loki,
 * and every LogQL query of the docs selects on those labels and reads fields that our logger
 * really writes. Files only: Loki and Alloy are not packaged where the tests run
 * (docs/logging.md, How this is tested).
 */

const root = join(__dirname, "..", "..");
const read = (path: string) => readFileSync(join(root, path), "utf8");

const LABELS = ["level", "service"];
const LEVELS = ["trace", "debug", "info", "warn", "error", "fatal"];

type ComposeService = { image?: string; profiles?: string[]; command?: string[]; volumes?: string[]; environment?: Record<string, string>; depends_on?: Record<string, { condition: string }> };
const compose = parse(read("docker-compose.yml"), { merge: true }) as { services: Record<string, ComposeService>; volumes: Record<string, unknown> };
const loki = parse(read("ops/loki/loki.yml")) as {
  auth_enabled: boolean;
  server: { http_listen_port: number };
  schema_config: { configs: { store: string; object_store: string; index: { period: string } }[] };
  compactor: Record<string, unknown>;
  limits_config: Record<string, unknown>;
  analytics: { reporting_enabled: boolean };
};
/** The Alloy file without its comment lines (`//`; URLs have `//` too, so whole lines only). */
const alloy = read("ops/loki/compose.alloy").replace(/^\s*\/\/.*$/gm, "");

describe("Loki (ops/loki/loki.yml)", () => {
  it("keeps 14 days: the compactor applies the retention, on a 24 h TSDB index", () => {
    expect(loki.limits_config.retention_period).toBe("336h");
    expect(loki.limits_config.max_query_lookback).toBe(loki.limits_config.retention_period);
    // Without retention_enabled the compactor only compacts: every line is kept forever.
    expect(loki.compactor).toMatchObject({ retention_enabled: true, delete_request_store: "filesystem" });
    for (const period of loki.schema_config.configs) expect(period).toMatchObject({ store: "tsdb", object_store: "filesystem", index: { period: "24h" } });
  });

  it("is one tenant without authentication, which reports nothing to Grafana Labs", () => {
    expect(loki.auth_enabled).toBe(false);
    expect(loki.analytics.reporting_enabled).toBe(false);
    // Loki 3 refuses its 2.x storage keys.
    expect(read("ops/loki/loki.yml")).not.toMatch(/shared_store|boltdb/);
  });
});

describe("the shipper (ops/loki/compose.alloy) and the compose profile", () => {
  const [lokiService, alloyService] = [compose.services.loki!, compose.services.alloy!];
  const containerPath = (service: ComposeService, source: string) =>
    service.volumes?.map((volume) => volume.split(":")).find(([from]) => from === source)?.[1];

  it("makes only the bounded labels: service and level", () => {
    const relabelled = [...alloy.matchAll(/target_label\s*=\s*"([^"]+)"/g)].map((m) => m[1]);
    const staged = [...alloy.matchAll(/stage\.labels\s*\{\s*values\s*=\s*\{([^}]*)\}/g)].flatMap((m) => [...m[1]!.matchAll(/(\w+)\s*=/g)].map((n) => n[1]));
    expect([...new Set([...relabelled, ...staged])].sort()).toEqual(LABELS);
  });

  it("pushes to the loki service on the port Loki listens on, as Grafana reads it", () => {
    const push = new URL(/url\s*=\s*"([^"]+)"/.exec(alloy)![1]!);
    expect({ host: push.hostname, port: Number(push.port), path: push.pathname }).toEqual({ host: "loki", port: loki.server.http_listen_port, path: "/loki/api/v1/push" });
    const datasources = (parse(read("ops/grafana/provisioning/datasources/loki.yml")) as { datasources: { type: string; url: string }[] }).datasources;
    expect(datasources).toEqual([expect.objectContaining({ type: "loki", url: push.origin })]);
  });

  it("runs loki and alloy in the logs profile, with these files, Alloy after Loki is healthy", () => {
    expect({ loki: lokiService.profiles, alloy: alloyService.profiles }).toEqual({ loki: ["logs"], alloy: ["logs"] });
    const lokiConfig = /^-config\.file=(.+)$/.exec(lokiService.command!.find((arg) => arg.startsWith("-config.file="))!)![1];
    expect(containerPath(lokiService, "./ops/loki/loki.yml")).toBe(lokiConfig);
    expect(containerPath(alloyService, "./ops/loki/compose.alloy")).toBe(alloyService.command!.at(-1));
    // Its own data (positions and chunks) outlive the containers.
    expect(containerPath(lokiService, "loki-data")).toBe("/loki");
    expect(Object.keys(compose.volumes)).toEqual(expect.arrayContaining(["loki-data", "alloy-data"]));
    expect(alloyService.depends_on).toEqual({ loki: { condition: "service_healthy" } });
    for (const service of [lokiService, alloyService]) {
      for (const [source] of (service.volumes ?? []).map((volume) => volume.split(":"))) {
        if (source!.startsWith("./")) expect({ source, exists: existsSync(join(root, source!)) }).toEqual({ source, exists: true });
      }
    }
  });

  it("keeps only this compose project's containers, by the name compose gives Alloy", () => {
    const variable = /com\.docker\.compose\.project="\s*\+\s*sys\.env\("(\w+)"\)/.exec(alloy)?.[1];
    expect(variable).toBeDefined();
    expect(alloyService.environment?.[variable!]).toBe("${COMPOSE_PROJECT_NAME}");
  });
});

// ---------------------------------------------------------------------------------------
// The queries of docs/logging.md against lines our code writes.

/** Lines written by the service kit's logger through the code paths that write them in the services. */
async function realLines(): Promise<Record<string, unknown>[]> {
  const chunks: string[] = [];
  const sink = new Writable({ write: (chunk: Buffer, _encoding, done) => void (chunks.push(chunk.toString("utf8")), done()) });
  const logger = createLogger("gateway", "info", sink);
  const tracing: Tracing = await startTracing("gateway", { OTEL_TRACES_SAMPLER: "always_on", OTEL_TRACES_SAMPLER_ARG: 1 }, { spanProcessors: [] });
  try {
    await withSpan("gateway", "POST /graphql", async () => {
      const child = logger.child({ requestId: "3f0c2a9e-1d5b-4c8e-9f7a-6b2d1e0c4a58" }) as Logger;
      // A refused request, as the request logging plugin writes it.
      const plugin = requestLoggingPlugin(logger) as unknown as ApolloServerPlugin<BaseContext>;
      const listener = await plugin.requestDidStart!({} as never);
      await listener!.didEncounterErrors!({ errors: [badInput("Name must be 2 to 60 characters")], contextValue: { logger: child }, operationName: "CreateCampaign" } as never);
      logFailure(child, new Error("a bug"), {}, "unhandled error in HTTP handler");
      warnDatabaseOutage(child, "P1001", {});
    });
  } finally {
    await tracing.shutdown();
  }
  return chunks.join("").split("\n").filter(Boolean).map((line) => JSON.parse(line) as Record<string, unknown>);
}

/** What `| json` makes of a line: nested fields flattened with `_`, arrays skipped. */
function jsonFields(value: Record<string, unknown>, prefix = ""): string[] {
  return Object.entries(value).flatMap(([key, inner]) => {
    if (Array.isArray(inner)) return [];
    if (inner !== null && typeof inner === "object") return jsonFields(inner as Record<string, unknown>, `${prefix}${key}_`);
    return [`${prefix}${key}`];
  });
}

const documented = [...read("docs/logging.md").matchAll(/```logql\n([\s\S]*?)```/g)].flatMap((m) => m[1]!.split("\n").filter((line) => line.trim()));

describe("docs/logging.md's LogQL", () => {
  let lines: Record<string, unknown>[];
  beforeAll(async () => {
    lines = await realLines();
  });

  it("has queries", () => {
    expect(documented.length).toBeGreaterThanOrEqual(5);
  });

  it.each(documented.map((query) => [query]))("%s: selects on the shipper's labels, and reads fields our lines have", (query) => {
    const problems: string[] = [];
    // Templates first: their {{.field}} are not selectors.
    const templates = [...query.matchAll(/line_format\s+"((?:[^"\\]|\\.)*)"/g)].map((m) => m[1]!);
    const rest = query.replace(/line_format\s+"(?:[^"\\]|\\.)*"/g, "");
    const selectors = [...rest.matchAll(/\{([^{}]*)\}/g)].map((m) => m[1]!);
    if (selectors.length === 0) problems.push("no stream selector");
    for (const selector of selectors) {
      for (const [, label, value] of selector.matchAll(/(\w+)\s*(?:=~|!~|!=|=)\s*"([^"]*)"/g)) {
        if (!LABELS.includes(label!)) problems.push(`selects on ${label}, which is not a label`);
        if (label === "level" && !value!.split("|").every((level) => LEVELS.includes(level))) problems.push(`level ${value} is not a pino level`);
      }
    }
    const fields = new Set(lines.flatMap((line) => jsonFields(line)));
    const messages = new Set(lines.map((line) => line.msg));
    const [, afterJson = ""] = rest.split(/\|\s*json\b/, 2);
    // `| json name="path[0]", …`: each path's first key must be a field of ours (arrays included).
    const parameters = /^((?:\s*\w+="[^"]*"\s*,?)*)/.exec(afterJson)![1]!;
    const extracted = [...parameters.matchAll(/(\w+)="([^"]*)"/g)].map(([, name, path]) => {
      const key = path!.split(/[.[]/)[0]!;
      if (!lines.some((line) => key in line)) problems.push(`| json reads ${path}, which no line has`);
      return name!;
    });
    const known = (field: string) => fields.has(field) || extracted.includes(field) || LABELS.includes(field);
    for (const [, field, value] of afterJson.matchAll(/\|\s*(\w+)\s*(?:=~|!~|!=|=|>=|<=|>|<)\s*"([^"]*)"/g)) {
      if (!known(field!)) problems.push(`filters on ${field}, which no line has`);
      if (field === "msg" && !messages.has(value)) problems.push(`no line says "${value}"`);
    }
    for (const template of templates) for (const [, field] of template.matchAll(/\{\{\s*\.(\w+)\s*\}\}/g)) if (!known(field!)) problems.push(`prints ${field}, which no line has`);
    expect(problems).toEqual([]);
  });

  it("those lines carry the fields the shipper reads: level and time", () => {
    const expressions = /stage\.json\s*\{\s*expressions\s*=\s*\{([^}]*)\}/.exec(alloy)![1]!;
    const paths = [...expressions.matchAll(/\w+\s*=\s*"([^"]+)"/g)].map((m) => m[1]!);
    expect(paths.sort()).toEqual(["level", "time"]);
    for (const line of lines) {
      expect(LEVELS).toContain(line.level);
      expect(Number.isNaN(Date.parse(String(line.time)))).toBe(false);
    }
  });
});
