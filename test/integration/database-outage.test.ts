import { DriverAdapterError } from "@prisma/driver-adapter-utils";
import { GraphQLError } from "graphql";
import pg from "pg";
import { databaseOutageReason } from "../../packages/service-kit/src/database-outage";
import { createDb } from "../../subgraphs/campaign/src/db";
import { Prisma } from "../../subgraphs/campaign/src/generated/prisma/client";
import { required } from "../testkit/config";

/**
 * Which errors mean "the database cannot be used right now" (retry later) rather than a bug
 * or a bad request, in the shapes Prisma 6 with the pg driver adapter and pg itself raise
 * them (the integration test database-outage.test.ts meets them for real).
 */

const prismaError = (code: string, meta?: Record<string, unknown>) =>
  new Prisma.PrismaClientKnownRequestError(`failed (${code})`, { code, clientVersion: "6.19.3", meta });

function pgError(code: string, message = `pg error ${code}`): pg.DatabaseError {
  const error = new pg.DatabaseError(message, 0, "error");
  error.code = code;
  error.severity = "FATAL";
  return error;
}

const socketError = (code: string) => Object.assign(new Error(`connect ${code} 127.0.0.1:5432`), { code, errno: -111, syscall: "connect" });

const postgresCause = (code: string) =>
  ({ kind: "postgres", code, originalCode: code, originalMessage: "…", severity: "FATAL", message: "…", detail: undefined, column: undefined, hint: undefined }) as const;

describe("databaseOutageReason", () => {
  it.each([
    ["P1001", "can't reach the server"],
    ["P1002", "the server timed out"],
    ["P1008", "an operation timed out"],
    ["P1017", "the server closed the connection"],
    ["P2024", "a pool timeout"],
    ["P2028", "a transaction that could not start in time"],
    ["P2037", "too many connections"],
  ])("recognises Prisma's %s (%s)", (code) => {
    expect(databaseOutageReason(prismaError(code))).toBe(code);
  });

  it("recognises a raw query's failure (P2010) by the driver error it carries", () => {
    const terminated = new DriverAdapterError(postgresCause("57P01"));
    expect(databaseOutageReason(prismaError("P2010", { driverAdapterError: terminated }))).toBe("57P01");
    const unique = new DriverAdapterError({ kind: "UniqueConstraintViolation", constraint: { fields: ["id"] } });
    expect(databaseOutageReason(prismaError("P2010", { driverAdapterError: unique }))).toBeUndefined();
  });

  it.each([
    ["57P01", "terminated by an administrator (a restart)"],
    ["57P02", "crash shutdown"],
    ["57P03", "the server is starting up"],
    ["53300", "too many connections"],
    ["08006", "connection failure"],
    ["08001", "cannot establish a connection"],
  ])("recognises SQLSTATE %s (%s) from the driver adapter and from pg", (code) => {
    expect(databaseOutageReason(new DriverAdapterError(postgresCause(code)))).toBe(code);
    expect(databaseOutageReason(pgError(code))).toBe(code);
  });

  it.each(["DatabaseNotReachable", "ConnectionClosed", "SocketTimeout", "TooManyConnections"] as const)("recognises the driver adapter's %s", (kind) => {
    const error = kind === "DatabaseNotReachable" ? new DriverAdapterError({ kind, host: "db", port: 5432 }) : kind === "TooManyConnections" ? new DriverAdapterError({ kind, cause: "…" }) : new DriverAdapterError({ kind });
    expect(databaseOutageReason(error)).toBe(kind);
  });

  it.each(["ECONNREFUSED", "ECONNRESET", "ETIMEDOUT", "EHOSTUNREACH", "ENOTFOUND"])("recognises pg's socket error %s", (code) => {
    expect(databaseOutageReason(socketError(code))).toBe(code);
  });

  it.each(["Connection terminated unexpectedly", "Connection terminated due to connection timeout", "timeout exceeded when trying to connect"])(
    "recognises pg's codeless %j",
    (message) => {
      expect(databaseOutageReason(new Error(message))).toBe(message);
    },
  );

  it("looks through the GraphQLError graphql-js wraps a resolver's error in", () => {
    const located = new GraphQLError("wrapped", { originalError: prismaError("P1001") });
    expect(databaseOutageReason(located)).toBe("P1001");
  });

  it.each([
    ["a unique violation", prismaError("P2002")],
    ["a missing record", prismaError("P2025")],
    ["bad credentials (a configuration error, not an outage)", prismaError("P1000")],
    ["a missing database", prismaError("P1003")],
    ["a constraint violation from pg", pgError("23505")],
    ["a missing table from pg", pgError("42P01")],
    ["one of our own errors", new GraphQLError("No campaign with this id", { extensions: { code: "NOT_FOUND" } })],
    ["a bug", new TypeError("Cannot read properties of undefined (reading 'id')")],
    ["another service's refusal, wrapped by fetch", new TypeError("fetch failed", { cause: socketError("ECONNREFUSED") })],
    ["a value that is not an error", "P1001"],
    ["nothing", undefined],
  ])("does not take %s for an outage", (_what, error) => {
    expect(databaseOutageReason(error)).toBeUndefined();
  });
});

describe("a database too busy to start a transaction", () => {
  it("is an outage (P2028) when a connection comes only after the transaction's wait: the request may be retried", async () => {
    // One connection, held by a transaction until after the next one's maxWait has passed.
    const db = createDb(required("CAMPAIGN_DATABASE_URL"), 1);
    let release!: () => void;
    const holding = db.$transaction(
      async (tx) => {
        await tx.$queryRaw`SELECT 1`;
        await new Promise<void>((resolve) => (release = resolve));
      },
      { timeout: 60_000 },
    );
    try {
      while (!release) await new Promise((resolve) => setTimeout(resolve, 5));
      const waiting = db.$transaction(async (tx) => tx.$queryRaw`SELECT 1`, { maxWait: 50 }).then(
        () => undefined,
        (caught: unknown) => caught,
      );
      setTimeout(() => release(), 500);
      const error = await waiting;
      expect((error as { code?: unknown }).code).toBe("P2028");
      expect(databaseOutageReason(error)).toBe("P2028");
    } finally {
      release();
      await holding;
      await db.$disconnect();
    }
  });
});
