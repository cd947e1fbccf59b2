/**
 * Tick benchmark: generates 50-, 500- and 10,000-player worlds, runs a warm-up and then
 * timed ticks with a realistic trickle of player commands, and prints ms/tick (p50/p95),
 * cost per 1,000 players and the ratio to the 50-player per-player cost (the linearity
 * check), against the 1 s economy-tick target. Progress goes to stderr; the results also go
 * to bench/results/tick-<timestamp>.json. Bounded: each size stops after its time budget.
 *
 *   npx tsx bench/tick.ts            (or: npm run bench:tick)
 *   BENCH_SIZES=50,500 BENCH_BUDGET_S=20 npx tsx bench/tick.ts
 *
 * Exit code 1 when a size misses the target. Single-threaded: the tick runs on one core.
 */
import { performance } from "node:perf_hooks";
import { machine, printTable, progress, quantile, round, writeResults } from "./lib/report";
import { generateWorld, rngFor, tick, type Command, type World } from "../subgraphs/simulation/src/engine";

const TARGET_MS = 1000;
const SIZES = (process.env.BENCH_SIZES ?? "50,500,10000").split(",").map(Number);
/** Seconds of timed ticks per size, at most (the warm-up and generation come on top). */
const BUDGET_S = Number(process.env.BENCH_BUDGET_S ?? 45);
const WARMUP = 3;
const MAX_TICKS = 40;
const MIN_TICKS = 5;
/** Share of players who send a command in a given tick. */
const COMMAND_RATE = 0.02;

interface SizeResult {
  players: number;
  civilizations: number;
  entities: number;
  generateMs: number;
  ticks: number;
  p50: number;
  p95: number;
  msPer1000Players: number;
  usPerEntity: number;
  ratioTo50: number | null;
  targetMs: number;
  pass: boolean;
  stepsP50: Record<string, number>;
  eventsPerTick: number;
}

const entityCount = (w: World): number =>
  w.civilizations.length + w.systems.length + w.planets.length + w.cities.length + w.fleets.length + w.characters.length +
  w.markets.length + w.corporations.length + w.relations.length;

/** Where each player's commands point: built once per world size, outside the timing. */
interface Targets {
  players: World["civilizations"];
  city: Map<string, string>;
  fleet: Map<string, string>;
  home: Map<string, string>;
}

function targetsFor(world: World): Targets {
  const city = new Map<string, string>();
  const fleet = new Map<string, string>();
  for (const c of world.cities) if (!city.has(c.ownerId)) city.set(c.ownerId, c.id);
  for (const f of world.fleets) if (!fleet.has(f.ownerId)) fleet.set(f.ownerId, f.id);
  return {
    players: world.civilizations.filter((c) => c.playerId !== null),
    city,
    fleet,
    home: new Map(world.civilizations.map((c) => [c.id, c.homeSystemId])),
  };
}

/** A deterministic trickle of player commands: builds, fleet moves, trades, tax changes (some get rejected, as in play). */
function commandsFor(world: World, targets: Targets, t: number): Command[] {
  const rng = rngFor(`${world.seed}-bench`, t, "commands");
  const count = Math.max(1, Math.round(targets.players.length * COMMAND_RATE));
  const commands: Command[] = [];
  for (let i = 0; i < count; i++) {
    const civ = targets.players[rng.int(targets.players.length)]!;
    const id = `bench-${t}-${i}`;
    switch (rng.int(4)) {
      case 0:
        commands.push({ id, civId: civ.id, type: "BUILD", payload: { cityId: targets.city.get(civ.id), item: rng.pick(["farm", "mine", "corvette", "lab"]) } });
        break;
      case 1: {
        const neighbor = civ.neighbors[0];
        const destination = neighbor && rng.chance(0.5) ? targets.home.get(neighbor) : civ.homeSystemId;
        commands.push({ id, civId: civ.id, type: "MOVE_FLEET", payload: { fleetId: targets.fleet.get(civ.id), systemId: destination } });
        break;
      }
      case 2:
        commands.push({ id, civId: civ.id, type: "TRADE_ORDER", payload: { good: rng.pick(["food", "energy", "minerals"]), side: rng.pick(["buy", "sell"]), quantity: 10 + rng.int(40) } });
        break;
      default:
        commands.push({ id, civId: civ.id, type: "SET_TAX", payload: { rate: 10 + rng.int(25) } });
    }
  }
  return commands;
}

