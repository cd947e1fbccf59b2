import { prismaSql, type CampaignSetupClient, type Logger, type SqlClient } from "@startales/service-kit";
import type { Db } from "../db";
import { generateWorld, hashWorld } from "../engine";
import type { TickSchedule } from "../scheduling/queues";
import { insertWorld } from "./world-store";

export type ReconcileResult =
  | { outcome: "missing" | "draft" }
  | { outcome: "reconciled"; status: string; worldCreated: boolean; scheduled: boolean };

export type LifecycleDeps = { db: Db; campaigns: CampaignSetupClient; schedule: TickSchedule; logger: Logger; afterCommit?: () => void };

/**
 * Brings one campaign's world and tick schedule in line with campaign's current state. It
 * reads that state from campaign (not from the event that triggered it), so it is idempotent
 * and order-insensitive: running it twice, late, or for an old event converges on the same
 * result. Per campaign it runs under an advisory lock, and a campaign answer older than the
 * one already applied (campaign's `version`) does not undo it.
 *
 * - RUNNING or PAUSED without a world: the world is generated from the seed and members.
 * - A world already there: members who have no civilization yet get a JOIN_CAMPAIGN command
 *   (they take over an AI civilization at the next tick), players who left a LEAVE_CAMPAIGN.
 * - RUNNING: a repeatable tick job at the campaign's tick rate; anything else: none.
 */
export async function reconcileCampaign(deps: LifecycleDeps, campaignId: string): Promise<ReconcileResult> {
  const setup = await deps.campaigns.worldSetup(campaignId);
  if (!setup) return { outcome: "missing" };
  if (setup.status === "DRAFT") return { outcome: "draft" };
  let worldCreated = false;
  const status = await deps.db.$transaction(
    async (tx) => {
      await lockCampaign(prismaSql(tx), campaignId);
      const current = await tx.world.findUnique({ where: { campaignId }, select: { status: true, campaignVersion: true, tickRateMs: true } });
      let status: string;
      let tickRateMs = setup.tickRateMs;
      if (!current) {
        if (setup.status === "ENDED") return "ENDED"; // ended before it started: no world to run
        const params = { seed: setup.seed, playerIds: [...setup.memberIds] };
        const world = generateWorld(params);
        worldCreated = await insertWorld(prismaSql(tx), { campaignId, status: setup.status, campaignVersion: setup.version, tickRateMs, params, world, hash: hashWorld(world) });
        status = setup.status;
      } else if (setup.version > current.campaignVersion) {
        await tx.world.update({ where: { campaignId }, data: { status: setup.status, campaignVersion: setup.version, tickRateMs } });
        status = setup.status;
        if (status !== "ENDED") await queueMembershipChanges(tx, campaignId, setup.memberIds, setup.version);
      } else {
        status = current.status;
        tickRateMs = current.tickRateMs;
      }
      // Still under the lock, before commit: a failure here rolls the change back and the job is retried.
      if (status === "RUNNING") await deps.schedule.start(campaignId, tickRateMs);
      else await deps.schedule.stop(campaignId);
      return status;
    },
    { timeout: 120_000, maxWait: 30_000 },
  );
  if (worldCreated) {
    deps.afterCommit?.();
    deps.logger.info({ campaignId, players: setup.memberIds.length }, "world generated");
  }
  return { outcome: "reconciled", status, worldCreated, scheduled: status === "RUNNING" };
}

type Tx = Parameters<Parameters<Db["$transaction"]>[0]>[0];

/** The per-campaign lock every change of a campaign's world status or schedule is made under. */
/**
 * The lock a campaign's lifecycle work holds until its transaction ends; a tick that finds no
 * world waits on it too (a world being created is invisible until that commit).
 */
export const lockCampaign = (sql: SqlClient, campaignId: string) => sql.execute("SELECT pg_advisory_xact_lock(hashtextextended($1, 0))", [`simulation:lifecycle:${campaignId}`]);

/**
 * Puts a campaign's tick schedule back in line with its world as simulation last recorded it
 * (RUNNING: a scheduler at its tick rate; anything else, or no world: none). It asks campaign
 * nothing: it repairs Redis from PostgreSQL (schedules lost with Redis's data, or left behind),
 * under the same lock as reconcileCampaign, so a lifecycle change made at the same moment is
 * never undone. A schedule already right is left alone, so the next tick is not moved.
 */
export async function ensureTickSchedule(deps: { db: Db; schedule: TickSchedule }, campaignId: string): Promise<"added" | "removed" | "unchanged"> {
  return deps.db.$transaction(
    async (tx) => {
      await lockCampaign(prismaSql(tx), campaignId);
      const world = await tx.world.findUnique({ where: { campaignId }, select: { status: true, tickRateMs: true } });
      const every = await deps.schedule.every(campaignId);
      if (world?.status === "RUNNING") {
        if (every === world.tickRateMs) return "unchanged";
        await deps.schedule.start(campaignId, world.tickRateMs);
        return "added";
      }
      if (every === null) return "unchanged";
      await deps.schedule.stop(campaignId);
      return "removed";
    },
    { timeout: 30_000, maxWait: 10_000 },
  );
}

/**
 * Membership changes of a world in play, as system commands applied (in order, replayably)
 * at the next tick: who is a member but leads no civilization joins, who leads one but is no
 * longer a member leaves. Commands already queued count, so a repeated reconcile adds none.
 */
async function queueMembershipChanges(tx: Tx, campaignId: string, memberIds: readonly string[], version: number): Promise<void> {
  const [row] = await tx.$queryRaw<{ players: (string | null)[] }[]>`
    SELECT COALESCE(jsonb_agg(civ->'playerId'), '[]'::jsonb) AS players
      FROM worlds, jsonb_array_elements(state->'civilizations') AS civ
     WHERE campaign_id = ${campaignId}::uuid`;
  const leading = new Set((row?.players ?? []).filter((id): id is string => typeof id === "string"));
  const queued = await tx.command.findMany({
    where: { campaignId, status: "PENDING", type: { in: ["JOIN_CAMPAIGN", "LEAVE_CAMPAIGN"] } },
    orderBy: { seq: "asc" },
    select: { userId: true, type: true },
  });
  for (const command of queued) {
    if (command.type === "JOIN_CAMPAIGN") leading.add(command.userId);
    else leading.delete(command.userId);
  }
  const members = new Set(memberIds);
  const changes = [
    ...[...members].filter((id) => !leading.has(id)).map((id) => ({ userId: id, type: "JOIN_CAMPAIGN" })),
    ...[...leading].filter((id) => !members.has(id)).map((id) => ({ userId: id, type: "LEAVE_CAMPAIGN" })),
  ];
  if (changes.length === 0) return;
  await tx.command.createMany({
    data: changes.map(({ userId, type }) => ({ campaignId, userId, type, payload: { playerId: userId }, idempotencyKey: `system:${type}:${version}` })),
    skipDuplicates: true,
  });
}
