import { ADMIN_IDS_PATH, createServiceCaller, type Logger } from "@startales/service-kit";

/**
 * Who holds the ADMIN role in identity, asked by the notification subgraph on its own behalf:
 * it signs a SERVICE identity for `serviceId` with the shared secret, which identity's route
 * requires (as the simulation worker pool does for campaign's world setup). An answer is kept
 * `cacheMs` (a storm of alerts makes one call; a role change shows within it), and concurrent
 * askers share one request. Throws when identity is unreachable or refuses: the receiver then
 * answers 503 so that Alertmanager retries.
 */
export function createIdentityAdminsClient(options: { identityUrl: string; secret: string; serviceId: string; timeoutMs: number; cacheMs: number; logger: Logger }) {
  const caller = createServiceCaller(options);
  const endpoint = new URL(ADMIN_IDS_PATH, options.identityUrl).toString();
  let cached: { ids: string[]; until: number } | null = null;
  let pending: Promise<string[]> | null = null;

  async function ask(): Promise<string[]> {
    const answer = await caller.post<{ userIds: string[] }>(endpoint);
    if (answer.status !== 200 || !answer.body) {
      options.logger.warn({ status: answer.status }, "identity refused the admin-ids request");
      throw new Error(`identity answered ${answer.status} to ${ADMIN_IDS_PATH}`);
    }
    const { userIds } = answer.body;
    cached = { ids: userIds, until: Date.now() + options.cacheMs };
    return userIds;
  }

  return {
    /** The ids of the users who hold ADMIN (as of at most `cacheMs` ago). */
    adminIds(): Promise<string[]> {
      if (cached && cached.until > Date.now()) return Promise.resolve(cached.ids);
      pending ??= ask().finally(() => {
        pending = null;
      });
      return pending;
    },
  };
}

export type IdentityAdminsClient = ReturnType<typeof createIdentityAdminsClient>;
