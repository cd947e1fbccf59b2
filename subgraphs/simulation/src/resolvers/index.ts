import { DateTimeScalar, JSONScalar, cacheHint, parseId, parseInput, readCampaignFeedEvent, requireUser, type Redis, type Viewer } from "@startales/service-kit";
import type { Db } from "../db";
import { assertMemberOfLiveCampaign } from "../domain/access";
import type { CommandService } from "../domain/command-service";
import { commandsPage, leaderboardArgs, submitCommandInput } from "../domain/input";
import { resourcesOf, type CivilizationData } from "../domain/read-models";
import { checkWorldIntegrity } from "../domain/world-integrity";
import type { CivilizationView } from "../generated/prisma/client";
import type { CommandStatus, CommandType, Resolvers } from "../generated/resolvers-types";

const user = (id: string | null) => (id ? { __typename: "User" as const, id } : null);
const dataOf = (civ: CivilizationView) => civ.data as unknown as CivilizationData;
/** Resources, research and policies are for the civilization's own player. */
const own = (civ: CivilizationView, viewer: Viewer) => viewer.kind === "user" && civ.playerId === viewer.userId;

/** A tick's event never changes. */
const EVENT_MAX_AGE_S = 300;

export function createResolvers(deps: { db: Db; redis: Redis; commands: CommandService }): Resolvers {
  const { db, redis, commands } = deps;
  return {
    JSON: JSONScalar,
    DateTime: DateTimeScalar,
    Query: {
      // Who may ask is declared in the schema (@policy campaign_reader); non-members have no civilization.
      // These three answer from one tick's read models, the caller and their arguments alone:
      // the gateway may keep their answer until the world or membership moves (vouch).
      myCivilization: (_parent, args, { loaders, answer }, info) => {
        answer.vouch(info);
        return loaders.viewerCivilization.load(parseId(args.campaignId, "campaignId"));
      },
      galaxyMap: (_parent, args, { loaders, answer }, info) => {
        answer.vouch(info);
        return loaders.viewerGalaxyMap.load(parseId(args.campaignId, "campaignId"));
      },
      leaderboard: (_parent, args, { loaders, answer }, info) => {
        answer.vouch(info);
        const { first } = parseInput(leaderboardArgs, args);
        return loaders.leaderboard.load({ campaignId: parseId(args.campaignId, "campaignId"), first });
      },
      commands: (_parent, args, { viewer }) =>
        commands.mine(requireUser(viewer), parseId(args.campaignId, "campaignId"), { ...parseInput(commandsPage, args), status: args.status ?? null }),
      // Game master or admin (@policy campaign_game_master).
      worldIntegrity: (_parent, args) => checkWorldIntegrity(db, parseId(args.campaignId, "campaignId")),
      // A tick's event never changes, and reads the same to every member (service-kit cache-hints.ts).
      simulationEvent: (_parent, args, _context, info) => {
        cacheHint(info, { maxAge: EVENT_MAX_AGE_S });
        return readCampaignFeedEvent(redis, parseId(args.campaignId, "campaignId"), args.id);
      },
    },
    CampaignEvent: {
      // A reference: the campaign's own fields come from campaign, its world from here.
      campaign: (event, _args, _context, info) => {
        // Only the reference: campaign answers for the campaign itself (and hints it).
        cacheHint(info, { maxAge: EVENT_MAX_AGE_S });
        return { id: event.campaignId };
      },
    },
    Mutation: {
      submitCommand: async (_parent, args, { viewer, loaders }) => {
        const caller = requireUser(viewer);
        const input = parseInput(submitCommandInput, args.input);
        await assertMemberOfLiveCampaign(loaders, input.campaignId);
        return commands.submit(caller, input);
      },
    },
    Campaign: {
      // A reference from the gateway; who may see it is the type's @policy.
      __resolveReference: (reference) => ({ id: parseId(reference.id) }),
      world: (campaign, _args, { loaders }) => loaders.worldByCampaign.load(campaign.id),
    },
    World: {
      stateHash: (world) => world.hash,
      starSystems: (world, _args, { loaders }) => loaders.starSystemsByCampaign.load(world.campaignId),
      civilizations: (world, _args, { loaders }) => loaders.civilizationsByCampaign.load(world.campaignId),
    },
    Civilization: {
      id: (civ) => civ.civId,
      name: (civ) => dataOf(civ).name,
      species: (civ) => dataOf(civ).species,
      player: (civ) => user(civ.playerId),
      isAi: (civ) => civ.playerId === null,
      score: (civ) => dataOf(civ).score,
      stability: (civ) => dataOf(civ).stability,
      eliminated: (civ) => dataOf(civ).eliminated,
      homeSystemId: (civ) => dataOf(civ).homeSystemId,
      resources: (civ, _args, { viewer }) => (own(civ, viewer) ? resourcesOf(dataOf(civ)) : null),
      techs: (civ, _args, { viewer }) => (own(civ, viewer) ? dataOf(civ).techs : null),
      researchId: (civ, _args, { viewer }) => (own(civ, viewer) ? dataOf(civ).researchId : null),
      taxRate: (civ, _args, { viewer }) => (own(civ, viewer) ? dataOf(civ).taxRate : null),
      policy: (civ, _args, { viewer }) => (own(civ, viewer) ? dataOf(civ).policy : null),
    },
    GalaxyMap: {
      civilizationId: (map) => map.civId,
    },
    LeaderboardEntry: {
      civilizationId: (row) => row.civId,
      player: (row) => user(row.playerId),
    },
    Command: {
      type: (command) => command.type as CommandType,
      status: (command) => command.status as CommandStatus,
      payload: (command) => command.payload,
    },
  };
}
