import { setTimeout as sleep } from "node:timers/promises";
import { Topics, activeTraceparent, eventData, inPgTransaction, recordSpan, type Logger, type PgPool } from "@startales/service-kit";
import { tick, type Command as EngineCommand, type CommandResult, type ConservationError, type RejectionCode, type TickOptions, type World } from "../engine";
import type { Db } from "../db";
import { lockCampaign } from "./lifecycle";
import { saveTick } from "./world-store";

/** A bound on the commands one tick takes; the rest wait for the next tick, in order. */
export const MAX_COMMANDS_PER_TICK = 20_000;

export type TickRun =
  | { outcome: "applied"; tick: number; hash: string; commands: number; decided: DecidedCommands }
  /** This tick was saved already (a retry, or a duplicate job): nothing was written. */
  | { outcome: "already-applied"; tick: number }
  /** Another job of the campaign holds its world: ticks of one campaign never run at once. */
  | { outcome: "busy" }
  | { outcome: "not-running"; status: string }
  | { outcome: "no-world" };

/** How a tick decided its commands: a count per outcome, small enough to be the job's return value. */
export type DecidedCommands = { applied: number; rejected: Partial<Record<RejectionCode, number>> };

export type TickJobState = {
  /** The tick this job is for, once it has been chosen (stored on the job, so a retry redoes the same tick). */
  targetTick?: number;
  setTargetTick(tick: number): Promise<void>;
};

export type TickRunnerDeps = {
  db: Db;
  /** The pool the tick's own transaction runs on (service-kit pg-sql.ts: it writes megabytes of JSON). */
  pool: PgPool;
  logger: Logger;
  /** After a commit that wrote outbox rows (wakes the relay). */
  afterCommit?: () => void;
  /** Test hook (TICK_HOLD_MS): hold the transaction open after saving, before committing. */
  holdMs?: number;
  /** Tests inject a faulty pipeline; never set in production. */
  engine?: TickOptions;
  /** Every how many ticks analytics gets a TICK_STATS (TICK_STATS_EVERY); 0: never. */
  statsEvery?: number;
};

function countDecisions(results: readonly CommandResult[]): DecidedCommands {
  const decided: DecidedCommands = { applied: 0, rejected: {} };
  for (const result of results) {
    if (result.status === "APPLIED") decided.applied++;
    else decided.rejected[result.reason] = (decided.rejected[result.reason] ?? 0) + 1;
  }
  return decided;
}

type CommandRow = { id: string; user_id: string; type: string; payload: Record<string, unknown>; traceparent: string | null };
/** A command the tick decided that was submitted inside a trace. */
type TracedCommand = { id: string; type: string; traceparent: string; status: string };

/**
 * Runs one tick of a campaign, exactly once (the tick's last step: saving and publishing): the world row is locked
 * (`FOR UPDATE SKIP LOCKED`: a second job of the same campaign backs off instead of
 * waiting), the tick number is fixed on the job before any work, and the save is a
 * compare-and-set on `tick`. A worker that dies mid-tick leaves nothing behind (its
 * transaction rolls back, its commands stay PENDING); the retried job redoes the same tick,
 * with the same commands, and gets the same state.
 */
