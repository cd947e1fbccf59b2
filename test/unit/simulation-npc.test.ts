import { MODIFIER_BOUNDS } from "../../subgraphs/simulation/src/engine/catalog";
import { npcDecisions } from "../../subgraphs/simulation/src/engine/steps/npc-decisions";
import { chooseResearch } from "../../subgraphs/simulation/src/engine/ai/utility";
import { aiCivs, citiesOf, command, playerCiv, relationBetween, runSteps, setRelation, smallWorld } from "./simulation-fixtures";
import { applyCommands } from "../../subgraphs/simulation/src/engine/steps/apply-commands";

describe("NPC decisions (rule-based utility AI)", () => {
  it("AI civilizations choose research by personality; players' civilizations are left alone", () => {
    const world = smallWorld();
    const ctx = runSteps(world, [npcDecisions]);
    for (const ai of aiCivs(world)) expect(ctx.index.civ.get(ai.id)!.researchId).not.toBeNull();
    expect(ctx.index.civ.get(playerCiv(world, "alice").id)!.researchId).toBeNull();
    const scholar = { ...aiCivs(world)[0]!, personality: "scholar" as const, techs: ["tech-fusion", "tech-sensors"] };
    expect(chooseResearch(scholar, world.techs)!.effect).toBe("research");
    const warlord = { ...scholar, personality: "warlord" as const };
    expect(["weapons", "speed"]).toContain(chooseResearch(warlord, world.techs)!.effect);
  });

  it("an AI short of food queues a farm", () => {
    const world = smallWorld();
    const ai = aiCivs(world)[0]!;
    ai.personality = "builder";
    for (const city of citiesOf(world, ai)) {
      city.population = 120;
      city.buildings.farm = 0;
    }
    const ctx = runSteps(world, [npcDecisions]);
    const queued = citiesOf(ctx.world, ai).flatMap((c) => c.queue.map((o) => o.item));
    expect(queued).toEqual(["farm"]);
  });

  it("an AI accepts a trade treaty from someone it trusts and declines one from someone it does not", () => {
    const world = smallWorld();
    const alice = playerCiv(world, "alice");
    const bob = playerCiv(world, "bob");
    const [trusting, wary] = aiCivs(world);
    trusting!.personality = "merchant";
    wary!.personality = "merchant";
    setRelation(world, alice.id, trusting!.id, { trust: 30 });
    setRelation(world, bob.id, wary!.id, { trust: -40 });
    const ctx = runSteps(
      world,
      [applyCommands, npcDecisions],
      [
        command(alice.id, "DIPLOMACY", { targetCivId: trusting!.id, action: "propose_treaty", treaty: "trade" }),
        command(bob.id, "DIPLOMACY", { targetCivId: wary!.id, action: "propose_treaty", treaty: "trade" }),
      ],
    );
    const relation = (x: string, y: string) => relationBetween(ctx.world, x, y)!;
    expect(relation(alice.id, trusting!.id).treaty).toBe("trade");
    expect(relation(bob.id, wary!.id)).toMatchObject({ treaty: "none", offerFrom: null });
  });

  it("an AI at war sends its largest fleet to the enemy's home system", () => {
    const world = smallWorld();
    const [ai, enemy] = aiCivs(world);
    setRelation(world, ai!.id, enemy!.id, { trust: -80, atWar: true });
    const ctx = runSteps(world, [npcDecisions]);
    const moving = ctx.world.fleets.filter((f) => f.ownerId === ai!.id && f.destinationId === enemy!.homeSystemId);
    expect(moving).toHaveLength(1);
  });

  it("advice becomes bounded modifiers, for AI civilizations only, at most a few at a time", () => {
    const world = smallWorld();
    const ai = aiCivs(world)[0]!;
    const alice = playerCiv(world, "alice");
    const advice = [
      { civId: ai.id, kind: "production" as const, magnitude: 500, ticks: 999 },
      { civId: ai.id, kind: "stability" as const, magnitude: -7.4, ticks: 3 },
      { civId: alice.id, kind: "research" as const, magnitude: 10, ticks: 3 },
      { civId: ai.id, kind: "research" as const, magnitude: 5, ticks: 2 },
      { civId: ai.id, kind: "trade" as const, magnitude: 5, ticks: 2 },
    ];
    const ctx = runSteps(world, [npcDecisions], [], advice);
    expect(ctx.world.modifiers.map((m) => [m.targetId, m.kind, m.magnitude, m.remainingTicks])).toEqual([
      [ai.id, "production", MODIFIER_BOUNDS.magnitude, MODIFIER_BOUNDS.ticks],
      [ai.id, "stability", -7, 3],
      [ai.id, "research", 5, 2],
    ]);
  });

  it("characters gain experience, level up at 1000 × level^1.5 XP, and drift toward their civilization's mood", () => {
    const world = smallWorld();
    const character = world.characters.find((c) => c.role === "admiral")!;
    character.xp = 995;
    character.level = 1;
    character.loyalty = 90;
    world.civilizations.find((c) => c.id === character.civId)!.stability = 40;
    const ctx = runSteps(world, [npcDecisions]);
    const after = ctx.world.characters.find((c) => c.id === character.id)!;
    expect(after).toMatchObject({ xp: 1005, level: 2, loyalty: 89 });
    expect(ctx.events).toContainEqual({ type: "CHARACTER_LEVELED", tick: 1, data: { characterId: character.id, civId: character.civId, level: 2 } });
  });
});
