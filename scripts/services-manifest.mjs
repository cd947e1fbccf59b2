// services.json for npm start and npm run dev. prisma/migrate-all.mjs reads it itself (the
// image keeps no scripts/); the tests and benchmarks read it through test/testkit/services.ts,
// which also validates its shape.
import { readFileSync } from "node:fs";
import { join, resolve } from "node:path";

const repositoryRoot = resolve(import.meta.dirname, "..");

/** The manifest's services, in its order (the gateway, then the subgraphs as supergraph.yaml lists them). */
export function readServices(root = repositoryRoot) {
  return JSON.parse(readFileSync(join(root, "services.json"), "utf8")).services;
}

/** The TypeScript source a built entry point comes from: subgraphs/x/dist/main.js → subgraphs/x/src/main.ts. */
export const sourceOf = (main) => main.replace("/dist/", "/src/").replace(/\.js$/, ".ts");

/** "campaign/graphql" → { service: "campaign", path: "/graphql" }. */
export function urlTarget(target) {
  const slash = target.indexOf("/");
  return slash < 0 ? { service: target, path: "" } : { service: target.slice(0, slash), path: target.slice(slash) };
}
