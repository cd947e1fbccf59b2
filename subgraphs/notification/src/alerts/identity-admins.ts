import { randomUUID } from "node:crypto";
import { ADMIN_IDS_PATH, IDENTITY_HEADER, REQUEST_ID_HEADER, Role, Scope, createIdentitySigner, injectTraceHeaders, signedIn, type Logger } from "@startales/service-kit";

/**
 * Who holds the ADMIN role in identity, asked by the notification subgraph on its own behalf:
 * it signs a SERVICE identity for `serviceId` with the shared secret, which identity's route
 * requires (as the simulation worker pool does for campaign's world setup). An answer is kept
 * `cacheMs` (a storm of alerts makes one call; a role change shows within it), and concurrent
 * askers share one request. Throws when identity is unreachable or refuses: the receiver then
 * answers 503 so that Alertmanager retries.
 */
export function createIdentityAdminsClient(options: { identityUrl: string; secret: string; serviceId: string; timeoutMs: number; cacheMs: number; logger: Logger }) {
  const sign = createIdentitySigner(options.secret);
  const endpoint = new URL(ADMIN_IDS_PATH, options.identityUrl).toString();
  const service = signedIn(options.serviceId, [Role.SERVICE], { credential: "api_key", scopes: [Scope.READ] });
  let cached: { ids: string[]; until: number } | null = null;
  let pending: Promise<string[]> | null = null;

  async function ask(): Promise<string[]> {
    const requestId = randomUUID();
    const headers: Record<string, string> = { [IDENTITY_HEADER]: await sign(service, requestId), [REQUEST_ID_HEADER]: requestId };
    injectTraceHeaders(headers);
    const res = await fetch(endpoint, { method: "POST", headers, signal: AbortSignal.timeout(options.timeoutMs) });
    if (res.status !== 200) {
      options.logger.warn({ status: res.status }, "identity refused the admin-ids request");
      throw new Error(`identity answered ${res.status} to ${ADMIN_IDS_PATH}`);
    }
    const { userIds } = (await res.json()) as { userIds: string[] };
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
