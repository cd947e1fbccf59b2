import { randomUUID } from "node:crypto";
import { API_KEY_REVOKED_CHANNEL, DELETED_ACCOUNTS_KEY, announceDeletedAccount, createRedis, deletedAccounts, parseDeletedAccount } from "@startales/service-kit";
import { listenForRevocations, type RevocationListener } from "../../gateway/src/revocations";
import { captureLogs } from "../testkit/logs";
import { eventually } from "../testkit/simulation";

/**
 * The gateway's revocation listener on the real Redis: API key revocations and account
 * deletions as identity announces them, and deletions announced while no gateway listened,
 * read from the set identity keeps when a gateway subscribes.
 */
const REDIS_URL = process.env.REDIS_URL ?? "redis://127.0.0.1:6379";
const redis = createRedis(REDIS_URL, "revocation-listener-test");
const listeners: RevocationListener[] = [];
afterAll(() => {
  listeners.forEach((listener) => listener.close());
  redis.disconnect();
});

function listen() {
  const heard = { keys: [] as string[], deleted: new Map<string, number>(), reconnects: 0 };
  const listener = listenForRevocations({
    redisUrl: REDIS_URL,
    redis,
    logger: captureLogs("gateway", "warn").logger,
    onApiKeyRevoked: (keyHash) => heard.keys.push(keyHash),
    onAccountDeleted: (userId, until) => heard.deleted.set(userId, until),
    onSessionsRevoked: () => undefined,
    onReconnected: () => (heard.reconnects += 1),
  });
  listeners.push(listener);
  const listening = () =>
    eventually("the listener to subscribe", async () => {
      try {
        listener.assertListening();
        return true;
      } catch {
        return undefined;
      }
    });
  return { heard, listening };
}

it("learns of deletions announced before it started from the set, and of later ones as they are announced", async () => {
  const [before, after, expired] = [randomUUID(), randomUUID(), randomUUID()];
  const until = Date.now() + 60_000;
  await announceDeletedAccount(redis, before, until);
  // An entry whose tokens have all expired is neither read nor kept.
  await redis.zadd(DELETED_ACCOUNTS_KEY, Date.now() - 1_000, expired);
  const { heard, listening } = listen();
  await listening();
  expect(heard.deleted.get(before)).toBe(until);
  expect(heard.deleted.has(expired)).toBe(false);

  await announceDeletedAccount(redis, after, until + 1);
  await eventually("the announcement", async () => (heard.deleted.has(after) ? true : undefined));
  expect(heard.deleted.get(after)).toBe(until + 1);
  expect(await redis.zscore(DELETED_ACCOUNTS_KEY, expired)).toBeNull();
  expect((await deletedAccounts(redis)).map((a) => a.userId)).toEqual(expect.arrayContaining([before, after]));
});

it("still evicts revoked API keys, and ignores a deletion message of any other shape", async () => {
  const { heard, listening } = listen();
  await listening();
  const keyHash = randomUUID();
  await redis.publish(API_KEY_REVOKED_CHANNEL, keyHash);
  await eventually("the revocation", async () => (heard.keys.includes(keyHash) ? true : undefined));
  expect(parseDeletedAccount("no-time")).toBeNull();
  expect(parseDeletedAccount(`${randomUUID()} soon`)).toBeNull();
  expect(heard.reconnects).toBe(0);
});
