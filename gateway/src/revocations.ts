import { ACCOUNT_DELETED_CHANNEL, API_KEY_REVOKED_CHANNEL, REVOKED_SESSIONS_CHANNEL, createRedis, deletedAccounts, parseDeletedAccount, parseRevokedSessions, revokedSessions, type Logger, type Redis, type RevokedSessions } from "@startales/service-kit";

export type RevocationListener = {
  /** Throws unless subscribed right now (part of the gateway's readiness). */
  assertListening(): void;
  close(): void;
};

/**
 * Subscribes to identity's announcements of revoked API keys and deleted accounts, on a
 * connection of its own (a subscribed Redis connection can do nothing else). After a
 * reconnect, announcements made while disconnected are lost: the API key cache is dropped
 * rather than trusted, and the deleted accounts are read again from the set identity keeps
 * (`redis`, a connection that is not subscribed), as on the first subscription.
 */
export function listenForRevocations(options: {
  redisUrl: string;
  redis: Redis;
  logger: Logger;
  onApiKeyRevoked: (keyHash: string) => void;
  onAccountDeleted: (userId: string, until: number) => void;
  /** The user's sign-ins were all ended (a password reset): tokens issued before `notBefore` are void. */
  onSessionsRevoked: (revoked: RevokedSessions) => void;
  onReconnected: () => void;
}): RevocationListener {
  const { logger } = options;
  const subscriber = createRedis(options.redisUrl, "gateway-revocations");
  let subscribed = false;
  const readDeletedAccounts = () =>
    deletedAccounts(options.redis).then(
      (accounts) => accounts.forEach(({ userId, until }) => options.onAccountDeleted(userId, until)),
      (error: unknown) => logger.warn({ err: error }, "could not read the deleted accounts; their access tokens are refused from their next announcement"),
    );
  const readRevokedSessions = () =>
    revokedSessions(options.redis).then(
      (all) => all.forEach((revoked) => options.onSessionsRevoked(revoked)),
      (error: unknown) => logger.warn({ err: error }, "could not read the ended sign-ins; their older access tokens are refused from their next announcement"),
    );
  subscriber.on("message", (channel: string, message: string) => {
    if (channel === API_KEY_REVOKED_CHANNEL) {
      options.onApiKeyRevoked(message);
      logger.debug("evicted a revoked API key from the cache");
    } else if (channel === ACCOUNT_DELETED_CHANNEL) {
      const deletion = parseDeletedAccount(message);
      if (deletion) options.onAccountDeleted(deletion.userId, deletion.until);
    } else if (channel === REVOKED_SESSIONS_CHANNEL) {
      const revoked = parseRevokedSessions(message);
      if (revoked) options.onSessionsRevoked(revoked);
    }
  });
  subscriber.on("ready", () => {
    // The first "ready" precedes the first subscription; later ones are reconnects, which
    // ioredis follows by resubscribing.
    if (!subscribed) return;
    options.onReconnected();
    void readDeletedAccounts();
    void readRevokedSessions();
    logger.info("reconnected to revocations; dropped the API key cache");
  });
  subscriber.on("error", (error: Error) => logger.warn({ err: error }, "revocation subscriber error"));
  subscriber.subscribe(API_KEY_REVOKED_CHANNEL, ACCOUNT_DELETED_CHANNEL, REVOKED_SESSIONS_CHANNEL).then(
    async () => {
      await Promise.all([readDeletedAccounts(), readRevokedSessions()]);
      subscribed = true;
    },
    (error: unknown) => logger.error({ err: error }, "could not subscribe to revocations"),
  );
  return {
    assertListening() {
      if (!subscribed || subscriber.status !== "ready") throw new Error("not subscribed to revocations");
    },
    close: () => subscriber.disconnect(),
  };
}
