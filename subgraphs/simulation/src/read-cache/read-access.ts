import { createTtlCache, type CampaignAccess, type CampaignClient, type CampaignReadAccess } from "@startales/service-kit";
import type { CampaignVersions } from "./campaign-versions";

/**
 * Who may read a campaign, per caller (user, roles, scopes) and campaign, as campaign answered
 * it for the campaign's current membership version: a join, leave, kick or lifecycle change
 * publishes on `campaign:<id>`, which is a new version and so a new question, at once rather
 * than after a TTL. `ttlMs` only bounds memory and a missed publication. "No such campaign" is
 * not kept: a campaign may be created the next moment.
 */
export function createVersionedReadAccess(
  client: Pick<CampaignClient, "access">,
  versions: Pick<CampaignVersions, "membership">,
  options: { ttlMs: number; maxEntries: number },
): CampaignReadAccess {
  const cache = createTtlCache<CampaignAccess>({ maxEntries: options.maxEntries });
  return async (viewer, forwarded, ids) => {
    const caller = `${viewer.userId}|${viewer.roles.join(",")}|${viewer.scopes.join(",")}|`;
    // Without a version (Redis away), campaign is asked: who may read is never guessed.
    const keys = await Promise.all(
      ids.map(async (id) => {
        const version = await versions.membership(id);
        return version === null ? null : `${caller}${id}|${version}`;
      }),
    );
    const known = keys.map((key) => (key === null ? undefined : cache.get(key)));
    const unknown = ids.flatMap((_, i) => (known[i] === undefined ? [i] : []));
    if (unknown.length > 0) {
      const answers = await client.access(forwarded, unknown.map((i) => ids[i]!));
      unknown.forEach((index, j) => {
        const access = answers[j]!;
        const key = keys[index];
        if (access.kind !== "missing" && key) cache.set(key, access, options.ttlMs);
        known[index] = access;
      });
    }
    return known as CampaignAccess[];
  };
}
