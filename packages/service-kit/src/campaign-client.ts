import { ErrorCode, appError } from "./errors";
import {
  SubgraphCampaignAccessDocument,
  SubgraphCampaignMembersDocument,
  SubgraphMyCampaignsDocument,
  type SubgraphCampaignAccessQuery,
} from "./generated/campaign-operations";
import { createServiceCaller } from "./service-route";
import { forwardedGraphQL, type GraphQLResult } from "./forwarded-graphql";
import type { Logger } from "./logger";
import { operationText, repeatedRootField } from "./operation-text";
import type { ForwardedIdentity } from "./subgraph-app";

type AccessAnswer = NonNullable<SubgraphCampaignAccessQuery["campaign"]>;

/** What another subgraph needs to know about a campaign, as the caller may see it. */
export type CampaignAccess =
  | { kind: "member"; id: string; status: AccessAnswer["status"]; role: NonNullable<AccessAnswer["myMembership"]>["role"] }
  /** Readable without being a member: admins and analysts. */
  | { kind: "reader"; id: string; status: AccessAnswer["status"] }
  | { kind: "forbidden" }
  | { kind: "missing" };


// The documents are operations/campaign/*.graphql, checked against campaign's schema by `npm run check`.
const MEMBERS = operationText(SubgraphCampaignMembersDocument);
const MY_CAMPAIGNS = operationText(SubgraphMyCampaignsDocument);
/** SubgraphCampaignAccess for a batch of campaigns: `campaign` once per id, under aliases. */
const accessBatch = repeatedRootField(SubgraphCampaignAccessDocument);

export type CampaignClient = ReturnType<typeof createCampaignClient>;

/**
 * The campaign subgraph over HTTP, asked as the caller: the gateway's signed identity header
 * is forwarded exactly as received (its audience is every subgraph), so campaign applies its
 * own rules (members, admins, analysts) and the asking subgraph (realtime, simulation) holds
 * no extra privilege.
 */
export function createCampaignClient(options: { url: string; timeoutMs: number; logger: Logger }) {
  const unavailable = () => appError(ErrorCode.SERVICE_UNAVAILABLE, "The campaign service is unavailable; try again shortly");

  const post = forwardedGraphQL({ url: options.url, timeoutMs: options.timeoutMs, logger: options.logger, subgraph: "campaign", unavailable });

  /** The errors of one (aliased) field, by code. */
  const codesAt = (result: GraphQLResult<unknown>, field: string) =>
    (result.errors ?? []).filter((e) => e.path?.[0] === field).map((e) => e.extensions?.code ?? "INTERNAL_SERVER_ERROR");

  function unexpected(result: GraphQLResult<unknown>, codes: string[]): never {
    options.logger.warn({ codes, errors: result.errors?.map((e) => e.message) }, "unexpected answer from campaign");
    throw unavailable();
  }

  return {
    /** Access to several campaigns in one request (aliases), in the order of `ids`. */
    async access(forwarded: ForwardedIdentity, ids: readonly string[]): Promise<CampaignAccess[]> {
      // An operation without a field is not valid GraphQL: nothing to ask.
      if (ids.length === 0) return [];
      const { text, variables, aliases } = accessBatch(ids.map((id) => ({ id })));
      const result = await post(forwarded, text, variables);
      return aliases.map((alias) => {
        const codes = codesAt(result, alias);
        if (codes.includes(ErrorCode.FORBIDDEN)) return { kind: "forbidden" };
        if (codes.length > 0) unexpected(result, codes);
        const campaign = result.data?.[alias];
        if (!campaign) return { kind: "missing" };
        return campaign.myMembership
          ? { kind: "member", id: campaign.id, status: campaign.status, role: campaign.myMembership.role }
          : { kind: "reader", id: campaign.id, status: campaign.status };
      });
    },

    /** The user ids of a campaign's members (the caller must be allowed to read it). */
    async memberIds(forwarded: ForwardedIdentity, campaignId: string): Promise<Set<string> | null> {
      const result = await post(forwarded, MEMBERS, { id: campaignId });
      const codes = codesAt(result, "campaign");
      if (codes.includes(ErrorCode.FORBIDDEN)) return null;
      if (codes.length > 0) unexpected(result, codes);
      const campaign = result.data?.campaign;
      return campaign ? new Set(campaign.members.map((m) => m.user.id)) : null;
    },

    /** The ids of the campaigns the caller belongs to (up to 500). */
    async myCampaignIds(forwarded: ForwardedIdentity): Promise<string[]> {
      const result = await post(forwarded, MY_CAMPAIGNS, {});
      const codes = codesAt(result, "myCampaigns");
      if (codes.length > 0 || !result.data?.myCampaigns) unexpected(result, codes);
      return result.data.myCampaigns.map((c) => c.id);
    },
  };
}

/** Campaign's internal route for the simulation worker pool (subgraphs/campaign/src/world-setup-route.ts). */
export const WORLD_SETUP_PATH = "/internal/campaigns/world-setup";

/** Identity's internal route listing who holds ADMIN, for services (subgraphs/identity/src/admin-ids-route.ts; notification's alert receiver). */
export const ADMIN_IDS_PATH = "/internal/users/admins";

/** What a world is generated from and how fast it ticks, as campaign reports it. */
export type CampaignWorldSetup = {
  id: string;
  status: "DRAFT" | "RUNNING" | "PAUSED" | "ENDED";
  /** The campaign aggregate's version: newer answers win over older ones. */
  version: number;
  seed: string;
  tickRateMs: number;
  memberIds: string[];
};

/**
 * Campaign asked by a service on its own behalf (not a caller's): it signs a SERVICE
 * identity for `serviceId` with the shared secret, which campaign's internal world-setup
 * route requires. Only for background work (the simulation's lifecycle jobs); requests
 * made for a user forward that user's identity instead (createCampaignClient).
 */
export function createCampaignSetupClient(options: { campaignUrl: string; secret: string; serviceId: string; timeoutMs: number; logger: Logger }) {
  const caller = createServiceCaller(options);
  const endpoint = new URL(WORLD_SETUP_PATH, options.campaignUrl).toString();
  return {
    /** The campaign's setup, or null when there is no such campaign. Throws when campaign is unreachable. */
    async worldSetup(campaignId: string): Promise<CampaignWorldSetup | null> {
      const answer = await caller.post<CampaignWorldSetup>(endpoint, { campaignId });
      if (answer.status === 404) return null;
      if (answer.status !== 200 || !answer.body) {
        options.logger.warn({ status: answer.status, campaignId }, "campaign refused the world-setup request");
        throw new Error(`campaign answered ${answer.status} to ${WORLD_SETUP_PATH}`);
      }
      return answer.body;
    },
  };
}

export type CampaignSetupClient = ReturnType<typeof createCampaignSetupClient>;