function benchSize(players: number, baselinePerPlayer: number | null): SizeResult {
  const ids = Array.from({ length: players }, (_, i) => `bench-player-${i}`);
  progress(`[${players} players] generating… `);
  let started = performance.now();
  let world = generateWorld({ seed: "bench-seed", playerIds: ids });
  const generateMs = performance.now() - started;
  const targets = targetsFor(world);
  progress(`${generateMs.toFixed(0)} ms, ${entityCount(world)} entities; warm-up`);
  for (let t = 0; t < WARMUP; t++) {
    world = tick(world, commandsFor(world, targets, world.tick + 1)).world;
    progress(".");
  }
  progress(" timing");

  const times: number[] = [];
  const steps = new Map<string, number[]>();
  let events = 0;
  const budgetEnd = performance.now() + BUDGET_S * 1000;
  while (times.length < MAX_TICKS && (times.length < MIN_TICKS || performance.now() < budgetEnd)) {
    const commands = commandsFor(world, targets, world.tick + 1);
    const perStep = new Map<string, number>();
    started = performance.now();
    const outcome = tick(world, commands, [], { profile: { clock: () => performance.now(), record: (name, ms) => perStep.set(name, (perStep.get(name) ?? 0) + ms) } });
    times.push(performance.now() - started);
    for (const [name, ms] of perStep) (steps.get(name) ?? steps.set(name, []).get(name)!).push(ms);
    events += outcome.events.length;
    world = outcome.world;
    if (times.length % 5 === 0) progress(` ${times.length}`);
  }
  progress(" done\n");

  const p50 = quantile(times, 0.5);
  const perPlayer = p50 / players;
  return {
    players,
    civilizations: world.civilizations.length,
    entities: entityCount(world),
    generateMs: Math.round(generateMs),
    ticks: times.length,
    p50: round(p50),
    p95: round(quantile(times, 0.95)),
    msPer1000Players: round(perPlayer * 1000),
    usPerEntity: round((p50 * 1000) / entityCount(world)),
    ratioTo50: baselinePerPlayer === null ? null : round(perPlayer / baselinePerPlayer),
    targetMs: TARGET_MS,
    pass: p50 < TARGET_MS,
    stepsP50: Object.fromEntries([...steps].map(([name, values]) => [name, round(quantile(values, 0.5))])),
    eventsPerTick: Math.round(events / times.length),
  };
}

function printResults(results: SizeResult[]): void {
  printTable(
    "tick: one economy tick per world size, against the 1 s budget",
    ["players", "entities", "ticks", "p50 ms", "p95 ms", "ms/1k players", "µs/entity", "ratio to 50", "target", "result"],
    results.map((r) => [
      String(r.players),
      String(r.entities),
      String(r.ticks),
      r.p50.toFixed(1),
      r.p95.toFixed(1),
      r.msPer1000Players.toFixed(2),
      r.usPerEntity.toFixed(2),
      r.ratioTo50 === null ? "1.00 (base)" : r.ratioTo50.toFixed(2),
      `< ${r.targetMs} ms`,
      r.pass ? "PASS" : "FAIL",
    ]),
  );
  const largest = results[results.length - 1];
  if (largest) {
    const parts = Object.entries(largest.stepsP50).map(([name, ms]) => `${name} ${ms.toFixed(1)}`);
    console.log(`\nsteps at ${largest.players} players (p50 ms): ${parts.join(", ")}`);
    console.log(`(ratio to 50 = per-player cost relative to the 50-player world; ≤ 1 means at most linear growth)`);
  }
}

function main(): void {
  const { node, cpu, cores, loadavg } = machine();
  progress(`node ${node}, ${cpu} ×${cores}, load ${loadavg.join(" ")}, budget ${BUDGET_S} s per size\n`);
  const results: SizeResult[] = [];
  let baseline: number | null = null;
  for (const players of SIZES) {
    const result = benchSize(players, baseline);
    if (baseline === null) baseline = result.p50 / players;
    results.push(result);
  }
  printResults(results);
  writeResults("tick", { budgetSeconds: BUDGET_S, results });
  if (results.some((r) => !r.pass)) process.exitCode = 1;
}

main();
