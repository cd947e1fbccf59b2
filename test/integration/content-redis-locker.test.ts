import { randomUUID } from "node:crypto";
import { Redis } from "ioredis";
import type { ERRORS as TusErrors } from "@tus/server" with { "resolution-mode": "import" };
import { createRedis } from "@startales/service-kit";
import { LockStoreUnavailableError, RedisLocker, type RedisLockerOptions } from "../../subgraphs/content/src/http/redis-locker";
import { unusedPort } from "../testkit/ports";
import { deleteKeysMatching } from "../testkit/redis-keys";
import { eventually } from "../testkit/simulation";

/**
 * Content's tus locker on the real Redis: the per-upload lock that replicas share. Two lockers
 * on two connections stand for two replicas (each has its own subscriber, as each process
 * does). The semantics are @tus/server's MemoryLocker's: a request wanting a held lock asks
 * the holder to let go and takes it once free, or fails with tus's lock timeout.
 */
jest.setTimeout(30_000);

const prefix = `test:tus-lock:${randomUUID()}:`;
const connections: Redis[] = [];
const lockers: RedisLocker[] = [];
let redis: Redis;
let ERRORS: typeof TusErrors;

/** A "replica": a locker on a connection of its own. */
function replica(options: Partial<RedisLockerOptions> = {}): RedisLocker {
  const connection = createRedis(process.env.REDIS_URL ?? "redis://127.0.0.1:6379", "test-locker");
  connections.push(connection);
  const locker = new RedisLocker({ redis: connection, prefix, ...options });
  lockers.push(locker);
  return locker;
}

const live = () => new AbortController().signal;
const never = () => undefined;

beforeAll(async () => {
  redis = createRedis(process.env.REDIS_URL ?? "redis://127.0.0.1:6379", "test-locker");
  ({ ERRORS } = await import("@tus/server"));
});
afterAll(async () => {
  await deleteKeysMatching(redis, `${prefix}*`);
  for (const locker of lockers) locker.close();
  for (const connection of [...connections, redis]) connection.disconnect();
});

/** Settles to what a promise came to, or "pending" if it has not yet. */
async function stateOf(promise: Promise<unknown>): Promise<"resolved" | "rejected" | "pending"> {
  const pending = Symbol("pending");
  const outcome = await Promise.race([promise.then(() => "resolved" as const, () => "rejected" as const), new Promise<symbol>((resolve) => setImmediate(() => resolve(pending)))]);
  return outcome === pending ? "pending" : (outcome as "resolved" | "rejected");
}

