import { readFileSync } from "node:fs";

// The authorization specs the subgraphs enforce themselves (packages/service-kit/src/authorization.ts).
const SUBGRAPH_ENFORCED = ["authenticated", "requiresScopes", "policy"];
const SECURITY_LINK = new RegExp(`(@link\\(url: "https://specs\\.apollo\\.dev/(?:${SUBGRAPH_ENFORCED.join("|")})/v[\\d.]+"), for: SECURITY\\)`, "g");

/**
 * Reads the composed supergraph for @apollo/gateway. The gateway refuses a supergraph whose
 * `for: SECURITY` features it cannot enforce, as a router should. In Startales the owning
 * subgraph enforces @authenticated, @requiresScopes and @policy on every field it resolves
 * (including `_entities`), so for the gateway those links are documentation: they are
 * loaded without the SECURITY purpose. Any other unsupported security feature still stops it.
 */
export function loadSupergraphSdl(path: string): string {
  return readFileSync(path, "utf8").replace(SECURITY_LINK, "$1)");
}
