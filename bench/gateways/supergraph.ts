import { composeServices } from "@apollo/composition";
import { SUBGRAPHS } from "./subgraphs";

/** The benchmark's supergraph, composed from our Node subgraphs, routed to where they listen. */
export function composeBenchSupergraph(urls: Record<string, string>): string {
  const result = composeServices(Object.entries(SUBGRAPHS).map(([name, { typeDefs }]) => ({ name, typeDefs, url: urls[name] })));
  if (result.errors?.length || !result.supergraphSdl) throw new Error(`composition failed: ${result.errors?.map((e) => e.message).join("; ")}`);
  return result.supergraphSdl;
}
