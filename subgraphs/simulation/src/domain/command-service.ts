import { SYSTEM_COMMAND_TYPES } from "../engine";
import { activeTraceparent, type SignedInViewer } from "@startales/service-kit";
import type { Db } from "../db";
import { Prisma, type Command } from "../generated/prisma/client";
import type { SubmitCommandInput } from "./input";

const isUniqueViolation = (error: unknown) => error instanceof Prisma.PrismaClientKnownRequestError && error.code === "P2002";

/** The command queue: submitted PENDING, decided by the next tick (tick-runner.ts). */
export function createCommandService(db: Db) {
  const existing = (campaignId: string, userId: string, idempotencyKey: string) =>
    db.command.findUnique({ where: { campaignId_userId_idempotencyKey: { campaignId, userId, idempotencyKey } } });
  return {
    /**
     * Queues a command of a member (the caller checked membership). The idempotency key is
     * unique per (campaign, player): a repeat, even a concurrent one, returns the first
     * command unchanged, whatever its type and payload.
     */
    async submit(viewer: SignedInViewer, input: SubmitCommandInput): Promise<Command> {
      const first = await existing(input.campaignId, viewer.userId, input.idempotencyKey);
      if (first) return first;
      try {
        return await db.command.create({
          data: {
            campaignId: input.campaignId,
            userId: viewer.userId,
            type: input.type,
            payload: input.payload as Prisma.InputJsonValue,
            idempotencyKey: input.idempotencyKey,
            // The tick that applies it continues this trace (tick-runner.ts).
            traceparent: activeTraceparent(),
          },
        });
      } catch (error) {
        if (!isUniqueViolation(error)) throw error;
        return (await existing(input.campaignId, viewer.userId, input.idempotencyKey))!;
      }
    },

    /** The caller's own commands, newest first (not the simulation's membership commands for them). */
    mine(viewer: SignedInViewer, campaignId: string, page: { first: number; after?: string | null; status?: Command["status"] | null }) {
      return db.command.findMany({
        where: { campaignId, userId: viewer.userId, type: { notIn: [...SYSTEM_COMMAND_TYPES] }, ...(page.status ? { status: page.status } : {}) },
        orderBy: { seq: "desc" },
        take: page.first,
        ...(page.after ? { cursor: { id: page.after }, skip: 1 } : {}),
      });
    },
  };
}

export type CommandService = ReturnType<typeof createCommandService>;
