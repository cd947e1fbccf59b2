import { API_KEY_REVOKED_CHANNEL, createRedis, type Logger } from "@startales/service-kit";

export type RevocationListener = {
  /** Throws unless subscribed right now (part of the gateway's readiness). */
  assertListening(): void;
  close(): void;
};

/**
 * Subscribes to identity's announcements of revoked API keys, on a connection of its own
 * (a subscribed Redis connection can do nothing else). After a reconnect, announcements
 * made while disconnected are lost, so the whole cache is dropped rather than trusted.
 */
export function listenForApiKeyRevocations(options: {
  redisUrl: string;
  logger: Logger;
  onRevoked: (keyHash: string) => void;
  onReconnected: () => void;
}): RevocationListener {
  const { logger } = options;
  const subscriber = createRedis(options.redisUrl, "gateway-api-key-revocations");
  let subscribed = false;
  subscriber.on("message", (channel: string, keyHash: string) => {
    if (channel !== API_KEY_REVOKED_CHANNEL) return;
    options.onRevoked(keyHash);
    logger.debug("evicted a revoked API key from the cache");
  });
  subscriber.on("ready", () => {
    // The first "ready" precedes the first subscription; later ones are reconnects, which
    // ioredis follows by resubscribing.
    if (!subscribed) return;
    options.onReconnected();
    logger.info("reconnected to API key revocations; dropped the API key cache");
  });
  subscriber.on("error", (error: Error) => logger.warn({ err: error }, "API key revocation subscriber error"));
  subscriber.subscribe(API_KEY_REVOKED_CHANNEL).then(
    () => {
      subscribed = true;
    },
    (error: unknown) => logger.error({ err: error }, "could not subscribe to API key revocations"),
  );
  return {
    assertListening() {
      if (!subscribed || subscriber.status !== "ready") throw new Error("not subscribed to API key revocations");
    },
    close: () => subscriber.disconnect(),
  };
}
