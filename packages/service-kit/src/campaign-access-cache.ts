import type { CampaignAccess, CampaignClient } from "./campaign-client";
import type { ForwardedIdentity } from "./subgraph-app";
import { createTtlCache } from "./ttl-cache";
import type { SignedInViewer } from "./viewer";

export type CampaignReadAccess = (viewer: SignedInViewer, forwarded: ForwardedIdentity, ids: readonly string[]) => Promise<CampaignAccess[]>;

/**
 * Who may read a campaign, as campaign answered it at most `ttlMs` ago, per caller (user,
 * roles and scopes) and campaign. For reads a client polls (the galaxy map, the leaderboard):
 * without it each poll is also a request to campaign. The price is that a player who leaves
 * keeps reading for up to `ttlMs`; writes never use it (they ask campaign every time).
 * "No such campaign" is not kept: a campaign may be created the next moment.
 */
export function createCampaignReadAccess(client: Pick<CampaignClient, "access">, options: { ttlMs: number; maxEntries: number }): CampaignReadAccess {
  const cache = createTtlCache<CampaignAccess>({ maxEntries: options.maxEntries });
  return async (viewer, forwarded, ids) => {
    const caller = `${viewer.userId}|${viewer.roles.join(",")}|${viewer.scopes.join(",")}|`;
    const known = ids.map((id) => cache.get(caller + id));
    const unknown = ids.flatMap((_, i) => (known[i] === undefined ? [i] : []));
    if (unknown.length > 0) {
      const answers = await client.access(forwarded, unknown.map((i) => ids[i]!));
      unknown.forEach((index, j) => {
        const access = answers[j]!;
        if (access.kind !== "missing") cache.set(caller + ids[index], access, options.ttlMs);
        known[index] = access;
      });
    }
    return known as CampaignAccess[];
  };
}
