-- The commands a range of ticks decided (TICK_STATS counts each player's), without a scan of
-- the campaign's whole history.
CREATE INDEX "commands_campaign_id_tick_idx" ON "commands"("campaign_id", "tick");
