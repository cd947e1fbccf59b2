import { ErrorCode, IDENTITY_HEADER, REQUEST_ID_HEADER, appError, type Logger } from "@startales/service-kit";
import type { ForwardedIdentity } from "@startales/service-kit";

/** What realtime needs to know about a campaign, as the caller may see it. */
export type CampaignAccess =
  | { kind: "member"; id: string; status: string; role: "GAME_MASTER" | "PLAYER" }
  /** Readable without being a member: admins and analysts. */
  | { kind: "reader"; id: string; status: string }
  | { kind: "forbidden" }
  | { kind: "missing" };

type GraphQLResult = { data?: Record<string, unknown> | null; errors?: { message: string; path?: (string | number)[]; extensions?: { code?: string } }[] };

export type CampaignClient = ReturnType<typeof createCampaignClient>;

/**
 * The campaign subgraph over HTTP, asked as the caller: the gateway's signed identity header
 * is forwarded exactly as received (its audience is every subgraph), so campaign applies its
 * own rules (members, admins, analysts) and realtime holds no extra privilege.
 */
export function createCampaignClient(options: { url: string; timeoutMs: number; logger: Logger }) {
  const unavailable = () => appError(ErrorCode.SERVICE_UNAVAILABLE, "The campaign service is unavailable; try again shortly");

  async function post(forwarded: ForwardedIdentity, query: string, variables: Record<string, unknown>): Promise<GraphQLResult> {
    if (!forwarded.identity) throw appError(ErrorCode.UNAUTHENTICATED, "Requests must come through the gateway");
    let res: Response;
    try {
      res = await fetch(options.url, {
        method: "POST",
        headers: {
          "content-type": "application/json",
          accept: "application/json",
          [IDENTITY_HEADER]: forwarded.identity,
          ...(forwarded.requestId ? { [REQUEST_ID_HEADER]: forwarded.requestId } : {}),
        },
        body: JSON.stringify({ query, variables }),
        signal: AbortSignal.timeout(options.timeoutMs),
      });
    } catch (error) {
      options.logger.warn({ err: error }, "campaign subgraph unreachable");
      throw unavailable();
    }
    if (res.status >= 500) {
      options.logger.warn({ status: res.status }, "campaign subgraph failed");
      throw unavailable();
    }
    const body = (await res.json()) as GraphQLResult;
    if (res.status === 401) throw appError(ErrorCode.UNAUTHENTICATED, "Requests must come through the gateway");
    return body;
  }

  /** The errors of one aliased field, by code. */
  const codesAt = (result: GraphQLResult, alias: string) =>
    (result.errors ?? []).filter((e) => e.path?.[0] === alias).map((e) => e.extensions?.code ?? "INTERNAL_SERVER_ERROR");

  function unexpected(result: GraphQLResult, codes: string[]): never {
    options.logger.warn({ codes, errors: result.errors?.map((e) => e.message) }, "unexpected answer from campaign");
    throw unavailable();
  }

  return {
    /** Access to several campaigns in one request (aliases), in the order of `ids`. */
    async access(forwarded: ForwardedIdentity, ids: readonly string[]): Promise<CampaignAccess[]> {
      const variables = Object.fromEntries(ids.map((id, i) => [`id${i}`, id]));
      const query = `query RealtimeCampaignAccess(${ids.map((_, i) => `$id${i}: ID!`).join(", ")}) {
        ${ids.map((_, i) => `c${i}: campaign(id: $id${i}) { id status myMembership { role } }`).join("\n")}
      }`;
      const result = await post(forwarded, query, variables);
      return ids.map((_, i) => {
        const codes = codesAt(result, `c${i}`);
        if (codes.includes(ErrorCode.FORBIDDEN)) return { kind: "forbidden" };
        if (codes.length > 0) unexpected(result, codes);
        const campaign = result.data?.[`c${i}`] as { id: string; status: string; myMembership: { role: "GAME_MASTER" | "PLAYER" } | null } | null | undefined;
        if (!campaign) return { kind: "missing" };
        return campaign.myMembership
          ? { kind: "member", id: campaign.id, status: campaign.status, role: campaign.myMembership.role }
          : { kind: "reader", id: campaign.id, status: campaign.status };
      });
    },

    /** The user ids of a campaign's members (the caller must be allowed to read it). */
    async memberIds(forwarded: ForwardedIdentity, campaignId: string): Promise<Set<string> | null> {
      const result = await post(forwarded, "query RealtimeCampaignMembers($id: ID!) { c0: campaign(id: $id) { id members { user { id } } } }", { id: campaignId });
      const codes = codesAt(result, "c0");
      if (codes.includes(ErrorCode.FORBIDDEN)) return null;
      if (codes.length > 0) unexpected(result, codes);
      const campaign = result.data?.c0 as { members: { user: { id: string } }[] } | null | undefined;
      return campaign ? new Set(campaign.members.map((m) => m.user.id)) : null;
    },

    /** The ids of the campaigns the caller belongs to (up to 500). */
    async myCampaignIds(forwarded: ForwardedIdentity): Promise<string[]> {
      const result = await post(forwarded, "query RealtimeMyCampaigns { c0: myCampaigns(first: 500) { id } }", {});
      const codes = codesAt(result, "c0");
      if (codes.length > 0 || !result.data?.c0) unexpected(result, codes);
      return (result.data.c0 as { id: string }[]).map((c) => c.id);
    },
  };
}
