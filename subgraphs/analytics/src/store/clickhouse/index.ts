import { ClickHouseLogLevel, createClient, type ClickHouseClient } from "@clickhouse/client";
import type { Logger } from "@startales/service-kit";
import type { AnalyticsStore } from "../analytics-store";
import { footprintOf, forgetUser, forgottenAmong } from "./forget-user";
import { str } from "./literals";
import { clickhouseReads } from "./reads";
import { ADDED_COLUMNS, SCHEMA } from "./schema";
import { writeEvents } from "./write-events";

const DAY_MS = 86_400_000;

export type ClickHouseStoreOptions = { url: string; database: string; username: string; password: string; retentionDays: number; logger: Logger; now?: () => number };

// What every statement needs from an 18.16 server: ISO 8601 moments read from JSONEachRow
// (its default reads only "YYYY-MM-DD hh:mm:ss"), and 64-bit counts as JSON numbers.
const SETTINGS = { date_time_input_format: "best_effort", output_format_json_quote_64bit_integers: 0 } as const;

/**
 * The engine for clusters that outgrow one PostgreSQL: ClickHouse over HTTP
 * (@clickhouse/client), raw events in day partitions of a MergeTree, rollups kept by
 * materialized views. Its tables are made on first use; the database too, if the user may.
 */
export function createClickHouseStore(options: ClickHouseStoreOptions): AnalyticsStore {
  if (!/^\w+$/.test(options.database)) throw new Error(`CLICKHOUSE_DATABASE must be a plain name: ${options.database}`);
  const now = options.now ?? Date.now;
  const connect = (database: string): ClickHouseClient =>
    createClient({
      url: options.url,
      database,
      username: options.username,
      password: options.password,
      clickhouse_settings: SETTINGS,
      // Its failures are thrown to us and logged as ours (JSON, with the request); its own logger writes plain text.
      log: { level: ClickHouseLogLevel.OFF },
    });
  const client = connect(options.database);

  let made: Promise<void> | undefined;
  /** The database and tables, once per process (again after a failure: the server may be back). */
  const ready = (): Promise<void> =>
    (made ??= (async () => {
      // Through `system`, which every user may read: a user granted only its own database
      // cannot make it, and need not when an operator already has.
      const server = connect("system");
      try {
        await server.command({ query: `CREATE DATABASE IF NOT EXISTS ${options.database}` });
      } catch (error) {
        const found = await server.query({ query: `SELECT count() AS n FROM system.databases WHERE name = ${str(options.database)}`, format: "JSONEachRow" });
        if (Number((await found.json<{ n: number }>())[0]?.n ?? 0) === 0) throw error;
      } finally {
        await server.close();
      }
      for (const statement of SCHEMA) await client.command({ query: statement });
      for (const added of ADDED_COLUMNS) {
        const has = async () => {
          const found = await client.query({
            query: `SELECT count() AS n FROM system.columns WHERE database = currentDatabase() AND table = ${str(added.table)} AND name = ${str(added.column)}`,
            format: "JSONEachRow",
          });
          return Number((await found.json<{ n: number }>())[0]?.n ?? 0) > 0;
        };
        if (await has()) continue;
        // Another process starting at the same moment may add it first: then its ALTER fails and the column is there.
        await client.command({ query: `ALTER TABLE ${added.table} ADD COLUMN ${added.column} ${added.type} AFTER ${added.after}` }).catch(async (error: unknown) => {
          if (!(await has())) throw error;
        });
      }
    })().catch((error: unknown) => {
      made = undefined;
      throw error;
    }));
  const after =
    <A extends unknown[], R>(work: (...args: A) => Promise<R>) =>
    async (...args: A): Promise<R> => {
      await ready();
      return work(...args);
    };

  const reads = clickhouseReads(client);
  return {
    engine: "clickhouse",
    writeEvents: after((rows) => writeEvents(client, rows)),
    sweep: after(async () => {
      const oldest = new Date(Math.floor((now() - options.retentionDays * DAY_MS) / DAY_MS) * DAY_MS).toISOString().slice(0, 10);
      const result = await client.query({
        query: `SELECT DISTINCT partition FROM system.parts
                 WHERE database = currentDatabase() AND table = 'analytics_events' AND active AND partition < ${str(oldest)}`,
        format: "JSONEachRow",
      });
      const dropped = (await result.json<{ partition: string }>()).map((row) => row.partition);
      // By its day as a string literal: a bare number would be read as a day number and drop nothing.
      for (const partition of dropped) await client.command({ query: `ALTER TABLE analytics_events DROP PARTITION ${str(partition)}` });
      if (dropped.length) options.logger.info({ dropped, oldestKept: oldest }, "dropped raw event partitions past the retention");
      return { dropped };
    }),
    activeUsers: after(reads.activeUsers),
    eventCounts: after(reads.eventCounts),
    cohorts: after(reads.cohorts),
    tickHistory: after(reads.tickHistory),
    chatActivity: after(reads.chatActivity),
    playerStats: after(reads.playerStats),
    sessionLengths: after(reads.sessionLengths),
    commandActivity: after(reads.commandActivity),
    funnel: after(reads.funnel),
    economyHistory: after(reads.economyHistory),
    civilizationHistory: after(reads.civilizationHistory),
    aiUsage: after(reads.aiUsage),
    aiUsageByCampaign: after(reads.aiUsageByCampaign),
    aiSeries: after(reads.aiSeries),
    apiOperations: after(reads.apiOperations),
    apiErrors: after(reads.apiErrors),
    apiSeries: after(reads.apiSeries),
    deprecatedUsage: after(reads.deprecatedUsage),
    footprint: after((userId) => footprintOf(client, userId)),
    forgetUser: after((userId) => forgetUser(client, userId)),
    forgottenAmong: after((userIds) => forgottenAmong(client, userIds)),
    readiness: {
      name: "clickhouse",
      check: async () => {
        const { success } = await client.ping();
        if (!success) throw new Error("clickhouse did not answer /ping");
        await ready();
      },
    },
    close: () => client.close(),
  };
}
