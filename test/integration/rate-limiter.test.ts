import { randomUUID } from "node:crypto";
import { createServer, connect, type AddressInfo, type Server, type Socket } from "node:net";
import { setTimeout as sleep } from "node:timers/promises";
import { Redis, type RedisOptions } from "ioredis";
import { consumeTogether, createRateLimiter, type RateLimiterOptions } from "../../packages/service-kit/src/rate-limiter";
import { startPrivateRedis } from "../testkit/private-redis";

// The real Redis: the limiter's whole point is the Lua script and its atomicity there.
const REDIS_URL = process.env.REDIS_URL ?? "redis://127.0.0.1:6379";

describe("the Redis rate limiter (GCRA)", () => {
  const clients: Redis[] = [];
  const redisAt = (url = REDIS_URL, options: RedisOptions = {}) => {
    const client = new Redis(url, { maxRetriesPerRequest: null, ...options });
    client.on("error", () => undefined); // the unreachable case expects connection errors
    clients.push(client);
    return client;
  };
  // Connected before use: on a busy machine the connection alone can outlast the limiter's
  // 250 ms answer budget, and the first answer would then be "unavailable" instead.
  const connectedRedis = async (url = REDIS_URL) => {
    const client = redisAt(url);
    await client.ping();
    return client;
  };
  let redis: Redis;
  beforeAll(async () => {
    redis = await connectedRedis();
  });
  afterAll(() => Promise.all(clients.map((client) => (client.status === "end" ? undefined : client.quit()))));

  // A fresh namespace per test: suites run in parallel against the same Redis.
  const limiter = (policy: Partial<RateLimiterOptions> & { limit: number; periodMs: number }, client = redis) =>
    createRateLimiter(client, { prefix: `test:rate-limiter:${randomUUID()}:`, whenUnavailable: "deny", ...policy });

  it("allows up to the limit at once, then refuses with how long to wait", async () => {
    const limit = limiter({ limit: 3, periodMs: 60_000 });
    const decisions = [];
    for (let i = 0; i < 4; i++) decisions.push(await limit.consume("player"));
    expect(decisions.map((d) => [d.allowed, d.remaining])).toEqual([
      [true, 2],
      [true, 1],
      [true, 0],
      [false, 0],
    ]);
    const refused = decisions[3]!;
    // One unit comes back every period / limit = 20 s.
    expect(refused.retryAfterMs).toBeGreaterThan(0);
    expect(refused.retryAfterMs).toBeLessThanOrEqual(20_000);
    expect(refused.resetMs).toBeGreaterThan(40_000);
    expect(refused.unavailable).toBe(false);
    expect(decisions[0]!.retryAfterMs).toBe(0);
  });

  it("keeps separate budgets for separate keys", async () => {
    const limit = limiter({ limit: 1, periodMs: 60_000 });
    expect((await limit.consume("alice")).allowed).toBe(true);
    expect((await limit.consume("alice")).allowed).toBe(false);
    expect((await limit.consume("bob")).allowed).toBe(true);
  });

  it("charges costs above 1, and a refused charge records nothing", async () => {
    const limit = limiter({ limit: 10, periodMs: 60_000 });
    expect(await limit.consume("op", 4)).toMatchObject({ allowed: true, remaining: 6 });
    const refused = await limit.consume("op", 7);
    expect(refused).toMatchObject({ allowed: false, remaining: 6 });
    // 1 unit is missing: it returns after period / limit = 6 s at most.
    expect(refused.retryAfterMs).toBeGreaterThan(0);
    expect(refused.retryAfterMs).toBeLessThanOrEqual(6_000);
    expect(await limit.consume("op", 6)).toMatchObject({ allowed: true, remaining: 0 });
    expect((await limit.consume("op", 1)).allowed).toBe(false);
  });

  it("charges a cost above the whole budget as the whole budget", async () => {
    const limit = limiter({ limit: 10, periodMs: 60_000 });
    expect(await limit.consume("huge", 50)).toMatchObject({ allowed: true, remaining: 0 });
    expect((await limit.consume("huge", 1)).allowed).toBe(false);
  });

  it("serves again once the reported retry-after has passed", async () => {
    const limit = limiter({ limit: 2, periodMs: 1_000 });
    await limit.consume("burst");
    await limit.consume("burst");
    const refused = await limit.consume("burst");
    expect(refused.allowed).toBe(false);
    await sleep(refused.retryAfterMs);
    expect((await limit.consume("burst")).allowed).toBe(true);
    expect((await limit.consume("burst")).allowed).toBe(false);
  });

  it("answers a peek without charging, and reset restores the full budget", async () => {
    const limit = limiter({ limit: 2, periodMs: 60_000 });
    for (let i = 0; i < 5; i++) expect(await limit.peek("key")).toMatchObject({ allowed: true, remaining: 1 });
    await limit.consume("key", 2);
    expect(await limit.peek("key")).toMatchObject({ allowed: false, remaining: 0 });
    expect(await limit.reset("key")).toBe(true);
    expect(await limit.consume("key", 2)).toMatchObject({ allowed: true, remaining: 0 });
  });

  it("enforces one budget across two replicas sharing Redis, even under concurrent charges", async () => {
    const prefix = `test:rate-limiter:${randomUUID()}:`;
    const options = { prefix, limit: 20, periodMs: 60_000, whenUnavailable: "deny" } as const;
    const replicaA = createRateLimiter(await connectedRedis(), options);
    const replicaB = createRateLimiter(await connectedRedis(), options);
    const decisions = await Promise.all(Array.from({ length: 50 }, (_, i) => (i % 2 ? replicaA : replicaB).consume("shared")));
    expect(decisions.filter((d) => d.allowed)).toHaveLength(20);
    expect((await replicaA.consume("shared")).allowed).toBe(false);
    expect((await replicaB.consume("shared")).allowed).toBe(false);
  });

  it("charges several buckets in one call, all or none: a refusal charges nothing", async () => {
    // A Redis of its own: its command counts are this test's alone.
    const own = await startPrivateRedis();
    const client = await connectedRedis(own.url);
    try {
      const address = limiter({ limit: 3, periodMs: 60_000 }, client);
      const user = limiter({ limit: 2, periodMs: 60_000 }, client);
      const scriptCalls = async () => Number(/cmdstat_evalsha:calls=(\d+)/.exec(await client.info("commandstats"))?.[1] ?? 0);
      const together = () => consumeTogether([{ limiter: address, key: "10.0.0.1" }, { limiter: user, key: "alice" }]);
      // The first call loads the script (EVALSHA, then EVAL); count from the second.
      expect((await together()).map((d) => [d.allowed, d.remaining])).toEqual([[true, 2], [true, 1]]);
      const before = await scriptCalls();
      expect((await together()).map((d) => [d.allowed, d.remaining])).toEqual([[true, 1], [true, 0]]);
      expect((await scriptCalls()) - before).toBe(1);
      // The user's budget is spent: refused, and the address was not charged for it.
      const refused = await together();
      expect(refused.map((d) => d.allowed)).toEqual([true, false]);
      expect(refused[1]!.retryAfterMs).toBeGreaterThan(0);
      expect((await address.consume("10.0.0.1")).remaining).toBe(0);
      expect((await address.consume("10.0.0.1")).allowed).toBe(false);
      expect(await consumeTogether([])).toEqual([]);
    } finally {
      await client.quit();
      await own.stop();
    }
  });

  it("refuses to charge together limiters on different Redis clients", async () => {
    const other = redisAt();
    await expect(consumeTogether([{ limiter: limiter({ limit: 1, periodMs: 1_000 }), key: "a" }, { limiter: limiter({ limit: 1, periodMs: 1_000 }, other), key: "b" }])).rejects.toThrow(
      /share one Redis client/,
    );
  });

  it("rejects a policy or cost that makes no sense", async () => {
    expect(() => limiter({ limit: 0, periodMs: 1_000 })).toThrow(/invalid rate-limit policy/);
    expect(() => limiter({ limit: 1.5, periodMs: 1_000 })).toThrow(/invalid rate-limit policy/);
    await expect(limiter({ limit: 1, periodMs: 1_000 }).consume("key", 0)).rejects.toThrow(/positive/);
  });

  describe("when Redis cannot answer", () => {
    const closedPort = async () => {
      const server = createServer();
      await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
      const { port } = server.address() as AddressInfo;
      await new Promise((resolve) => server.close(resolve));
      return port;
    };

    it("fails open or closed exactly as configured, without hanging", async () => {
      // No reconnecting, so the test can end; the limiter answers the same while ioredis retries.
      const unreachable = redisAt(`redis://127.0.0.1:${await closedPort()}`, { retryStrategy: () => null });
      const open = createRateLimiter(unreachable, { prefix: "test:unreachable:", limit: 5, periodMs: 1_000, whenUnavailable: "allow", timeoutMs: 100 });
      const closed = createRateLimiter(unreachable, { prefix: "test:unreachable:", limit: 5, periodMs: 1_000, whenUnavailable: "deny", timeoutMs: 100 });
      expect(await open.consume("key")).toMatchObject({ allowed: true, unavailable: true, remaining: 5 });
      expect(await closed.consume("key")).toMatchObject({ allowed: false, unavailable: true, remaining: 0 });
      expect(await closed.reset("key")).toBe(false);
    });

    it("gives up on a connected Redis that stops answering, and recovers when it answers again", async () => {
      const proxy = await freezableProxy(new URL(REDIS_URL));
      const client = new Redis(`redis://127.0.0.1:${proxy.port}`, { maxRetriesPerRequest: null });
      try {
        await client.ping();
        const limit = limiter({ limit: 5, periodMs: 60_000, whenUnavailable: "allow", timeoutMs: 100 }, client);
        expect(await limit.consume("key")).toMatchObject({ allowed: true, unavailable: false, remaining: 4 });
        proxy.freeze();
        expect(await limit.consume("key")).toMatchObject({ allowed: true, unavailable: true });
        proxy.thaw();
        // The charge that timed out still reaches Redis late (it was on the wire): 5 - 3 = 2.
        expect(await limit.consume("key")).toMatchObject({ allowed: true, unavailable: false, remaining: 2 });
      } finally {
        await client.quit();
        await proxy.close();
      }
    });
  });
});

