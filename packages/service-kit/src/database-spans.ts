import type { InstrumentationModuleDefinition } from "@opentelemetry/instrumentation";
import type { Redis } from "ioredis";
import pg from "pg";
import { SpanKind, failSpan, startChildSpan, tracingEnabled } from "./trace-context";

/*
 * Spans for PostgreSQL statements and Redis commands (docs/tracing.md), children of the active
 * span and never roots: a poller, a relay or a health check records nothing.
 */

/**
 * The span name of a statement: its operation (`SELECT`, `INSERT`, `COMMIT`), the conventions'
 * name when no single table is named; the instrumentation's own is `pg.query:<op> <database>`.
 */
const sqlOperationName = (text: string): string => (text.trim().split(/\s/, 1)[0] ?? "").replace(/;$/, "").toUpperCase();

type Patch = { definition: InstrumentationModuleDefinition; moduleExports: unknown };

/**
 * PostgreSQL: OpenTelemetry's pg instrumentation, patched by hand. Its usual way in, require
 * hooks, reaches neither our processes (pg is loaded before tracing starts: tracing needs the
 * config) nor jest's module system (the in-process test stacks). So its patches are applied,
 * through its public module definitions, to the very pg module the kit's Prisma adapter
 * (prisma.ts) runs on, when tracing starts; the returned function removes them when it stops.
 * While tracing is off pg is not patched at all.
 */
export async function tracePostgres(): Promise<() => void> {
  const { PgInstrumentation } = await import("@opentelemetry/instrumentation-pg");
  const instrumentation = new PgInstrumentation({
    // Constructed enabled, it would install its require hooks.
    enabled: false,
    requireParentSpan: true,
    // Never the statement's values; its text is Prisma's parameterized SQL.
    enhancedDatabaseReporting: false,
    // Nor a `SET application_name` sent ahead of each statement to carry the trace: tracing adds no statements.
    enableTraceContextPropagation: false,
    // It names the operation in its metrics only.
    requestHook: (span, { query }) => {
      const operation = sqlOperationName(query.text);
      span.updateName(operation).setAttribute("db.operation.name", operation);
    },
  });
  // The pool's patch runs a pooled query's callback in its caller's context: without it a query
  // that waited for a free connection would be recorded in the trace of the request that freed it.
  const modules: Record<string, unknown> = { pg, "pg-pool": pg.Pool };
  const applied: Patch[] = [];
  for (const definition of instrumentation.getModuleDefinitions()) {
    const moduleExports = modules[definition.name];
    if (moduleExports === undefined || !definition.patch) continue;
    definition.patch(moduleExports);
    applied.push({ definition, moduleExports });
  }
  return () => {
    for (const { definition, moduleExports } of applied.reverse()) definition.unpatch?.(moduleExports);
  };
}

/** Commands already traced: the offline queue sends a command again once connected. */
const tracedCommands = new WeakSet<object>();

/**
 * Redis: a span per command this client sends under an active span, named by the command
 * (`GET`, `EVALSHA`, `XADD`) and never with its arguments: keys hold user ids, values personal
 * data. Our own wrapper rather than OpenTelemetry's ioredis instrumentation: that one (0.72) fails
 * to construct here, its base class needing a newer @opentelemetry/api than the copy it resolves,
 * and wrapping the clients createRedis makes is smaller than patching ioredis itself. Connections
 * BullMQ opens on its own (a worker's blocking connection, duplicates) are not traced.
 */
export function traceRedisCommands(redis: Redis): Redis {
  const send = redis.sendCommand.bind(redis);
  redis.sendCommand = (command, stream) => {
    if (!tracingEnabled() || tracedCommands.has(command)) return send(command, stream);
    const operation = command.name.toUpperCase();
    const span = startChildSpan(operation, {
      kind: SpanKind.CLIENT,
      attributes: { "db.system.name": "redis", "db.operation.name": operation, "server.address": redis.options.host, "server.port": redis.options.port },
    });
    if (!span) return send(command, stream);
    tracedCommands.add(command);
    command.promise.then(
      () => span.end(),
      (error: unknown) => {
        failSpan(span, error);
        span.end();
      },
    );
    return send(command, stream);
  };
  return redis;
}
