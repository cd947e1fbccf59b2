import type { Command } from "../../subgraphs/simulation/src/engine/commands/command-types";
import { hashWorld } from "../../subgraphs/simulation/src/engine/core/state-hash";
import { generateWorld } from "../../subgraphs/simulation/src/engine/generation/generate-world";
import type { World } from "../../subgraphs/simulation/src/engine/model";
import { replay, type TickInput } from "../../subgraphs/simulation/src/engine/replay";
import { tick } from "../../subgraphs/simulation/src/engine/tick";
import { command, deepFreeze } from "./simulation-fixtures";

const params = (seed: string) => ({ seed, playerIds: Array.from({ length: 30 }, (_, i) => `p${i}`) });

/** A scripted campaign: players build, research, tax, trade, fight and make treaties. */
function script(world: World): Map<number, TickInput> {
  const players = world.civilizations.filter((c) => c.playerId !== null);
  const [a, b, c] = players;
  const city = (civId: string) => world.cities.find((x) => x.ownerId === civId)!.id;
  const fleet = (civId: string) => world.fleets.find((x) => x.ownerId === civId)!.id;
  const log = new Map<number, TickInput>();
  log.set(1, [
    command(a!.id, "BUILD", { cityId: city(a!.id), item: "frigate" }),
    command(a!.id, "RESEARCH", { techId: "tech-fusion" }),
    command(b!.id, "SET_TAX", { rate: 35 }),
    command(b!.id, "DIPLOMACY", { targetCivId: a!.id, action: "declare_war" }),
    command(b!.id, "MOVE_FLEET", { fleetId: fleet(b!.id), systemId: a!.homeSystemId }),
    command(c!.id, "BUILD", { cityId: city(c!.id), item: "moon_base" }), // rejected, still part of the log
  ]);
  log.set(3, { commands: [command(c!.id, "TRADE_ORDER", { good: "minerals", side: "sell", quantity: 40 })], advice: [{ civId: world.civilizations.find((x) => x.playerId === null)!.id, kind: "production", magnitude: 15, ticks: 4 }] });
  log.set(6, [command(a!.id, "SET_POLICY", { policy: "military" })]);
  return log;
}

function run(seed: string, ticks: number): { world: World; hashes: string[]; events: number } {
  let world = generateWorld(params(seed));
  const log = script(world);
  const hashes: string[] = [];
  let events = 0;
  for (let t = 1; t <= ticks; t++) {
    const input = log.get(t) ?? [];
    const outcome = "commands" in input ? tick(world, input.commands, input.advice) : tick(world, input);
    world = outcome.world;
    hashes.push(outcome.hash);
    events += outcome.events.length;
  }
  return { world, hashes, events };
}

describe("determinism", () => {
  it("the same seed and commands give the same hash at every tick, across two runs", () => {
    const first = run("alpha", 15);
    const second = run("alpha", 15);
    expect(second.hashes).toEqual(first.hashes);
    expect(new Set(first.hashes).size).toBe(15); // the world does change each tick
    expect(first.events).toBeGreaterThan(15);
  });

  it("a different seed gives a different world and different hashes", () => {
    expect(run("beta", 3).hashes[2]).not.toBe(run("alpha", 3).hashes[2]);
  });

  it("the tick's hash is the hash of the world it returns", () => {
    const outcome = tick(generateWorld(params("alpha")));
    expect(outcome.hash).toBe(hashWorld(outcome.world));
  });

  it("never changes the world it is given (a deep-frozen world ticks fine and hashes the same after)", () => {
    const world = generateWorld(params("alpha"));
    const before = hashWorld(world);
    deepFreeze(world);
    const outcome = tick(world, script(world).get(1) as Command[]);
    expect(hashWorld(world)).toBe(before);
    expect(outcome.world.tick).toBe(1);
    expect(tick(world, script(world).get(1) as Command[]).hash).toBe(outcome.hash);
  });

  it("replaying the command log from generation reproduces every tick's hash (event sourcing)", () => {
    const live = run("alpha", 12);
    const log = script(generateWorld(params("alpha")));
    const replayed = replay(params("alpha"), log, 12);
    expect(replayed.hashes).toEqual(live.hashes);
    expect(replayed.hash).toBe(live.hashes[11]);
    expect(replayed.world.tick).toBe(12);
    expect(replay(params("alpha"), log).world.tick).toBe(6); // by default up to the log's last tick
  });

  it("a different command log diverges", () => {
    const log = script(generateWorld(params("alpha")));
    log.set(2, [command("civ-1", "SET_TAX", { rate: 5 })]);
    expect(replay(params("alpha"), log, 12).hash).not.toBe(run("alpha", 12).hashes[11]);
  });
});