/** A TCP relay to the real Redis whose client-to-server direction can be paused: a hung network, not a fake Redis. */
async function freezableProxy(target: URL): Promise<{ port: number; freeze(): void; thaw(): void; close(): Promise<void> }> {
  const sockets: Socket[] = [];
  let frozen = false;
  const pending: [Socket, Buffer][] = [];
  const server: Server = createServer((socket) => {
    const upstream = connect(Number(target.port || 6379), target.hostname);
    sockets.push(socket, upstream);
    socket.on("data", (chunk) => {
      if (!frozen) upstream.write(chunk);
      else pending.push([upstream, chunk]);
    });
    upstream.on("data", (chunk) => socket.write(chunk));
    socket.on("error", () => upstream.destroy());
    upstream.on("error", () => socket.destroy());
    socket.on("close", () => upstream.destroy());
    upstream.on("close", () => socket.destroy());
  });
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  return {
    port: (server.address() as AddressInfo).port,
    freeze: () => {
      frozen = true;
    },
    thaw: () => {
      frozen = false;
      for (const [upstream, chunk] of pending.splice(0)) upstream.write(chunk);
    },
    close: () => {
      for (const socket of sockets) socket.destroy();
      return new Promise((resolve) => server.close(() => resolve()));
    },
  };
}
