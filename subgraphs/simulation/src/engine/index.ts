/** The simulation engine: pure, deterministic, no I/O. See tick.ts for the tick order. */
export * from "./catalog";
export * from "./model";
export * from "./events";
export * from "./commands/command-types";
export { rngFor, sfc32, type Rng } from "./core/rng";
export { canonicalJson } from "./core/canonical-json";
export { hashWorld, serializeWorld } from "./core/state-hash";
export { ConservationError } from "./core/conservation-error";
export { Ledger, SOURCES, SINKS, ASSETS, type Asset, type LedgerEntry, type Source, type Sink } from "./core/ledger";
export { assetTotals } from "./core/asset-totals";
export { cloneWorld } from "./core/clone-world";
export { generateWorld, type GenerationOptions, type WorldParamsInput } from "./generation/generate-world";
export { tick, TICK_STEPS, type TickOptions, type TickOutcome } from "./tick";
export type { TickStep } from "./steps/tick-step";
export type { AdviceModifier, TickContext, TradeOrder } from "./tick-context";
export { replay, type CommandLog, type TickInput } from "./replay";
export { createGalaxyMapReader, galaxyMapFor, sensorRange, type GalaxyMap, type MapFleet, type MapSystem } from "./read-models/galaxy-map";
export { leaderboard, type LeaderboardEntry } from "./read-models/leaderboard";
