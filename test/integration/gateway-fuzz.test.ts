import { createHash } from "node:crypto";
import { readFileSync, readdirSync } from "node:fs";
import { join } from "node:path";
import { Kind, parse, print, type FragmentDefinitionNode, type OperationDefinitionNode } from "graphql";
import type { Logger } from "@startales/service-kit";
import { createGatewayApp, type GatewayApp } from "../../gateway/src/app";
import { gatewayTestConfig } from "../testkit/config";
import { untilReady } from "../testkit/ready";
import { startStack, type Stack } from "../testkit/stack";
import { registerUser, type TestUser } from "../testkit/users";

/**
 * A bounded fuzz run against the real stack: a few thousand requests generated from the
 * operations clients really send (test/operations), then mutated at every layer a client
 * controls — the JSON, variables, operation names, content types, methods, persisted-query
 * hashes, extensions and credentials. Whatever arrives, the gateway answers with a 4xx and a
 * code or with a result, never a 5xx, never a stack trace, SQL, a path or a host; no service
 * logs an error; and every service is healthy afterwards. The seed is printed and can be
 * replayed: FUZZ_SEED=<n> npx jest test/integration/gateway-fuzz.test.ts.
 */
const REQUESTS = Number(process.env.FUZZ_REQUESTS ?? 3000);
const SEED = Number(process.env.FUZZ_SEED ?? Date.now() % 1_000_000);
const CONCURRENCY = 8;

/** mulberry32: small, seeded, good enough to pick mutations reproducibly. */
function random(seed: number) {
  let a = seed >>> 0;
  const next = () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
  const int = (n: number) => Math.floor(next() * n);
  const pick = <T>(items: readonly T[]): T => items[int(items.length)]!;
  return { next, int, pick, chance: (p: number) => next() < p };
}
type Random = ReturnType<typeof random>;

type Seed = { query: string; name: string; variables: string[]; types: Record<string, string> };

/** The operations of test/operations, one seed each, without sign-in operations (argon2 would make the run about CPU, not input). */
function seeds(): Seed[] {
  const dir = join(__dirname, "..", "operations");
  const skip = /^(Register|Login|RefreshToken|CompleteOidc|BeginOidc)/;
  return readdirSync(dir)
    .filter((file) => file.endsWith(".graphql"))
    .flatMap((file) => {
      const document = parse(readFileSync(join(dir, file), "utf8"));
      const fragments = document.definitions.filter((d): d is FragmentDefinitionNode => d.kind === Kind.FRAGMENT_DEFINITION);
      return document.definitions
        .filter((d): d is OperationDefinitionNode => d.kind === Kind.OPERATION_DEFINITION && !!d.name && !skip.test(d.name.value))
        .map((operation) => {
          // Only the fragments the operation spreads (an unused one fails validation).
          let text = print(operation);
          const used = new Set<string>();
          for (let grew = true; grew; ) {
            grew = false;
            for (const fragment of fragments) {
              if (used.has(fragment.name.value) || !text.includes(`...${fragment.name.value}`)) continue;
              used.add(fragment.name.value);
              text += `\n${print(fragment)}`;
              grew = true;
            }
          }
          const definitions = operation.variableDefinitions ?? [];
          return {
            name: operation.name!.value,
            query: text,
            variables: definitions.map((v) => v.variable.name.value),
            types: Object.fromEntries(definitions.map((v) => [v.variable.name.value, print(v.type)])),
          };
        });
    });
}

const NASTY_STRINGS = ["", " ", "\u0000", "\ud800", "💥".repeat(50), "a".repeat(5000), "null", "{}", "__proto__", "constructor", "' OR 1=1 --", "../../etc/passwd", "%00", "${7*7}", "<script>", "\\", '"'];
const NASTY_NUMBERS = [0, -1, 1.5, 2147483647, 2147483648, -2147483649, 1e308, -1e308, 5e-324, Number.MAX_SAFE_INTEGER + 2];

