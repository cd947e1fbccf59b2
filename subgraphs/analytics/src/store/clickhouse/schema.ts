/**
 * The ClickHouse engine's tables, made at start (IF NOT EXISTS) by whichever process comes
 * first: Prisma migrates PostgreSQL, nothing migrates ClickHouse. Written for 18.16, the
 * oldest server we support (no TTL, no DateTime64, no Nullable in a sorting key). Moments are
 * DateTime('UTC'), so days and hours are UTC's whatever the server's own time zone.
 *
 * The raw events are the only table the ingest writes: materialized views fold each insert
 * into the rollups, which keep per-insert partial rows that the engines (Summing, plain)
 * merge or that reads add up. A rollup column never shares a name with the raw column it is
 * made from: in 18.16 an alias named like a column replaces it in the view's WHERE too.
 */
export const SCHEMA: string[] = [
  `CREATE TABLE IF NOT EXISTS analytics_events (
     id UUID,
     occurred_at DateTime('UTC'),
     producer String,
     family String,
     type String,
     aggregate_id String,
     campaign_id Nullable(UUID),
     actor_id Nullable(UUID),
     data String,
     ingested_at DateTime('UTC') DEFAULT now()
   ) ENGINE = MergeTree() PARTITION BY toDate(occurred_at) ORDER BY (occurred_at, id)`,

  `CREATE TABLE IF NOT EXISTS event_counts (minute DateTime('UTC'), producer String, type String, count UInt64)
   ENGINE = SummingMergeTree() PARTITION BY toYYYYMM(minute) ORDER BY (minute, producer, type)`,
  `CREATE MATERIALIZED VIEW IF NOT EXISTS event_counts_mv TO event_counts AS
     SELECT toStartOfMinute(occurred_at) AS minute, producer, type, count() AS count
       FROM analytics_events GROUP BY minute, producer, type`,

  `CREATE TABLE IF NOT EXISTS user_activity (day Date, user_id UUID, events UInt64)
   ENGINE = SummingMergeTree() PARTITION BY toYYYYMM(day) ORDER BY (day, user_id)`,
  `CREATE MATERIALIZED VIEW IF NOT EXISTS user_activity_mv TO user_activity AS
     SELECT toDate(occurred_at) AS day, assumeNotNull(actor_id) AS user_id, count() AS events
       FROM analytics_events WHERE isNotNull(actor_id) GROUP BY day, user_id`,

  `CREATE TABLE IF NOT EXISTS chat_activity (day Date, campaign UUID, user_id UUID, messages UInt64)
   ENGINE = SummingMergeTree() PARTITION BY toYYYYMM(day) ORDER BY (day, campaign, user_id)`,
  `CREATE MATERIALIZED VIEW IF NOT EXISTS chat_activity_mv TO chat_activity AS
     SELECT toDate(occurred_at) AS day, assumeNotNull(campaign_id) AS campaign, assumeNotNull(actor_id) AS user_id, count() AS messages
       FROM analytics_events WHERE type = 'MESSAGE_ADDED' AND isNotNull(campaign_id) AND isNotNull(actor_id)
      GROUP BY day, campaign, user_id`,

  // One row per account (the pre-check keeps a registration from being written twice);
  // reads take the earliest day if two ever were.
  `CREATE TABLE IF NOT EXISTS user_cohorts (user_id UUID, registered_day Date, method String)
   ENGINE = ReplacingMergeTree() ORDER BY user_id`,
  `CREATE MATERIALIZED VIEW IF NOT EXISTS user_cohorts_mv TO user_cohorts AS
     SELECT assumeNotNull(actor_id) AS user_id, toDate(occurred_at) AS registered_day, visitParamExtractString(data, 'method') AS method
       FROM analytics_events WHERE type = 'ACCOUNT_REGISTERED' AND isNotNull(actor_id)`,

  // Partial rows per insert, added up by reads (a tick has few): completed_at is 0 in rows
  // without the tick's TICK_COMPLETED.
  `CREATE TABLE IF NOT EXISTS campaign_ticks (
     campaign UUID, tick UInt32, completed_at DateTime('UTC'),
     commands_applied UInt64, commands_rejected UInt64, engine_events UInt64, battles UInt64, fleets_destroyed UInt64, wars UInt64
   ) ENGINE = MergeTree() ORDER BY (campaign, tick)`,
  `CREATE MATERIALIZED VIEW IF NOT EXISTS campaign_ticks_mv TO campaign_ticks AS
     SELECT assumeNotNull(campaign_id) AS campaign, toUInt32(visitParamExtractUInt(data, 'tick')) AS tick,
            maxIf(occurred_at, type = 'TICK_COMPLETED') AS completed_at,
            sumIf(visitParamExtractUInt(data, 'commandsApplied'), type = 'TICK_COMPLETED') AS commands_applied,
            sumIf(visitParamExtractUInt(data, 'commandsRejected'), type = 'TICK_COMPLETED') AS commands_rejected,
            sumIf(visitParamExtractUInt(data, 'events'), type = 'TICK_COMPLETED') AS engine_events,
            countIf(type = 'BATTLE_RESOLVED') AS battles,
            countIf(type = 'FLEET_DESTROYED') AS fleets_destroyed,
            countIf(type = 'WAR_DECLARED') AS wars
       FROM analytics_events
      WHERE family = 'world' AND isNotNull(campaign_id) AND type IN ('TICK_COMPLETED', 'BATTLE_RESOLVED', 'FLEET_DESTROYED', 'WAR_DECLARED')
      GROUP BY campaign, tick`,

  // The gateway's usage statistics (OPERATION_STATS), written by the store from each new
  // event (an event fans out into rows of three tables; 18.16 cannot read its nested JSON).
  // A latency histogram is an array, which SummingMergeTree would not add element-wise:
  // a plain MergeTree, its rows added up by reads (sumForEach).
  `CREATE TABLE IF NOT EXISTS api_operations (
     minute DateTime('UTC'), operation String, client_name String, client_version String,
     requests UInt64, errors UInt64, duration_ms_sum Float64, duration_buckets Array(UInt64)
   ) ENGINE = MergeTree() PARTITION BY toYYYYMM(minute) ORDER BY (minute, operation, client_name, client_version)`,
  `CREATE TABLE IF NOT EXISTS api_errors (minute DateTime('UTC'), operation String, client_name String, client_version String, code String, count UInt64)
   ENGINE = SummingMergeTree() PARTITION BY toYYYYMM(minute) ORDER BY (minute, operation, client_name, client_version, code)`,
  `CREATE TABLE IF NOT EXISTS deprecated_usage (minute DateTime('UTC'), field String, client_name String, client_version String, count UInt64)
   ENGINE = SummingMergeTree() PARTITION BY toYYYYMM(minute) ORDER BY (minute, field, client_name, client_version)`,

  // Simulation's TICK_STATS, written by the store from each new event (one event, many
  // civilizations). One row per key: the pre-check keeps an event from being written twice.
  `CREATE TABLE IF NOT EXISTS economy_ticks (
     campaign_id UUID, tick UInt32, recorded_at DateTime('UTC'), population UInt64, credits Int64, ships UInt64, battles UInt64,
     trade_volume UInt64, mean_stability UInt8, prices String
   ) ENGINE = ReplacingMergeTree() ORDER BY (campaign_id, tick)`,
  `CREATE TABLE IF NOT EXISTS civilization_ticks (
     campaign_id UUID, tick UInt32, civ_id String, player_id Nullable(UUID), population UInt64, credits Int64, score Int64,
     stability UInt8, ships UInt64, output Nullable(UInt64), eliminated UInt8, commands UInt64
   ) ENGINE = ReplacingMergeTree() ORDER BY (campaign_id, tick, civ_id)`,
  // A player's commands per day and campaign, and the funnel's first join and first command:
  // written by the store from TICK_STATS and PLAYER_JOINED (commands also go to user_activity).
  `CREATE TABLE IF NOT EXISTS command_activity (day Date, campaign UUID, user_id UUID, commands UInt64)
   ENGINE = SummingMergeTree() PARTITION BY toYYYYMM(day) ORDER BY (day, campaign, user_id)`,
  `CREATE TABLE IF NOT EXISTS user_milestones (user_id UUID, milestone String, first_at DateTime('UTC'))
   ENGINE = MergeTree() ORDER BY (user_id, milestone)`,

  // Erasures made (a hash of the user's id, never the id or the random id their rows moved
  // to): a retried forgetUser finds its copy made and does not make another.
  `CREATE TABLE IF NOT EXISTS forgotten_users (user_hash String, requested_at DateTime('UTC') DEFAULT now())
   ENGINE = ReplacingMergeTree() ORDER BY user_hash`,

  // Provider's JOB_FINISHED, one row per job inserted by the store (read with sums; its run-time
  // histogram is an array, added by sumForEach).
  `CREATE TABLE IF NOT EXISTS ai_usage (
     minute DateTime('UTC'), kind String, deployment String, model String, campaign String,
     requests UInt64, failures UInt64, cache_hits UInt64, failovers UInt64, prompt_tokens UInt64, completion_tokens UInt64, cost_micros UInt64,
     run_buckets Array(UInt64)
   ) ENGINE = MergeTree() PARTITION BY toYYYYMM(minute) ORDER BY (minute, kind, deployment, model, campaign)`,

  // Realtime's SESSION_ENDED, inserted by the store: per user and day (summed), and one row
  // per session for the day's length histogram (added by sumForEach).
  `CREATE TABLE IF NOT EXISTS session_activity (day Date, user_id UUID, sessions UInt64, duration_ms UInt64)
   ENGINE = SummingMergeTree() PARTITION BY toYYYYMM(day) ORDER BY (day, user_id)`,
  `CREATE TABLE IF NOT EXISTS session_lengths (day Date, sessions UInt64, duration_ms UInt64, buckets Array(UInt64))
   ENGINE = MergeTree() PARTITION BY toYYYYMM(day) ORDER BY day`,
];

/**
 * Columns added after their table was first made: a table made earlier gets each one (its old
 * rows read the default, null). 18.16 has no `ADD COLUMN IF NOT EXISTS`: the store looks in
 * `system.columns` first.
 */
export const ADDED_COLUMNS: { table: string; column: string; type: string; after: string }[] = [
  { table: "civilization_ticks", column: "output", type: "Nullable(UInt64)", after: "ships" },
];
