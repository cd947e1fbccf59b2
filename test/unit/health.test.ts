import { runReadinessChecks } from "../../packages/service-kit/src/health";

describe("runReadinessChecks", () => {
  it("is ready when every check passes", async () => {
    const report = await runReadinessChecks([
      { name: "database", check: async () => 1 },
      { name: "redis", check: () => Promise.resolve("PONG") },
    ]);
    expect(report).toEqual({ ready: true, checks: { database: "ok", redis: "ok" } });
  });

  it("is ready with no checks at all", async () => {
    await expect(runReadinessChecks([])).resolves.toEqual({ ready: true, checks: {} });
  });

  it("names a failing check with its error message and still reports the others", async () => {
    const report = await runReadinessChecks([
      { name: "database", check: async () => undefined },
      { name: "redis", check: async () => { throw new Error("connect ECONNREFUSED 127.0.0.1:6379"); } },
      { name: "identity", check: async () => "ok" },
    ]);
    expect(report).toEqual({
      ready: false,
      checks: { database: "ok", redis: "connect ECONNREFUSED 127.0.0.1:6379", identity: "ok" },
    });
  });

  it("reports a rejection that is not an Error as its string", async () => {
    const report = await runReadinessChecks([{ name: "queue", check: () => Promise.reject("queue is full") }]);
    expect(report).toEqual({ ready: false, checks: { queue: "queue is full" } });
  });

  it("reports a check that throws synchronously", async () => {
    const report = await runReadinessChecks([
      { name: "broken", check: () => { throw new Error("not configured"); } },
      { name: "database", check: async () => 1 },
    ]);
    expect(report).toEqual({ ready: false, checks: { broken: "not configured", database: "ok" } });
  });

  it("runs the checks concurrently", async () => {
    let running = 0;
    let peak = 0;
    const check = async () => {
      running += 1;
      peak = Math.max(peak, running);
      await new Promise((resolve) => setImmediate(resolve));
      running -= 1;
    };
    await runReadinessChecks([{ name: "a", check }, { name: "b", check }, { name: "c", check }]);
    expect(peak).toBe(3);
  });
});