function randomJson(r: Random, depth = 0): unknown {
  switch (r.int(depth > 3 ? 4 : 7)) {
    case 0:
      return r.pick(NASTY_STRINGS);
    case 1:
      return r.pick(NASTY_NUMBERS);
    case 2:
      return r.pick([true, false, null]);
    case 3:
      return r.pick(["00000000-0000-0000-0000-000000000000", "c", "1", "ALLIANCE", "BUILD", "READ"]);
    case 4:
      return Array.from({ length: r.int(4) }, () => randomJson(r, depth + 1));
    case 5:
      return Object.fromEntries(Array.from({ length: r.int(4) }, () => [r.pick(["input", "id", "name", "first", "payload", "__proto__", "x"]), randomJson(r, depth + 1)]));
    default:
      return { name: r.pick(NASTY_STRINGS), campaignId: randomJson(r, depth + 1), type: r.pick(["BUILD", "X", 1]), payload: randomJson(r, depth + 1), idempotencyKey: r.pick(NASTY_STRINGS) };
  }
}

/** A document mutated at the text level: cut, spliced, duplicated, or left valid. */
function mutateQuery(r: Random, query: string): unknown {
  switch (r.int(10)) {
    case 0:
      return query.slice(0, r.int(query.length));
    case 1: {
      const at = r.int(query.length);
      return query.slice(0, at) + r.pick(["{", "}", "(", ")", "$", "@", "...", '"', "#", "\n", "query", "fragment", "🚀", "[", "]", "!"]) + query.slice(at);
    }
    case 2:
      return `${query}\n${query}`;
    case 3:
      return r.pick([null, 42, true, [], {}, [query]]);
    case 4:
      return `${"{".repeat(r.int(200))}${query}`;
    case 5:
      return query.replace(/\(([^)]*)\)/, "($x: Int)");
    default:
      return query;
  }
}

/** A value of the variable's declared scalar type, so some requests get as far as the subgraphs. */
function plausible(r: Random, type: string): unknown {
  const named = type.replace(/[[\]!]/g, "");
  if (named === "ID") return r.pick(["00000000-0000-4000-8000-000000000000", "c"]);
  if (named === "String") return r.pick(["x", "Orion"]);
  if (named === "Int") return r.int(20);
  if (named === "Boolean") return r.chance(0.5);
  return undefined;
}

const CONTENT_TYPES = ["application/json", "application/json", "application/json", "application/json", "application/json; charset=utf-8", "application/graphql-response+json", "text/plain", "application/x-www-form-urlencoded", "multipart/form-data; boundary=x", "application/graphql", "", "garbage/\u00ff"];
const METHODS = ["POST", "POST", "POST", "POST", "POST", "POST", "POST", "POST", "GET", "GET", "PUT", "DELETE", "PATCH", "OPTIONS"];

type Answer = { data?: unknown; errors?: { extensions?: { code?: unknown } }[] };
type Generated = { method: string; url: string; headers: Record<string, string>; body?: string; label: string };

