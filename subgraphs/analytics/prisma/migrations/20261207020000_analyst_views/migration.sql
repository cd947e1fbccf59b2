-- The read-only SQL door for BI tools (Grafana, Metabase): documented views in a schema of
-- their own, readable by the role startales_analyst and nothing else. A login for a tool is
-- made by the operator and given that role (subgraphs/analytics/README.md); the role can
-- read these views only: not the raw events, not the rollup tables, not any other database's
-- tables (it has no grant there), and it can write nothing.
CREATE SCHEMA IF NOT EXISTS "analyst";

-- Distinct users who did something in the game, per UTC day.
CREATE VIEW "analyst"."daily_active_users" AS
    SELECT "day", count(*)::int AS "users" FROM "user_activity" GROUP BY "day";

-- What each user did per day (pseudonymous ids only).
CREATE VIEW "analyst"."user_activity" AS
    SELECT "day", "user_id", "events" FROM "user_activity";

-- Each player's sign-up day and method (retention cohorts).
CREATE VIEW "analyst"."user_cohorts" AS
    SELECT "user_id", "registered_day", "method" FROM "user_cohorts";

-- Events per minute, producer and type.
CREATE VIEW "analyst"."event_counts" AS
    SELECT "minute", "producer", "type", "count" FROM "event_counts";

-- Each campaign's ticks.
CREATE VIEW "analyst"."campaign_ticks" AS
    SELECT "campaign_id", "tick", "completed_at", "commands_applied", "commands_rejected", "engine_events", "battles", "fleets_destroyed", "wars" FROM "campaign_ticks";

-- Chat messages per day, campaign and author (counts, never text).
CREATE VIEW "analyst"."chat_activity" AS
    SELECT "day", "campaign_id", "user_id", "messages" FROM "chat_activity";

-- Roles belong to the server, not the database: made once, whichever analytics database migrates first.
DO $$
BEGIN
    CREATE ROLE "startales_analyst" NOLOGIN;
EXCEPTION
    -- Made already, by another analytics database of the server (or one migrating beside it).
    WHEN duplicate_object OR unique_violation THEN NULL;
END
$$;

GRANT USAGE ON SCHEMA "analyst" TO "startales_analyst";
GRANT SELECT ON ALL TABLES IN SCHEMA "analyst" TO "startales_analyst";
