import { BUILD_COSTS, GOOD } from "../../subgraphs/simulation/src/engine/catalog";
import { applyCommands } from "../../subgraphs/simulation/src/engine/steps/apply-commands";
import type { World } from "../../subgraphs/simulation/src/engine/model";
import { aiCivs, citiesOf, command, fleetsOf, playerCiv, runSteps, setRelation, smallWorld } from "./simulation-fixtures";
import type { Command } from "../../subgraphs/simulation/src/engine/commands/command-types";

const apply = (world: World, ...commands: Command[]) => runSteps(world, [applyCommands], commands);

describe("commands: validated against the state, then applied or rejected with a reason", () => {
  it("BUILD pays the cost (a construction sink) and queues the order", () => {
    const world = smallWorld();
    const alice = playerCiv(world, "alice");
    const city = citiesOf(world, alice)[0]!;
    const ctx = apply(world, command(alice.id, "BUILD", { cityId: city.id, item: "factory" }));
    expect(ctx.results[0]).toMatchObject({ status: "APPLIED" });
    const after = ctx.index.civ.get(alice.id)!;
    expect(after.credits).toBe(alice.credits - BUILD_COSTS.factory.credits);
    expect(after.stock[GOOD.minerals]).toBe(alice.stock[GOOD.minerals]! - BUILD_COSTS.factory.minerals);
    expect(ctx.index.city.get(city.id)!.queue).toEqual([{ item: "factory", remaining: BUILD_COSTS.factory.work }]);
    expect(ctx.ledger.net("credits")).toBe(-BUILD_COSTS.factory.credits);
  });

  it("BUILD is rejected for someone else's city, without a shipyard, with a full queue, or without the money", () => {
    const world = smallWorld();
    const alice = playerCiv(world, "alice");
    const bob = playerCiv(world, "bob");
    const [capital, colony] = citiesOf(world, alice);
    const poor = smallWorld();
    playerCiv(poor, "alice").credits = 10;
    const reasons = (w: World, ...cs: Command[]) => apply(w, ...cs).results.map((r) => (r.status === "REJECTED" ? r.reason : r.status));
    expect(reasons(world, command(bob.id, "BUILD", { cityId: capital!.id, item: "farm" }))).toEqual(["NOT_OWNER"]);
    expect(reasons(world, command(alice.id, "BUILD", { cityId: colony!.id, item: "frigate" }))).toEqual(["REQUIRES_SHIPYARD"]);
    expect(reasons(world, command(alice.id, "BUILD", { cityId: capital!.id, item: "moon_base" }))).toEqual(["INVALID_PAYLOAD"]);
    expect(reasons(poor, command(alice.id, "BUILD", { cityId: capital!.id, item: "farm" }))).toEqual(["INSUFFICIENT_RESOURCES"]);
    const six = Array.from({ length: 6 }, () => command(alice.id, "BUILD", { cityId: capital!.id, item: "corvette" }));
    expect(reasons(world, ...six)).toEqual(["APPLIED", "APPLIED", "APPLIED", "APPLIED", "APPLIED", "QUEUE_FULL"]);
  });

  it("RESEARCH starts a technology whose prerequisites are known, and explains what is missing otherwise", () => {
    const world = smallWorld();
    const alice = playerCiv(world, "alice");
    const ctx = apply(
      world,
      command(alice.id, "RESEARCH", { techId: "tech-automation" }),
      command(alice.id, "RESEARCH", { techId: "tech-fusion" }),
      command(alice.id, "RESEARCH", { techId: "tech-fusion" }),
      command(alice.id, "RESEARCH", { techId: "tech-nothing" }),
    );
    expect(ctx.results.map((r) => (r.status === "REJECTED" ? r.reason : r.status))).toEqual(["PREREQUISITES_MISSING", "APPLIED", "NO_CHANGE", "NOT_FOUND"]);
    expect(ctx.results[0]).toMatchObject({ message: expect.stringContaining("tech-agronomy") });
    expect(ctx.index.civ.get(alice.id)!.researchId).toBe("tech-fusion");
  });

  it("MOVE_FLEET sets a destination only for the owner's fleet and a real system", () => {
    const world = smallWorld();
    const alice = playerCiv(world, "alice");
    const bob = playerCiv(world, "bob");
    const fleet = fleetsOf(world, alice)[0]!;
    const ctx = apply(
      world,
      command(bob.id, "MOVE_FLEET", { fleetId: fleet.id, systemId: bob.homeSystemId }),
      command(alice.id, "MOVE_FLEET", { fleetId: fleet.id, systemId: "sys-999999" }),
      command(alice.id, "MOVE_FLEET", { fleetId: fleet.id, systemId: alice.homeSystemId }),
      command(alice.id, "MOVE_FLEET", { fleetId: fleet.id, systemId: bob.homeSystemId }),
    );
    expect(ctx.results.map((r) => (r.status === "REJECTED" ? r.reason : r.status))).toEqual(["NOT_OWNER", "NOT_FOUND", "ALREADY_THERE", "APPLIED"]);
    expect(ctx.index.fleet.get(fleet.id)!.destinationId).toBe(bob.homeSystemId);
  });

  it("SET_TAX and SET_POLICY accept only values in range", () => {
    const world = smallWorld();
    const alice = playerCiv(world, "alice");
    const ctx = apply(
      world,
      command(alice.id, "SET_TAX", { rate: 80 }),
      command(alice.id, "SET_TAX", { rate: 12.5 }),
      command(alice.id, "SET_TAX", { rate: 35 }),
      command(alice.id, "SET_POLICY", { policy: "anarchy" }),
      command(alice.id, "SET_POLICY", { policy: "research" }),
    );
    expect(ctx.results.map((r) => r.status)).toEqual(["REJECTED", "REJECTED", "APPLIED", "REJECTED", "APPLIED"]);
    expect(ctx.index.civ.get(alice.id)).toMatchObject({ taxRate: 35, policy: "research" });
  });

  it("TRADE_ORDER posts to the own market; another market needs a trade treaty with someone based there", () => {
    const world = smallWorld();
    const alice = playerCiv(world, "alice");
    const bob = playerCiv(world, "bob");
    const other = { ...world.markets[0]!, id: "market-far", goods: world.markets[0]!.goods.map((g) => ({ ...g })) };
    world.markets.push(other);
    bob.marketId = other.id;
    const far = () => command(alice.id, "TRADE_ORDER", { good: "food", side: "buy", quantity: 1, marketId: other.id });
    const ctx = apply(
      world,
      command(alice.id, "TRADE_ORDER", { good: "food", side: "sell", quantity: 50 }),
      command(alice.id, "TRADE_ORDER", { good: "food", side: "sell", quantity: 5000 }),
      command(alice.id, "TRADE_ORDER", { good: "unobtainium", side: "buy", quantity: 1 }),
      far(),
    );
    expect(ctx.results.map((r) => (r.status === "REJECTED" ? r.reason : r.status))).toEqual(["APPLIED", "INSUFFICIENT_RESOURCES", "INVALID_PAYLOAD", "TREATY_FORBIDS"]);
    expect(ctx.orders).toEqual([{ holder: "civ", holderId: alice.id, marketId: alice.marketId, good: GOOD.food, side: "sell", quantity: 50, limitPrice: null }]);

    setRelation(world, alice.id, bob.id, { treaty: "trade" });
    const allowed = apply(world, far());
    expect(allowed.results[0]).toMatchObject({ status: "APPLIED" });
    expect(allowed.orders[0]).toMatchObject({ marketId: other.id, side: "buy" });
  });

  it("DIPLOMACY: war is declared at once unless a treaty forbids it; treaties need both sides", () => {
    const world = smallWorld();
    const alice = playerCiv(world, "alice");
    const bob = playerCiv(world, "bob");
    const ctx = apply(
      world,
      command(alice.id, "DIPLOMACY", { targetCivId: bob.id, action: "propose_treaty", treaty: "non_aggression" }),
      command(bob.id, "DIPLOMACY", { targetCivId: alice.id, action: "propose_treaty", treaty: "non_aggression" }),
      command(alice.id, "DIPLOMACY", { targetCivId: bob.id, action: "declare_war" }),
      command(alice.id, "DIPLOMACY", { targetCivId: bob.id, action: "cancel_treaty" }),
      command(alice.id, "DIPLOMACY", { targetCivId: bob.id, action: "declare_war" }),
      command(alice.id, "DIPLOMACY", { targetCivId: alice.id, action: "declare_war" }),
    );
    expect(ctx.results.map((r) => (r.status === "REJECTED" ? r.reason : r.status))).toEqual([
      "APPLIED",
      "APPLIED",
      "TREATY_FORBIDS",
      "APPLIED",
      "APPLIED",
      "INVALID_PAYLOAD",
    ]);
    expect(ctx.events.map((e) => e.type)).toEqual(expect.arrayContaining(["TREATY_SIGNED", "WAR_DECLARED"]));
  });

  it("DIPLOMACY: peace needs both sides to offer it; a treaty cannot be signed while at war", () => {
    const world = smallWorld();
    const alice = playerCiv(world, "alice");
    const bob = playerCiv(world, "bob");
    const ctx = apply(
      world,
      command(alice.id, "DIPLOMACY", { targetCivId: bob.id, action: "declare_war" }),
      command(bob.id, "DIPLOMACY", { targetCivId: alice.id, action: "propose_treaty", treaty: "trade" }),
      command(alice.id, "DIPLOMACY", { targetCivId: bob.id, action: "make_peace" }),
      command(bob.id, "DIPLOMACY", { targetCivId: alice.id, action: "make_peace" }),
      command(bob.id, "DIPLOMACY", { targetCivId: alice.id, action: "make_peace" }),
    );
    expect(ctx.results.map((r) => (r.status === "REJECTED" ? r.reason : r.status))).toEqual(["APPLIED", "TREATY_FORBIDS", "APPLIED", "APPLIED", "NO_CHANGE"]);
    expect(ctx.events.map((e) => e.type)).toEqual(["WAR_DECLARED", "COMMAND_REJECTED", "PEACE_MADE", "COMMAND_REJECTED"]);
    const relation = ctx.world.relations.find((r) => [r.a, r.b].includes(alice.id) && [r.a, r.b].includes(bob.id))!;
    expect(relation).toMatchObject({ atWar: false, offerFrom: null, offer: "none" });
    expect(relation.trust).toBeGreaterThanOrEqual(-100);
  });

  it("rejects unknown civilizations and command types, and a command id given twice", () => {
    const world = smallWorld();
    const ai = aiCivs(world)[0]!;
    const once = command(ai.id, "SET_TAX", { rate: 10 });
    const ctx = apply(world, command("civ-404", "SET_TAX", { rate: 10 }), command(ai.id, "TERRAFORM", {}), once, once);
    expect(ctx.results.map((r) => (r.status === "REJECTED" ? r.reason : r.status))).toEqual(["UNKNOWN_CIVILIZATION", "UNKNOWN_COMMAND", "APPLIED", "DUPLICATE_COMMAND"]);
    expect(ctx.events.filter((e) => e.type === "COMMAND_REJECTED")).toHaveLength(3);
    for (const r of ctx.results) if (r.status === "REJECTED") expect(r.message.length).toBeGreaterThan(0);
  });
});
