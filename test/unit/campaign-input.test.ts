import { createCampaignInput } from "../../subgraphs/campaign/src/domain/input";

const HEX16 = /^[0-9a-f]{16}$/;

function issuesOf(value: unknown) {
  const result = createCampaignInput.safeParse(value);
  if (result.success) throw new Error(`expected ${JSON.stringify(value)} to be rejected`);
  return result.error.issues.map((i) => ({ field: i.path.join("."), message: i.message }));
}

describe("createCampaignInput", () => {
  it("fills in defaults for omitted settings and trims the name", () => {
    const parsed = createCampaignInput.parse({ name: "  Orion Spur  " });
    expect(parsed.name).toBe("Orion Spur");
    expect(parsed.tickRateMs).toBe(1000);
    expect(parsed.maxPlayers).toBe(50);
    expect(parsed.seed).toMatch(HEX16);
  });

  it("treats null as omitted", () => {
    const parsed = createCampaignInput.parse({ name: "Orion", tickRateMs: null, maxPlayers: null, seed: null });
    expect(parsed.tickRateMs).toBe(1000);
    expect(parsed.maxPlayers).toBe(50);
    expect(parsed.seed).toMatch(HEX16);
  });

  it("generates a different seed each time", () => {
    const seeds = new Set(Array.from({ length: 20 }, () => createCampaignInput.parse({ name: "Orion" }).seed));
    expect(seeds.size).toBe(20);
  });

  it("keeps the values it is given, trimming the seed", () => {
    expect(createCampaignInput.parse({ name: "Orion", tickRateMs: 250, maxPlayers: 8, seed: "  galaxy-42 " })).toEqual({
      name: "Orion",
      tickRateMs: 250,
      maxPlayers: 8,
      seed: "galaxy-42",
    });
  });

  it.each([
    [{ name: "abc" }],
    [{ name: "x".repeat(64) }],
    [{ name: "Orion", tickRateMs: 100 }],
    [{ name: "Orion", tickRateMs: 3_600_000 }],
    [{ name: "Orion", maxPlayers: 2 }],
    [{ name: "Orion", maxPlayers: 10_000 }],
    [{ name: "Orion", seed: "s" }],
    [{ name: "Orion", seed: "s".repeat(64) }],
  ])("accepts the bound %p", (input) => {
    expect(createCampaignInput.safeParse(input).success).toBe(true);
  });

  it.each([
    ["name", { name: "ab" }, "must be at least 3 characters"],
    ["name", { name: "  ab  " }, "must be at least 3 characters"],
    ["name", { name: "x".repeat(65) }, "must be at most 64 characters"],
    ["tickRateMs", { name: "Orion", tickRateMs: 99 }, "must be at least 100"],
    ["tickRateMs", { name: "Orion", tickRateMs: 3_600_001 }, "must be at most 3600000"],
    ["maxPlayers", { name: "Orion", maxPlayers: 1 }, "must be at least 2"],
    ["maxPlayers", { name: "Orion", maxPlayers: 10_001 }, "must be at most 10000"],
    ["seed", { name: "Orion", seed: "   " }, "must not be empty"],
    ["seed", { name: "Orion", seed: "s".repeat(65) }, "must be at most 64 characters"],
  ])("rejects %s out of bounds in %p", (field, input, message) => {
    expect(issuesOf(input)).toEqual([{ field, message }]);
  });

  it.each([
    ["tickRateMs", { name: "Orion", tickRateMs: 250.5 }],
    ["maxPlayers", { name: "Orion", maxPlayers: 4.2 }],
    ["maxPlayers", { name: "Orion", maxPlayers: "8" }],
    ["name", { name: 42 }],
    ["name", {}],
  ])("rejects a wrongly typed %s in %p", (field, input) => {
    expect(issuesOf(input).map((i) => i.field)).toEqual([field]);
  });

  it("lists every bad field at once", () => {
    expect(issuesOf({ name: "x", tickRateMs: 1, maxPlayers: 1 }).map((i) => i.field)).toEqual(["name", "tickRateMs", "maxPlayers"]);
  });
});
