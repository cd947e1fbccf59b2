import { z } from "zod";
import type { AnswerVersions } from "./answer-versions";
import type { CampaignAccess, CampaignClient } from "./campaign-client";
import { followCampaignVersions, type CampaignVersions, type VersionedFeed } from "./campaign-versions";
import { positiveInt } from "./config";
import type { Logger } from "./logger";
import type { Redis } from "./redis";
import type { ForwardedIdentity } from "./subgraph-app";
import { createTtlCache } from "./ttl-cache";
import type { SignedInViewer } from "./viewer";

/** The settings of a service that reads campaigns' versions and keeps who may read them. */
export const campaignReadAccessShape = {
  /**
   * How long who may read a campaign is kept, per caller and membership version: a join,
   * leave or kick asks again at once, so this only bounds a missed publication; 0 asks
   * campaign on every read. Writes always ask campaign.
   */
  CAMPAIGN_READ_ACCESS_TTL_MS: z.coerce.number().int().min(0).default(60_000),
  /** How long a campaign's version, once learnt, is trusted without a publication: a bound on a missed one. */
  READ_CACHE_VERSION_TTL_MS: positiveInt(30_000),
};

/** `answer`, when given, notes the membership version each campaign's access was decided at. */
export type CampaignReadAccess = (viewer: SignedInViewer, forwarded: ForwardedIdentity, ids: readonly string[], answer?: AnswerVersions) => Promise<CampaignAccess[]>;

/**
 * Who may read a campaign, per caller (user, roles, scopes) and campaign, as campaign answered
 * it for the campaign's current membership version: a join, leave, kick or lifecycle change
 * publishes on `campaign:<id>`, which is a new version and so a new question, at once rather
 * than after a TTL. For reads many callers repeat (a galaxy map polled, a chat message
 * resolved for its room): without it each is also a request to campaign. `ttlMs` only bounds
 * memory and a missed publication. Writes ask campaign every time, through it with
 * `revalidate`, so their fresh answer replaces the kept one (a player refused a write after
 * leaving is refused the next read too, publication or not). "No such campaign" is not kept:
 * a campaign may be created the next moment. A request that asks to revalidate
 * (`forwarded.revalidate`) is answered by campaign, and its answer is kept.
 */
export function createCampaignReadAccess(
  client: Pick<CampaignClient, "access">,
  versions: Pick<CampaignVersions, "membership">,
  options: { ttlMs: number; maxEntries: number },
): CampaignReadAccess {
  const cache = createTtlCache<CampaignAccess>({ maxEntries: options.maxEntries });
  return async (viewer, forwarded, ids, answer) => {
    const caller = `${viewer.userId}|${viewer.roles.join(",")}|${viewer.scopes.join(",")}|`;
    // Without a version (Redis away), campaign is asked: who may read is never guessed.
    const keys = await Promise.all(
      ids.map(async (id) => {
        const version = await versions.membership(id);
        answer?.read("campaign", id, version);
        return version === null ? null : `${caller}${id}|${version}`;
      }),
    );
    // Asked to revalidate (the gateway re-checking a live subscriber): campaign decides now, and its answer is kept.
    const known = keys.map((key) => (key === null || forwarded.revalidate ? undefined : cache.get(key)));
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

/**
 * A subgraph's campaign versions (start them when it listens, stop them when it stops) and who
 * may read each campaign, kept by those versions, with its campaignReadAccessShape settings.
 */
export function campaignReadAccessFor(
  redis: Redis,
  campaigns: Pick<CampaignClient, "access">,
  config: { CAMPAIGN_READ_ACCESS_TTL_MS: number; READ_CACHE_VERSION_TTL_MS: number },
  options: { logger: Logger; connectionName: string; follows: readonly VersionedFeed[] },
): { versions: CampaignVersions; readAccess: CampaignReadAccess } {
  const versions = followCampaignVersions(redis, config, options);
  return { versions, readAccess: createCampaignReadAccess(campaigns, versions, { ttlMs: config.CAMPAIGN_READ_ACCESS_TTL_MS, maxEntries: 100_000 }) };
}