export async function runTick(deps: TickRunnerDeps, campaignId: string, job: TickJobState): Promise<TickRun> {
  const { logger } = deps;
  const started = new Date();
  let traced: TracedCommand[] = [];
  const result = await inPgTransaction(
    deps.pool,
    async (sql): Promise<TickRun> => {
      const lockWorld = () => sql.rows<{ tick: number; status: string }>("SELECT tick, status::text AS status FROM worlds WHERE campaign_id = $1::uuid FOR UPDATE SKIP LOCKED", [campaignId]);
      const worldExists = async () => (await sql.rows<{ exists: boolean }>("SELECT EXISTS (SELECT 1 FROM worlds WHERE campaign_id = $1::uuid) AS exists", [campaignId]))[0]?.exists === true;
      let locked = await lockWorld();
      if (locked.length === 0 && !(await worldExists())) {
        // A world being created is invisible until its lifecycle job commits, and that job
        // schedules the ticks (the first at once) before it commits: wait for its lock, then
        // look again, or the first tick would be lost until the next interval. Only then: a
        // world another tick holds is "busy" at once, whoever holds the lifecycle lock.
        await lockCampaign(sql, campaignId);
        locked = await lockWorld();
        if (locked.length === 0 && !(await worldExists())) return { outcome: "no-world" };
      }
      if (locked.length === 0) return { outcome: "busy" };
      const { tick: current, status } = locked[0]!;
      if (job.targetTick !== undefined && current >= job.targetTick) return { outcome: "already-applied", tick: job.targetTick };
      if (status !== "RUNNING") return { outcome: "not-running", status };
      const target = job.targetTick ?? current + 1;
      if (job.targetTick === undefined) await job.setTargetTick(target);

      const [row] = await sql.rows<{ state: string }>("SELECT state::text AS state FROM worlds WHERE campaign_id = $1::uuid", [campaignId]);
      const world = JSON.parse(row!.state) as World;
      // Commands in submission order; those submitted while this runs go to the next tick.
      const pending = await sql.rows<CommandRow>(
        `SELECT id::text AS id, user_id::text AS user_id, type, payload, traceparent FROM commands
         WHERE campaign_id = $1::uuid AND status = 'PENDING'
         ORDER BY seq LIMIT $2::int FOR UPDATE`,
        [campaignId, MAX_COMMANDS_PER_TICK],
      );
      // The issuing civilization is the member's own (never the payload's); none: the engine rejects it.
      const civOfPlayer = new Map(world.civilizations.filter((c) => c.playerId !== null).map((c) => [c.playerId!, c.id]));
      const commands: EngineCommand[] = pending.map((c) => ({ id: c.id, civId: civOfPlayer.get(c.user_id) ?? "", type: c.type, payload: c.payload }));

      const outcome = tick(world, commands, [], deps.engine);
      const saved = await saveTick(sql, { campaignId, expectedTick: current, world: outcome.world, hash: outcome.hash, commands, results: outcome.results, events: outcome.events, statsEvery: deps.statsEvery, output: outcome.output });
      if (!saved) return { outcome: "already-applied", tick: target };
      const statusOf = new Map(outcome.results.map((r) => [r.commandId, r.status]));
      traced = pending.filter((c) => c.traceparent).map((c) => ({ id: c.id, type: c.type, traceparent: c.traceparent!, status: statusOf.get(c.id) ?? "PENDING" }));
      if (deps.holdMs) {
        logger.info({ campaignId, tick: target }, "tick saved; holding the transaction (TICK_HOLD_MS)");
        await sleep(deps.holdMs);
      }
      return { outcome: "applied", tick: outcome.world.tick, hash: outcome.hash, commands: commands.length, decided: countDecisions(outcome.results) };
    },
    // A bound on each statement, so a tick cannot hang on the database for good.
    { statementTimeoutMs: 120_000 },
  );
  if (result.outcome === "applied") {
    deps.afterCommit?.();
    // Committed: each command's own trace (its submitCommand request) gets the tick that decided it.
    for (const command of traced) {
      recordSpan("simulation-worker", "apply command", {
        parent: command.traceparent,
        startTime: started,
        attributes: { "startales.campaign_id": campaignId, "startales.command_id": command.id, "startales.command_type": command.type, "startales.command_status": command.status, "startales.tick": result.tick },
      });
    }
  }
  return result;
}

/**
 * A tick that broke conservation is not saved. This records why, for operators: a system
 * event (topic `system:simulation`) and the world's `lastError`, and halts the world
 * (status HALTED) so the same tick is not retried forever; the campaign's next
 * pause/resume (a newer campaign version) lets it run again.
 */
export async function recordConservationFailure(deps: TickRunnerDeps, campaignId: string, error: ConservationError): Promise<void> {
  await deps.db.$transaction(async (tx) => {
    await tx.world.update({ where: { campaignId }, data: { status: "HALTED", lastError: error.message } });
    const topic = Topics.system("simulation");
    await tx.outboxEvent.create({
      data: {
        topic,
        type: "TICK_CONSERVATION_FAILED",
        aggregateId: campaignId,
        version: error.tick,
        data: eventData(topic, "TICK_CONSERVATION_FAILED", { campaignId, tick: error.tick, asset: error.asset, expected: error.expected, actual: error.actual }),
        traceparent: activeTraceparent(),
      },
    });
  });
  deps.afterCommit?.();
  deps.logger.error({ campaignId, tick: error.tick, asset: error.asset, expected: error.expected, actual: error.actual }, "tick refused by the conservation check; world halted");
}
