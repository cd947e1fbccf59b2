import { retryDelayMs, parseRetryAfter } from "@startales/service-kit";
import { availability, failed, freshHealth, started, succeeded, type HealthOptions } from "../../subgraphs/provider/src/routing/health";
import { groupChain, orderCandidates, weightedOrder } from "../../subgraphs/provider/src/routing/strategy";
import { seededRandom } from "../../subgraphs/provider/src/offline/rng";

const options: HealthOptions = { cooldownMs: 30_000, failureThreshold: 3, openMs: 60_000 };
const d = (name: string, priority = 0, weight = 1) => ({ name, priority, weight });

describe("deployment health: cooldown and circuit breaker", () => {
  it("rests after a 429 for its Retry-After, else for the cooldown; client errors change nothing", () => {
    const h = failed(started(freshHealth(), 0), "rate_limited", 1_000, options, 5_000);
    expect(availability(h, 5_999)).toBe("COOLDOWN");
    expect(availability(h, 6_000)).toBe("OK");
    const server = failed(started(freshHealth(), 0), "server", 0, options);
    expect(availability(server, 29_999)).toBe("COOLDOWN");
    const client = failed(started(freshHealth(), 0), "client", 0, options);
    expect(availability(client, 1)).toBe("OK");
    expect(client.inFlight).toBe(0);
  });

  it("opens the circuit after consecutive failures, lets one trial through half-open, closes on success, reopens on failure", () => {
    let h = freshHealth();
    for (let i = 0; i < 3; i++) h = failed(started(h, i), "timeout", i, options);
    expect(availability(h, 10)).toBe("CIRCUIT_OPEN");
    const later = 2 + 60_000;
    expect(availability(h, later)).toBe("HALF_OPEN");
    const trial = started(h, later);
    expect(availability(trial, later)).toBe("CIRCUIT_OPEN"); // nobody else while the trial runs
    expect(availability(succeeded(trial, 120), later)).toBe("OK");
    const reopened = failed(trial, "server", later, options);
    expect(availability(reopened, later + 59_000)).toBe("CIRCUIT_OPEN");
  });

  it("keeps a moving mean of latency and a count in flight", () => {
    let h = started(started(freshHealth(), 0), 0);
    expect(h.inFlight).toBe(2);
    h = succeeded(h, 100);
    h = succeeded(h, 200);
    expect(h.inFlight).toBe(0);
    expect(h.latencyMs).toBeCloseTo(130);
  });
});

describe("routing strategies", () => {
  const healthy = () => freshHealth();
  it("priority: lower number first, then by name; resting deployments are left out", () => {
    const resting = failed(freshHealth(), "server", 0, options);
    const health = (name: string) => (name === "b" ? resting : freshHealth());
    expect(orderCandidates([d("c", 1), d("b", 0), d("a", 0)], health, "priority", 10).map((c) => c.name)).toEqual(["a", "c"]);
  });

  it("least-latency and least-busy order within a priority tier", () => {
    const stats: Record<string, ReturnType<typeof freshHealth>> = {
      slow: succeeded(started(freshHealth(), 0), 900),
      fast: succeeded(started(freshHealth(), 0), 50),
      busy: started(started(freshHealth(), 0), 0),
    };
    const health = (name: string) => stats[name] ?? freshHealth();
    expect(orderCandidates([d("slow"), d("fast")], health, "least-latency", 0).map((c) => c.name)).toEqual(["fast", "slow"]);
    expect(orderCandidates([d("busy"), d("idle")], health, "least-busy", 0).map((c) => c.name)).toEqual(["idle", "busy"]);
    expect(orderCandidates([d("fallback", 5), d("busy")], health, "least-busy", 0).map((c) => c.name)).toEqual(["busy", "fallback"]);
  });

  it("weighted: each leads in proportion to its weight", () => {
    const random = seededRandom(42);
    const leads: Record<string, number> = { heavy: 0, light: 0 };
    for (let i = 0; i < 4_000; i++) leads[weightedOrder([d("heavy", 0, 3), d("light", 0, 1)], random)[0]!.name]!++;
    expect(leads.heavy! / 4_000).toBeGreaterThan(0.7);
    expect(leads.heavy! / 4_000).toBeLessThan(0.8);
    expect(orderCandidates([d("x"), d("y")], healthy, "weighted", 0, random)).toHaveLength(2);
  });

  it("falls back across groups: the group, its fallbacks (each once), then the kind's default", () => {
    expect(groupChain("premium", { premium: ["mid", "premium"], mid: ["cheap"] }, "text")).toEqual(["premium", "mid", "cheap", "text"]);
    expect(groupChain("text", {}, "text")).toEqual(["text"]);
  });
});

describe("retry backoff", () => {
  it("is full-jitter exponential, capped, and never sooner than Retry-After", () => {
    const top = () => 0.999999;
    expect(retryDelayMs(1, { baseMs: 1_000, maxMs: 60_000 }, top)).toBe(1_000);
    expect(retryDelayMs(4, { baseMs: 1_000, maxMs: 60_000 }, top)).toBe(8_000);
    expect(retryDelayMs(20, { baseMs: 1_000, maxMs: 60_000 }, top)).toBe(60_000);
    expect(retryDelayMs(1, { baseMs: 1_000, maxMs: 60_000, retryAfterMs: 7_000 }, () => 0)).toBe(7_000);
    const delays = new Set(Array.from({ length: 50 }, () => retryDelayMs(3, { baseMs: 1_000, maxMs: 60_000 })));
    expect(delays.size).toBeGreaterThan(10); // jittered: retries do not march in step
  });

  it("reads Retry-After as seconds or an HTTP date", () => {
    expect(parseRetryAfter("2")).toBe(2_000);
    expect(parseRetryAfter(new Date(10_000).toUTCString(), 4_000)).toBe(6_000);
    expect(parseRetryAfter("soon")).toBeNull();
    expect(parseRetryAfter(null)).toBeNull();
  });
});
