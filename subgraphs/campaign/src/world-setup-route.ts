import { z } from "zod";
import { WORLD_SETUP_PATH, isId, serviceOnlyRoute, type Logger, type RouteHandler } from "@startales/service-kit";
import type { Db } from "./db";

const body = z.object({
  campaignId: z.string().refine(isId, "must be a campaign id"),
});

/**
 * POST WORLD_SETUP_PATH (/internal/campaigns/world-setup), for the simulation worker pool: `{ campaignId }` in,
 * `{ id, status, version, seed, tickRateMs, memberIds }` out (404 when there is no such
 * campaign): what a world is generated from and how fast it ticks. The seed is a game
 * master's secret, so the caller must carry a signed identity with the SERVICE role (the
 * simulation signs its own): serviceOnlyRoute.
 */
export function worldSetupRoute(deps: { db: Db; gatewaySigningSecret: string; logger: Logger }): Record<string, RouteHandler> {
  const handler = serviceOnlyRoute(
    {
      secret: deps.gatewaySigningSecret,
      logger: deps.logger,
      what: "read a campaign's world setup",
      body: {
        schema: body,
        maxBytes: 1_024,
        hint: 'The body must be JSON: {"campaignId": "<uuid>"}',
      },
    },
    async ({ body: { campaignId } }) => {
      const campaign = await deps.db.campaign.findUnique({
        where: { id: campaignId },
        include: {
          memberships: {
            select: { userId: true },
            orderBy: [{ joinedAt: "asc" }, { id: "asc" }],
          },
        },
      });
      if (!campaign)
        return {
          status: 404,
          body: { error: "NOT_FOUND", message: "No campaign with this id" },
        };
      return {
        status: 200,
        body: {
          id: campaign.id,
          status: campaign.status,
          version: campaign.version,
          seed: campaign.seed,
          tickRateMs: campaign.tickRateMs,
          memberIds: campaign.memberships.map((m) => m.userId),
        },
      };
    },
  );
  return { [WORLD_SETUP_PATH]: handler };
}
