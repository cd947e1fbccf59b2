import { DateTimeScalar, parseInput, requireUser } from "@startales/service-kit";
import { aiSeries, aiUsage, aiUsageByCampaign } from "../domain/ai-usage";
import { apiOperations, apiSeries, deprecatedFieldUsage } from "../domain/api-stats";
import { economyHistory, leaderboardHistory } from "../domain/campaign-history";
import { activeUsersArgs, aiSeriesArgs, aiUsageArgs, apiOperationsArgs, apiSeriesArgs, campaignHistoryArgs, chatActivityArgs, leaderboardHistoryArgs, deprecatedUsageArgs, eventSeriesArgs, forgetUserArgs, myStatsArgs, retentionArgs, tickHistoryArgs } from "../domain/input";
import { activeUsers, chatActivity, commandActivity, eventSeries, funnel, playerStats, retention, sessionLengths, tickHistory } from "../domain/series";
import type { Resolvers } from "../generated/resolvers-types";
import type { AnalyticsStore } from "../store";

const user = (id: string) => ({ __typename: "User" as const, id });
const campaign = (id: string) => ({ __typename: "Campaign" as const, id });

/** Who may read or erase what is in the schema (@requiresScopes, @authenticated), enforced by the service kit. */
export function createResolvers(store: AnalyticsStore): Resolvers {
  return {
    DateTime: DateTimeScalar,
    Query: {
      activeUsers: (_parent, args) => activeUsers(store, parseInput(activeUsersArgs, args)),
      eventSeries: (_parent, args) => eventSeries(store, parseInput(eventSeriesArgs, args)),
      retention: (_parent, args) => retention(store, parseInput(retentionArgs, args)),
      campaignTickHistory: (_parent, args) => tickHistory(store, parseInput(tickHistoryArgs, args)),
      chatActivity: async (_parent, args) => (await chatActivity(store, parseInput(chatActivityArgs, args))).map((row) => ({ ...row, user: user(row.userId) })),
      campaignEconomyHistory: (_parent, args) => economyHistory(store, parseInput(campaignHistoryArgs, args)),
      leaderboardHistory: (_parent, args) => leaderboardHistory(store, parseInput(leaderboardHistoryArgs, args)),
      aiUsage: (_parent, args) => aiUsage(store, parseInput(aiUsageArgs, args)),
      aiUsageByCampaign: (_parent, args) => aiUsageByCampaign(store, parseInput(aiUsageArgs, args)),
      aiSeries: (_parent, args) => aiSeries(store, parseInput(aiSeriesArgs, args)),
      apiOperations: (_parent, args) => apiOperations(store, parseInput(apiOperationsArgs, args)),
      apiSeries: (_parent, args) => apiSeries(store, parseInput(apiSeriesArgs, args)),
      deprecatedFieldUsage: (_parent, args) => deprecatedFieldUsage(store, parseInput(deprecatedUsageArgs, args)),
      commandActivity: async (_parent, args) => (await commandActivity(store, parseInput(chatActivityArgs, args))).map((row) => ({ ...row, user: user(row.userId) })),
      sessionLengths: (_parent, args) => sessionLengths(store, parseInput(retentionArgs, args)),
      signupFunnel: (_parent, args) => funnel(store, parseInput(retentionArgs, args)),
      myStats: async (_parent, args, { viewer }) => {
        const stats = await playerStats(store, requireUser(viewer).userId, parseInput(myStatsArgs, args));
        return { ...stats, minutesOnline: Math.round(stats.sessionMs / 600) / 100 };
      },
    },
    Mutation: {
      forgetUser: async (_parent, args) => {
        const { userId } = parseInput(forgetUserArgs, args);
        return { user: user(userId), held: await store.forgetUser(userId) };
      },
    },
    CampaignTickStats: {
      campaign: (row) => campaign(row.campaignId),
    },
    CampaignEconomyTick: {
      campaign: (row) => campaign(row.campaignId),
    },
    CampaignAiUsage: {
      campaign: (row) => campaign(row.campaignId),
    },
    CivilizationStanding: {
      player: (row) => (row.playerId ? user(row.playerId) : null),
    },
  };
}
