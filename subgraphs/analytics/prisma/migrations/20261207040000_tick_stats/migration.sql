-- Simulation's TICK_STATS (every TICK_STATS_EVERY-th tick): a campaign's economy, each
-- civilization's standing (the leaderboard's history) and its player's commands.
CREATE TABLE "economy_ticks" (
    "campaign_id" UUID NOT NULL,
    "tick" INTEGER NOT NULL,
    "recorded_at" TIMESTAMPTZ(3) NOT NULL,
    "population" BIGINT NOT NULL,
    "credits" BIGINT NOT NULL,
    "ships" INTEGER NOT NULL,
    "battles" INTEGER NOT NULL,
    "trade_volume" BIGINT NOT NULL,
    "mean_stability" INTEGER NOT NULL,
    "prices" JSONB NOT NULL,

    CONSTRAINT "economy_ticks_pkey" PRIMARY KEY ("campaign_id","tick")
);

CREATE TABLE "civilization_ticks" (
    "campaign_id" UUID NOT NULL,
    "tick" INTEGER NOT NULL,
    "civ_id" TEXT NOT NULL,
    "player_id" UUID,
    "population" BIGINT NOT NULL,
    "credits" BIGINT NOT NULL,
    "score" BIGINT NOT NULL,
    "stability" INTEGER NOT NULL,
    "ships" INTEGER NOT NULL,
    "eliminated" BOOLEAN NOT NULL,
    "commands" INTEGER NOT NULL,

    CONSTRAINT "civilization_ticks_pkey" PRIMARY KEY ("campaign_id","tick","civ_id")
);

-- An erasure finds a player's rows without a scan.
CREATE INDEX "civilization_ticks_player_id_idx" ON "civilization_ticks"("player_id");

-- Each player's commands per day and campaign (from TICK_STATS; they also count as activity).
CREATE TABLE "command_activity" (
    "day" DATE NOT NULL,
    "campaign_id" UUID NOT NULL,
    "user_id" UUID NOT NULL,
    "commands" INTEGER NOT NULL,

    CONSTRAINT "command_activity_pkey" PRIMARY KEY ("day","campaign_id","user_id")
);

CREATE INDEX "command_activity_user_id_day_idx" ON "command_activity"("user_id", "day");

-- The funnel's steps after sign-up: when each user first joined a campaign (JOINED) and
-- first had a command decided (COMMANDED).
CREATE TABLE "user_milestones" (
    "user_id" UUID NOT NULL,
    "milestone" TEXT NOT NULL,
    "first_at" TIMESTAMPTZ(3) NOT NULL,

    CONSTRAINT "user_milestones_pkey" PRIMARY KEY ("user_id","milestone")
);

CREATE VIEW "analyst"."economy_ticks" AS
    SELECT "campaign_id", "tick", "recorded_at", "population", "credits", "ships", "battles", "trade_volume", "mean_stability", "prices" FROM "economy_ticks";
CREATE VIEW "analyst"."civilization_ticks" AS
    SELECT "campaign_id", "tick", "civ_id", "player_id", "population", "credits", "score", "stability", "ships", "eliminated", "commands" FROM "civilization_ticks";
CREATE VIEW "analyst"."command_activity" AS
    SELECT "day", "campaign_id", "user_id", "commands" FROM "command_activity";
CREATE VIEW "analyst"."user_milestones" AS
    SELECT "user_id", "milestone", "first_at" FROM "user_milestones";
GRANT SELECT ON "analyst"."economy_ticks", "analyst"."civilization_ticks", "analyst"."command_activity", "analyst"."user_milestones" TO "startales_analyst";
