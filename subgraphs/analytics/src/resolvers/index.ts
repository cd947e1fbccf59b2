import { DateTimeScalar, parseInput, requireUser } from "@startales/service-kit";
import type { Db } from "../db";
import { activeUsersArgs, chatActivityArgs, eventSeriesArgs, myStatsArgs, retentionArgs, tickHistoryArgs } from "../domain/input";
import { activeUsers, chatActivity, eventSeries, playerStats, retention, tickHistory } from "../domain/series";
import type { Resolvers } from "../generated/resolvers-types";

const user = (id: string) => ({ __typename: "User" as const, id });
const campaign = (id: string) => ({ __typename: "Campaign" as const, id });

/** Read-only: who may read what is in the schema (@requiresScopes, @authenticated), enforced by the service kit. */
export function createResolvers(db: Db): Resolvers {
  return {
    DateTime: DateTimeScalar,
    Query: {
      activeUsers: (_parent, args) => activeUsers(db, parseInput(activeUsersArgs, args)),
      eventSeries: (_parent, args) => eventSeries(db, parseInput(eventSeriesArgs, args)),
      retention: (_parent, args) => retention(db, parseInput(retentionArgs, args)),
      campaignTickHistory: (_parent, args) => tickHistory(db, parseInput(tickHistoryArgs, args)),
      chatActivity: async (_parent, args) => (await chatActivity(db, parseInput(chatActivityArgs, args))).map((row) => ({ ...row, user: user(row.userId) })),
      myStats: (_parent, args, { viewer }) => playerStats(db, requireUser(viewer).userId, parseInput(myStatsArgs, args)),
    },
    CampaignTickStats: {
      campaign: (row) => campaign(row.campaignId),
    },
  };
}
