import { prismaSql } from "@startales/service-kit";
import type { Db } from "../db";
import { replay, type WorldParamsInput } from "../engine";
import { loadTickInputs } from "./world-store";

export type WorldIntegrityModel = { campaignId: string; tick: number; savedHash: string; replayedHash: string; matches: boolean };

/**
 * Event sourcing's proof: regenerate the world from its parameters, re-run every logged
 * tick, and compare the hash with the saved state's. Reads one consistent snapshot
 * (REPEATABLE READ), so a tick saved meanwhile cannot mix two versions. Null without a world.
 */
export async function checkWorldIntegrity(db: Db, campaignId: string): Promise<WorldIntegrityModel | null> {
  const snapshot = await db.$transaction(
    async (tx) => {
      const world = await tx.world.findUnique({ where: { campaignId }, select: { tick: true, hash: true, params: true } });
      if (!world) return null;
      return { world, log: await loadTickInputs(prismaSql(tx), campaignId, world.tick) };
    },
    { isolationLevel: "RepeatableRead", timeout: 60_000 },
  );
  if (!snapshot) return null;
  const { world, log } = snapshot;
  const replayed = replay(world.params as unknown as WorldParamsInput, log, world.tick);
  return { campaignId, tick: world.tick, savedHash: world.hash, replayedHash: replayed.hash, matches: replayed.hash === world.hash };
}
