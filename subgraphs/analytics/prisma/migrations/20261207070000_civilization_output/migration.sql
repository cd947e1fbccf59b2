-- Each civilization's output in a recorded tick: units of goods its cities produced (TICK_STATS
-- civilizations[].output). Null in rows recorded before simulation reported it.
ALTER TABLE "civilization_ticks" ADD COLUMN "output" BIGINT;

-- The analysts' view gains the column (at its end: CREATE OR REPLACE VIEW keeps the grants).
CREATE OR REPLACE VIEW "analyst"."civilization_ticks" AS
    SELECT "campaign_id", "tick", "civ_id", "player_id", "population", "credits", "score", "stability", "ships", "eliminated", "commands", "output" FROM "civilization_ticks";
