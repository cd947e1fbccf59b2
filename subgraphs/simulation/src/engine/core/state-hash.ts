import { createHash } from "node:crypto";
import type { World } from "../model";
import { cloneWorld } from "./clone-world";

/** Serialized text of frozen (static, shared between ticks) collections, computed once. */
const staticText = new WeakMap<object, string>();

const text = (value: unknown): string => {
  if (typeof value === "object" && value !== null && Object.isFrozen(value)) {
    let cached = staticText.get(value);
    if (cached === undefined) staticText.set(value, (cached = JSON.stringify(value)));
    return cached;
  }
  return JSON.stringify(value);
};

/**
 * Hashes a world whose objects all have sorted keys (as cloneWorld writes them): its plain
 * JSON is then its canonical serialization. Written key by key so that frozen static
 * collections are serialized once, not every tick. Internal: the tick hashes its own copy.
 */
export function hashCanonicalWorld(world: World): string {
  const hash = createHash("sha256");
  const keys = Object.keys(world);
  hash.update("{");
  keys.forEach((key, i) => {
    hash.update(`${i === 0 ? "" : ","}${JSON.stringify(key)}:`);
    hash.update(text(world[key as keyof World]));
  });
  hash.update("}");
  return hash.digest("hex");
}

/** The world in canonical JSON: keys sorted at every depth, whatever order the input had them in. */
export const serializeWorld = (world: World): string => JSON.stringify(cloneWorld(world));

/** sha256 (hex) of the canonical serialization: equal worlds, equal hashes. */
export const hashWorld = (world: World): string => hashCanonicalWorld(cloneWorld(world));
