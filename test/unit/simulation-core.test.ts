import { canonicalJson } from "../../subgraphs/simulation/src/engine/core/canonical-json";
import { Ledger } from "../../subgraphs/simulation/src/engine/core/ledger";
import { rngFor, sfc32 } from "../../subgraphs/simulation/src/engine/core/rng";
import { hashWorld, serializeWorld } from "../../subgraphs/simulation/src/engine/core/state-hash";
import { tick } from "../../subgraphs/simulation/src/engine/tick";
import { aiCivs, command, citiesOf, playerCiv, smallWorld } from "./simulation-fixtures";

describe("seeded random streams", () => {
  it("give the same draws for the same seed, tick and step, and different ones otherwise", () => {
    const draws = (seed: string, t: number, step: string) => {
      const rng = rngFor(seed, t, step);
      return Array.from({ length: 5 }, () => rng.next());
    };
    expect(draws("c1", 7, "combat")).toEqual(draws("c1", 7, "combat"));
    expect(draws("c1", 7, "combat")).not.toEqual(draws("c1", 8, "combat"));
    expect(draws("c1", 7, "combat")).not.toEqual(draws("c1", 7, "npc"));
    expect(draws("c1", 7, "combat")).not.toEqual(draws("c2", 7, "combat"));
  });

  it("stay in range and look uniform", () => {
    const rng = sfc32(1, 2, 3, 4);
    const buckets = [0, 0, 0, 0];
    for (let i = 0; i < 4000; i++) buckets[rng.range(3, 6) - 3]! += 1;
    expect(buckets.reduce((s, n) => s + n, 0)).toBe(4000); // nothing fell outside 3..6
    for (const count of buckets) expect(count).toBeGreaterThan(850);
    expect(() => rng.pick([])).toThrow(RangeError);
  });
});

describe("canonical serialization and the state hash", () => {
  it("sorts keys at every depth and refuses values JSON cannot carry", () => {
    expect(canonicalJson({ b: 1, a: { d: [2, { z: 1, y: null }], c: "x" } })).toBe('{"a":{"c":"x","d":[2,{"y":null,"z":1}]},"b":1}');
    expect(() => canonicalJson({ a: NaN })).toThrow(TypeError);
  });

  it("hashes equal worlds equally whatever order their keys were written in", () => {
    const world = smallWorld();
    const reordered = JSON.parse(canonicalJson(world), (_key, value: unknown) =>
      value && typeof value === "object" && !Array.isArray(value) ? Object.fromEntries(Object.entries(value).reverse()) : value,
    );
    expect(Object.keys(reordered)[0]).toBe("version");
    expect(hashWorld(reordered)).toBe(hashWorld(world));
    expect(hashWorld(world)).toMatch(/^[0-9a-f]{64}$/);
  });

  it("the tick's fast serialization is exactly the generic canonical JSON, for a world with every kind of entity", () => {
    let world = smallWorld();
    const alice = playerCiv(world, "alice");
    const ai = aiCivs(world)[0]!;
    const outcome = tick(
      world,
      [
        command(alice.id, "BUILD", { cityId: citiesOf(world, alice)[0]!.id, item: "corvette" }),
        command(alice.id, "DIPLOMACY", { targetCivId: aiCivs(world)[1]!.id, action: "propose_treaty", treaty: "trade" }),
        command(alice.id, "MOVE_FLEET", { fleetId: world.fleets.find((f) => f.ownerId === alice.id)!.id, systemId: ai.homeSystemId }),
      ],
      [{ civId: ai.id, kind: "production", magnitude: 10, ticks: 5 }],
    );
    world = outcome.world;
    expect(world.modifiers).toHaveLength(1);
    const target = aiCivs(smallWorld())[1]!.id;
    expect(world.relations.some((r) => [r.a, r.b].includes(alice.id) && [r.a, r.b].includes(target))).toBe(true); // answered by the AI already
    expect(JSON.stringify(world)).toBe(canonicalJson(world));
    for (let t = 0; t < 6; t++) world = tick(world).world;
    expect(JSON.stringify(world)).toBe(canonicalJson(world));
    expect(serializeWorld(world)).toBe(canonicalJson(world));
  });

  it("changes when any value changes", () => {
    const world = smallWorld();
    const before = hashWorld(world);
    world.civilizations[0]!.credits += 1;
    expect(hashWorld(world)).not.toBe(before);
  });
});

describe("the ledger", () => {
  it("nets sources against sinks per asset and lists non-zero entries", () => {
    const ledger = new Ledger();
    ledger.source("credits", "taxation", 50);
    ledger.sink("credits", "upkeep", 20);
    ledger.source("food", "production", 7);
    ledger.sink("food", "consumption", 0);
    expect(ledger.net("credits")).toBe(30);
    expect(ledger.net("food")).toBe(7);
    expect(ledger.net("alloys")).toBe(0);
    expect(ledger.entries()).toEqual([
      { asset: "credits", reason: "taxation", amount: 50 },
      { asset: "credits", reason: "upkeep", amount: -20 },
      { asset: "food", reason: "production", amount: 7 },
    ]);
    expect(() => ledger.source("credits", "taxation", -1)).toThrow(RangeError);
    expect(() => ledger.sink("credits", "upkeep", 0.5)).toThrow(RangeError);
  });
});