function generate(r: Random, seed: Seed, graphqlUrl: string, token: string): Generated {
  const method = r.pick(METHODS);
  const headers: Record<string, string> = {};
  const contentType = r.pick(CONTENT_TYPES);
  if (contentType) headers["content-type"] = contentType;
  if (r.chance(0.5)) headers.accept = r.pick(["application/json", "application/graphql-response+json", "*/*", "text/html", "multipart/mixed"]);
  if (r.chance(0.8)) headers.authorization = r.chance(0.8) ? `Bearer ${token}` : r.pick(["Bearer x.y.z", "Basic abc", "Bearer", ""]);
  if (r.chance(0.1)) headers["x-api-key"] = r.pick(["stk_00000000_" + "0".repeat(64), "nope", ""]);
  if (r.chance(0.3)) headers["apollo-require-preflight"] = "true";

  const operation: Record<string, unknown> = {};
  if (r.chance(0.25)) {
    // Left as a client would send it, with values of the right types: what reaches execution.
    operation.query = seed.query;
    operation.operationName = seed.name;
    operation.variables = Object.fromEntries(seed.variables.map((variable) => [variable, plausible(r, seed.types[variable]!)]));
    return { method: "POST", url: graphqlUrl, headers: { ...headers, "content-type": "application/json" }, body: JSON.stringify(operation), label: `POST ${seed.name} as sent` };
  }
  if (r.chance(0.9)) operation.query = mutateQuery(r, seed.query);
  const name = r.int(8);
  if (name === 0) operation.operationName = "";
  else if (name === 1) operation.operationName = r.pick(["Nope", 5, null, ["x"], seed.name.toLowerCase()]);
  else if (name < 5) operation.operationName = seed.name;
  if (r.chance(0.8)) {
    operation.variables = r.chance(0.1)
      ? r.pick([[], "x", 7, null])
      : Object.fromEntries(seed.variables.map((variable) => [variable, randomJson(r)]));
  }
  if (r.chance(0.25)) {
    const text = typeof operation.query === "string" ? operation.query : seed.query;
    const hash = createHash("sha256").update(text).digest("hex");
    operation.extensions = r.pick([
      { persistedQuery: { version: 1, sha256Hash: hash } },
      { persistedQuery: { version: 1, sha256Hash: "0".repeat(64) } },
      { persistedQuery: { version: r.pick([2, "1", null]), sha256Hash: hash } },
      { persistedQuery: { version: 1, sha256Hash: r.pick([5, null, "xyz", hash.toUpperCase()]) } },
      { persistedQuery: r.pick([null, "x", []]) },
      r.pick(["x", [], null, { x: randomJson(r) }]),
    ]);
    if (r.chance(0.5)) delete operation.query;
  }

  let body: string | undefined;
  let url = graphqlUrl;
  if (method === "GET") {
    const params = new URLSearchParams();
    for (const [key, value] of Object.entries(operation)) params.set(key, typeof value === "string" ? value : JSON.stringify(value) ?? "");
    url = `${graphqlUrl}?${params}`;
  } else {
    let payload: unknown = operation;
    if (r.chance(0.05)) payload = Array.from({ length: r.int(14) }, () => operation);
    body = JSON.stringify(payload);
    switch (r.int(12)) {
      case 0:
        body = body.slice(0, r.int(body.length));
        break;
      case 1:
        body = body.replace(/"/, "'");
        break;
      case 2:
        body = r.pick(["", "null", "[]", "[1]", "true", '"x"', "{", "\u0000", "{}".repeat(1000)]);
        break;
      default:
    }
  }
  return { method, url, headers, body, label: `${method} ${seed.name} ${JSON.stringify(headers)} ${(body ?? url).slice(0, 300)}` };
}

// What an answer must never carry: a stack frame, SQL, a file path, an internal host or a driver's error.
const LEAKS = [/\n\s+at /, /\bat .*\.(ts|js):\d+/, /node_modules/, /\/work\//, /postgres(ql)?:\/\//i, /\bprisma\b/i, /ECONNREFUSED/, /SELECT .* FROM/i, /127\.0\.0\.1:\d{4}/, /stacktrace/i];

let stack: Stack;
let gateway: GatewayApp;
let graphqlUrl: string;
let player: TestUser;
beforeAll(async () => {
  stack = await startStack({ logLevel: "info" });
  // Limits high enough that the run exercises the pipeline rather than the rate limiter.
  gateway = createGatewayApp(
    gatewayTestConfig(
      { identity: stack.identityUrl, campaign: stack.campaignUrl, realtime: stack.realtimeUrl, simulation: stack.simulationUrl, provider: stack.providerUrl, notification: stack.notificationUrl },
      `${stack.identityUrl}/.well-known/jwks.json`,
      { RATE_LIMIT_IP_PER_MINUTE: "1000000", RATE_LIMIT_USER_PER_MINUTE: "1000000", RATE_LIMIT_COST_PER_MINUTE: "100000000" },
    ),
    stack.logs.gateway.logger as Logger,
  );
  const baseUrl = await gateway.listen();
  await untilReady(baseUrl);
  graphqlUrl = `${baseUrl}/graphql`;
  player = await registerUser(graphqlUrl, "Fuzzer");
}, 60_000);
afterAll(async () => {
  await gateway.stop();
  await stack.stop();
});

it(`answers ${REQUESTS} generated and mutated requests without a 5xx or a leak, and stays healthy`, async () => {
  console.log(`gateway fuzz: seed ${SEED}, ${REQUESTS} requests`);
  const r = random(SEED);
  const corpus = seeds();
  expect(corpus.length).toBeGreaterThan(30);
  const requests = Array.from({ length: REQUESTS }, () => generate(r, r.pick(corpus), graphqlUrl, player.accessToken));
  const failures: string[] = [];
  const statuses = new Map<number, number>();
  let next = 0;
  const worker = async () => {
    while (next < requests.length) {
      const request = requests[next++]!;
      const res = await fetch(request.url, { method: request.method, headers: request.headers, body: request.body });
      const text = await res.text();
      statuses.set(res.status, (statuses.get(res.status) ?? 0) + 1);
      if (res.status >= 500) failures.push(`${res.status} for ${request.label}: ${text.slice(0, 300)}`);
      const leak = LEAKS.find((pattern) => pattern.test(text));
      if (leak) failures.push(`leak ${leak} for ${request.label}: ${text.slice(0, 300)}`);
      if (res.status >= 400 && res.status !== 404 && res.status !== 405 && res.headers.get("content-type")?.includes("json")) {
        const parsed = JSON.parse(text) as Answer | Answer[];
        const answers = Array.isArray(parsed) ? parsed : [parsed];
        if (!answers.every((a) => a.errors?.every((e) => typeof e.extensions?.code === "string") ?? a.data !== undefined)) {
          failures.push(`no code for ${request.label}: ${text.slice(0, 300)}`);
        }
      }
    }
  };
  await Promise.all(Array.from({ length: CONCURRENCY }, worker));
  console.log(`gateway fuzz: statuses ${JSON.stringify(Object.fromEntries([...statuses].sort()))}`);
  expect(failures.slice(0, 20)).toEqual([]);
  // The run reached execution, not only the front door.
  expect(statuses.get(200) ?? 0).toBeGreaterThan(REQUESTS / 20);
  expect(statuses.get(400) ?? 0).toBeGreaterThan(REQUESTS / 20);

  // Every service is healthy, and an ordinary query is served.
  for (const url of [graphqlUrl.replace(/\/graphql$/, ""), stack.gatewayUrl, stack.identityUrl, stack.campaignUrl, stack.realtimeUrl, stack.simulationUrl, stack.providerUrl, stack.notificationUrl]) {
    expect((await fetch(`${url}/health/ready`)).status).toBe(200);
  }
  const me = await fetch(graphqlUrl, { method: "POST", headers: { "content-type": "application/json", authorization: `Bearer ${player.accessToken}` }, body: '{"query":"{ me { id } }"}' });
  expect(await me.json()).toEqual({ data: { me: { id: player.user.id } } });

  // Client mistakes never reach the error log, in the gateway or behind it.
  const errors = Object.entries(stack.logs).flatMap(([service, logs]) =>
    logs.lines().filter((line) => line.level === "error" || line.level === "fatal").map((line) => `${service}: ${JSON.stringify(line).slice(0, 400)}`),
  );
  // Printed whole first: a failing run's report may cut the assertion's diff short.
  if (errors.length) console.log(`gateway fuzz: error lines\n${errors.slice(0, 10).join("\n")}`);
  expect(errors.slice(0, 10)).toEqual([]);
}, 240_000);