describe("a Redis lock for a tus upload", () => {
  it("is taken as a key with a token and an expiry, and released by unlock; then it can be taken at once", async () => {
    const locker = replica();
    const id = randomUUID();
    const lock = locker.newLock(id);
    await lock.lock(live(), never);
    const token = await redis.get(locker.keyOf(id));
    expect(token).toMatch(/\S{16,}/);
    expect(await redis.pttl(locker.keyOf(id))).toBeGreaterThan(0);
    await lock.unlock();
    expect(await redis.exists(locker.keyOf(id))).toBe(0);

    const again = locker.newLock(id);
    await again.lock(live(), never);
    expect(await redis.get(locker.keyOf(id))).not.toBe(token);
    await again.unlock();
  });

  it("is kept while held, past its expiry, by renewals", async () => {
    const locker = replica({ ttlMs: 1_000 });
    const id = randomUUID();
    const lock = locker.newLock(id);
    await lock.lock(live(), never);
    const token = await redis.get(locker.keyOf(id));
    const until = Date.now() + 2_500;
    await eventually("2.5 times the lock's expiry, the lock still held", async () => {
      expect(await redis.get(locker.keyOf(id))).toBe(token);
      return Date.now() > until ? true : undefined;
    }, 10_000, 100);
    await lock.unlock();
  });

  it("wanted on another replica asks its holder to release it, and is taken there once the holder unlocks", async () => {
    const first = replica();
    const second = replica();
    const id = randomUUID();
    const held = first.newLock(id);
    const asked = jest.fn();
    await held.lock(live(), asked);

    const wanted = second.newLock(id);
    const taking = wanted.lock(live(), never);
    await eventually("the holder asked to release", async () => (asked.mock.calls.length > 0 ? true : undefined));
    expect(await stateOf(taking)).toBe("pending");

    await held.unlock();
    await taking;
    expect(await redis.exists(second.keyOf(id))).toBe(1);
    await wanted.unlock();
    expect(await redis.exists(second.keyOf(id))).toBe(0);
  });

  it("fails with tus's lock timeout when the holder never releases it, and leaves the holder's lock alone", async () => {
    const holder = replica();
    const impatient = replica({ acquireTimeoutMs: 600 });
    const id = randomUUID();
    const held = holder.newLock(id);
    const asked = jest.fn();
    await held.lock(live(), asked);
    const token = await redis.get(holder.keyOf(id));

    const started = Date.now();
    await expect(impatient.newLock(id).lock(live(), never)).rejects.toBe(ERRORS.ERR_LOCK_TIMEOUT);
    expect(Date.now() - started).toBeGreaterThanOrEqual(550);
    expect(asked).toHaveBeenCalled();
    expect(await redis.get(holder.keyOf(id))).toBe(token);
    await held.unlock();
  });

  it("is not released by a lock that does not hold it: one never taken, one that timed out, one whose key was taken over", async () => {
    const holder = replica();
    const other = replica({ acquireTimeoutMs: 300 });
    const id = randomUUID();
    const held = holder.newLock(id);
    const asked = jest.fn();
    await held.lock(live(), asked);
    const token = await redis.get(holder.keyOf(id));

    await other.newLock(id).unlock();
    const timedOut = other.newLock(id);
    await expect(timedOut.lock(live(), never)).rejects.toBe(ERRORS.ERR_LOCK_TIMEOUT);
    await timedOut.unlock();
    expect(await redis.get(holder.keyOf(id))).toBe(token);

    // As if the holder stalled past the expiry and someone else took the key: its unlock leaves that one's lock.
    await redis.set(holder.keyOf(id), "someone-else", "PX", 10_000);
    await held.unlock();
    expect(await redis.get(holder.keyOf(id))).toBe("someone-else");
    await redis.del(holder.keyOf(id));
  });

  it("held by a replica that loses it (its key expired and was taken) asks its own request to stop", async () => {
    const locker = replica({ ttlMs: 1_000 });
    const id = randomUUID();
    const held = locker.newLock(id);
    const asked = jest.fn();
    await held.lock(live(), asked);
    await redis.set(locker.keyOf(id), "someone-else", "PX", 10_000);
    await eventually("the holder told to stop", async () => (asked.mock.calls.length > 0 ? true : undefined), 5_000);
    await held.unlock();
    expect(await redis.get(locker.keyOf(id))).toBe("someone-else");
    await redis.del(locker.keyOf(id));
  });

  it("stops waiting when the request's stop signal aborts, and takes nothing", async () => {
    const holder = replica();
    const waiter = replica();
    const id = randomUUID();
    const held = holder.newLock(id);
    await held.lock(live(), never);
    const token = await redis.get(holder.keyOf(id));

    const stop = new AbortController();
    const waiting = waiter.newLock(id).lock(stop.signal, never);
    expect(await stateOf(waiting)).toBe("pending");
    const started = Date.now();
    stop.abort();
    await expect(waiting).rejects.toBe(ERRORS.ERR_LOCK_TIMEOUT);
    expect(Date.now() - started).toBeLessThan(1_000);

    const aborted = new AbortController();
    aborted.abort();
    await expect(waiter.newLock(randomUUID()).lock(aborted.signal, never)).rejects.toBe(ERRORS.ERR_LOCK_TIMEOUT);

    expect(await redis.get(holder.keyOf(id))).toBe(token);
    await held.unlock();
    expect(await redis.exists(holder.keyOf(id))).toBe(0);
  });

  it("cannot be taken while Redis does not answer: a dependency's outage, not a busy upload", async () => {
    // Nothing listens there; like content's connection, commands wait in the offline queue.
    const down = new Redis(`redis://127.0.0.1:${await unusedPort()}`, { maxRetriesPerRequest: null, retryStrategy: () => 200 });
    down.on("error", () => undefined);
    const locker = new RedisLocker({ redis: down, prefix, acquireTimeoutMs: 300 });
    try {
      await expect(locker.newLock(randomUUID()).lock(live(), never)).rejects.toBeInstanceOf(LockStoreUnavailableError);
    } finally {
      // A connection closed while it reconnects emits no "end", which would close the locker by itself.
      locker.close();
      down.disconnect();
    }
  });

  it("left by a holder that died (never renewed) is taken once it expires", async () => {
    const locker = replica();
    const id = randomUUID();
    await redis.set(locker.keyOf(id), "a-dead-replica", "PX", 1_000);
    const started = Date.now();
    const lock = locker.newLock(id);
    await lock.lock(live(), never);
    expect(Date.now() - started).toBeGreaterThanOrEqual(800);
    expect(await redis.get(locker.keyOf(id))).not.toBe("a-dead-replica");
    await lock.unlock();
  });
});
