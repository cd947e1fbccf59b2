import { tick } from "../../subgraphs/simulation/src/engine";
import { applyCommands } from "../../subgraphs/simulation/src/engine/steps/apply-commands";
import type { World } from "../../subgraphs/simulation/src/engine/model";
import { aiCivs, command, playerCiv, runSteps, smallWorld } from "./simulation-fixtures";
import type { Command } from "../../subgraphs/simulation/src/engine/commands/command-types";

const apply = (world: World, ...commands: Command[]) => runSteps(world, [applyCommands], commands);
const join = (playerId: string) => command("", "JOIN_CAMPAIGN", { playerId });
const leave = (playerId: string) => command("", "LEAVE_CAMPAIGN", { playerId });

describe("membership changes of a world in play (system commands)", () => {
  it("a member who joins late takes over the AI civilization with the lowest id, with all it has", () => {
    const world = smallWorld();
    const [first, second] = aiCivs(world).sort((a, b) => a.id.length - b.id.length || a.id.localeCompare(b.id));
    const ctx = apply(world, join("carol"));
    expect(ctx.results[0]).toMatchObject({ status: "APPLIED" });
    const claimed = ctx.index.civ.get(first!.id)!;
    expect(claimed.playerId).toBe("carol");
    expect({ credits: claimed.credits, stock: claimed.stock }).toEqual({ credits: first!.credits, stock: first!.stock });
    expect(ctx.index.civ.get(second!.id)!.playerId).toBeNull();
    expect(ctx.events).toContainEqual(expect.objectContaining({ type: "CIVILIZATION_CLAIMED", data: { civId: first!.id, playerId: "carol" } }));
  });

  it("refuses a second civilization for one player, and a join when no AI civilization is left", () => {
    const world = smallWorld();
    expect(apply(world, join("alice")).results[0]).toMatchObject({ status: "REJECTED", reason: "NO_CHANGE" });
    const ctx = apply(world, join("carol"), join("dave"), join("erin"));
    expect(ctx.results.map((r) => r.status === "REJECTED" && r.reason)).toEqual([false, false, "NO_FREE_CIVILIZATION"]);
  });

  it("a player who leaves hands their civilization back to the AI", () => {
    const world = smallWorld();
    const alice = playerCiv(world, "alice");
    const ctx = apply(world, leave("alice"));
    expect(ctx.results[0]).toMatchObject({ status: "APPLIED" });
    expect(ctx.index.civ.get(alice.id)!.playerId).toBeNull();
    expect(apply(world, leave("zed")).results[0]).toMatchObject({ status: "REJECTED", reason: "NO_CHANGE" });
  });

  it("conserves everything and replays identically (the hash of two runs agrees)", () => {
    const world = smallWorld();
    const once = tick(world, [join("carol")]);
    const twice = tick(world, [join("carol")]);
    expect(once.hash).toBe(twice.hash);
    expect(once.world.civilizations.filter((c) => c.playerId === "carol")).toHaveLength(1);
  });
});
