import { z } from "zod";
import { firehosePrefix, positiveInt, subgraphConfigShape, url } from "@startales/service-kit";

/** One config for the subgraph and its ingest worker pool (they share the database). */
export const analyticsConfigSchema = z.object({
  ...subgraphConfigShape({ port: 4005, database: "startales_analytics" }),
  /**
   * Where events and rollups are kept: `postgres` (DATABASE_URL, the default) or `clickhouse`
   * (CLICKHOUSE_*), for clusters that outgrow one PostgreSQL. The subgraph and its ingest
   * must name the same.
   */
  ANALYTICS_STORE: z.enum(["postgres", "clickhouse"]).default("postgres"),
  /** ClickHouse's HTTP interface (ANALYTICS_STORE=clickhouse). */
  CLICKHOUSE_URL: url("http://127.0.0.1:8123"),
  /** Made with the tables on first use if the user may; a plain name. */
  CLICKHOUSE_DATABASE: z.string().regex(/^\w+$/, "must be a plain name (letters, digits, _)").default("startales_analytics"),
  CLICKHOUSE_USER: z.string().min(1).default("default"),
  /** A secret: from the environment (a Kubernetes Secret), never a file in the repository. */
  CLICKHOUSE_PASSWORD: z.string().default(""),
  /** The producers' firehose prefix (the same value as every producer's EVENT_FIREHOSE_PREFIX). */
  EVENT_FIREHOSE_PREFIX: firehosePrefix,
  /**
   * Who keeps the raw events' day partitions on PostgreSQL: the store itself (`native`, any
   * server), or `pg_partman` where the server has the extension (Debian's
   * postgresql-15-partman): the ingest creates it in schema `partman` if it may, registers the
   * table and runs its maintenance at each sweep. Switching from native keeps the days made.
   */
  ANALYTICS_PARTITIONS: z.enum(["native", "pg_partman"]).default("native"),
  /** Days raw events are kept (whole day partitions are dropped); rollups are kept. */
  ANALYTICS_RAW_RETENTION_DAYS: positiveInt(30),
  /** How often the ingest pool drops partitions past the retention and makes the coming days'. */
  ANALYTICS_PARTITION_SWEEP_MS: positiveInt(3_600_000),
  /** Events read from a firehose at once and written in one statement. */
  INGEST_BATCH_SIZE: positiveInt(500),
  /** How long a read waits on the firehose (the pool also stops within this). */
  INGEST_BLOCK_MS: positiveInt(2_000),
  /** A batch another consumer took but did not acknowledge this long ago is taken over (a crashed worker). */
  INGEST_CLAIM_IDLE_MS: positiveInt(60_000),
  /** An event that failed this many times goes to `events:<firehose>:dead-letter` for operators. */
  INGEST_MAX_DELIVERIES: positiveInt(10),
});

export type AnalyticsConfig = z.infer<typeof analyticsConfigSchema>;
