import { Redis } from "ioredis";
import pg from "pg";
import { SERVICE_ATTRIBUTE, createRedis, setTracingEnabled, startTracing, withSpan, type Tracing } from "@startales/service-kit";

/**
 * PostgreSQL and Redis spans (database-spans.ts), with neither server: a closed pg client and a
 * Redis client closed before it connected fail every statement and command the same way,
 * traced or not. While tracing is off pg runs its own methods and a Redis client's wrapper
 * only passes commands through.
 */

// OpenTelemetry's SpanKind.CLIENT and SpanStatusCode.ERROR.
const CLIENT = 2;
const ERROR = 2;

type EndedSpan = { name: string; kind: number; attributes: Record<string, unknown>; status: { code: number }; spanId: string; parentSpanId?: string };

/** Ended spans, kept in memory (the SDK's SpanProcessor interface, structurally). */
function memoryProcessor() {
  const ended: EndedSpan[] = [];
  type Readable = Omit<EndedSpan, "spanId" | "parentSpanId"> & { spanContext(): { spanId: string }; parentSpanContext?: { spanId: string } };
  return {
    ended,
    processor: {
      onStart: () => {},
      onEnd: (span: Readable) =>
        void ended.push({ name: span.name, kind: span.kind, attributes: { ...span.attributes }, status: span.status, spanId: span.spanContext().spanId, parentSpanId: span.parentSpanContext?.spanId }),
      forceFlush: async () => {},
      shutdown: async () => {},
    },
  };
}

/** A statement with a value, on a client already closed: its outcome is pg's error. */
async function closedStatement(): Promise<string> {
  const client = new pg.Client({ host: "127.0.0.1", port: 1, user: "nobody", database: "nothing" });
  await client.end();
  return client.query("SELECT id FROM users WHERE email = $1", ["someone@example.com"]).then(
    () => "answered",
    (error: Error) => `${error.constructor.name}: ${error.message}`,
  );
}

/** A command with a user's key, on a client closed before it connected: its outcome is ioredis's error. */
async function closedCommand(client: (url: string) => Redis): Promise<string> {
  const redis = client("redis://127.0.0.1:1");
  redis.on("error", () => undefined);
  redis.disconnect();
  return redis.get("session:user-42").then(
    () => "answered",
    (error: Error) => `${error.constructor.name}: ${error.message}`,
  );
}
const kitRedis = (url: string) => createRedis(url, "test");
const plainRedis = (url: string) => new Redis(url);

const pgMethods = () => ({ query: pg.Client.prototype.query, connect: pg.Client.prototype.connect, poolConnect: pg.Pool.prototype.connect });
const unpatched = pgMethods();
const config = { OTEL_TRACES_SAMPLER: "parentbased_traceidratio", OTEL_TRACES_SAMPLER_ARG: 1 } as const;

describe("tracing off", () => {
  it("leaves pg unpatched and passes Redis commands through: the results are the clients' own", async () => {
    const tracing = await startTracing("test", config);
    expect(tracing.enabled).toBe(false);
    expect(pgMethods()).toEqual(unpatched);
    await expect(withSpan("test", "request", closedStatement)).resolves.toBe("Error: Client was closed and is not queryable");
    const plain = await closedCommand(plainRedis);
    expect(plain).toBe("Error: Connection is closed.");
    await expect(withSpan("test", "request", () => closedCommand(kitRedis))).resolves.toBe(plain);
  });
});

describe("tracing on", () => {
  let tracing: Tracing;
  const memory = memoryProcessor();
  beforeAll(async () => {
    tracing = await startTracing("test", config, { spanProcessors: [memory.processor as never] });
  });
  afterAll(() => tracing.shutdown());
  beforeEach(() => void memory.ended.splice(0));

  it("records a statement under the active span: its parameterized text, never its values, and its error", async () => {
    expect(pgMethods().query).not.toBe(unpatched.query);
    await expect(withSpan("identity", "request", closedStatement)).resolves.toBe("Error: Client was closed and is not queryable");
    const request = memory.ended.find((span) => span.name === "request");
    const statement = memory.ended.find((span) => span.attributes["db.system.name"] === "postgresql");
    expect(statement).toMatchObject({
      name: "SELECT",
      kind: CLIENT,
      parentSpanId: request!.spanId,
      status: { code: ERROR },
      attributes: { "db.operation.name": "SELECT", "db.query.text": "SELECT id FROM users WHERE email = $1", [SERVICE_ATTRIBUTE]: "identity" },
    });
    expect(JSON.stringify(statement)).not.toContain("someone@example.com");
  });

  it("records a command under the active span by its name only, never its key, and its error", async () => {
    await expect(withSpan("gateway", "request", () => closedCommand(kitRedis))).resolves.toBe("Error: Connection is closed.");
    const request = memory.ended.find((span) => span.name === "request");
    const command = memory.ended.find((span) => span.attributes["db.system.name"] === "redis");
    expect(command).toMatchObject({
      name: "GET",
      kind: CLIENT,
      parentSpanId: request!.spanId,
      status: { code: ERROR },
      attributes: { "db.operation.name": "GET", [SERVICE_ATTRIBUTE]: "gateway" },
    });
    expect(JSON.stringify(command)).not.toContain("user-42");
  });

  it("records nothing outside a span: statements and commands start no traces of their own", async () => {
    await closedStatement();
    await closedCommand(kitRedis);
    expect(memory.ended).toEqual([]);
  });

  it("a Redis client's wrapper records nothing once tracing is off, even under a span", async () => {
    await withSpan("test", "request", async () => {
      setTracingEnabled(false);
      try {
        await expect(closedCommand(kitRedis)).resolves.toBe("Error: Connection is closed.");
      } finally {
        setTracingEnabled(true);
      }
    });
    expect(memory.ended.map((span) => span.name)).toEqual(["request"]);
  });

  it("gives pg its own methods back when tracing stops", async () => {
    await tracing.shutdown();
    expect(pgMethods()).toEqual(unpatched);
  });
});
