-- Simulation's TICK_STATS (every TICK_STATS_EVERY-th tick): a campaign's economy, and each
-- civilization's standing (the leaderboard's history).
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

    CONSTRAINT "civilization_ticks_pkey" PRIMARY KEY ("campaign_id","tick","civ_id")
);

-- An erasure finds a player's rows without a scan.
CREATE INDEX "civilization_ticks_player_id_idx" ON "civilization_ticks"("player_id");

CREATE VIEW "analyst"."economy_ticks" AS
    SELECT "campaign_id", "tick", "recorded_at", "population", "credits", "ships", "battles", "trade_volume", "mean_stability", "prices" FROM "economy_ticks";
CREATE VIEW "analyst"."civilization_ticks" AS
    SELECT "campaign_id", "tick", "civ_id", "player_id", "population", "credits", "score", "stability", "ships", "eliminated" FROM "civilization_ticks";
GRANT SELECT ON "analyst"."economy_ticks", "analyst"."civilization_ticks" TO "startales_analyst";
