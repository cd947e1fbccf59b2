/**
 * Composes supergraph.graphql from supergraph.yaml, offline, with @apollo/composition.
 *   npm run compose              write supergraph.graphql
 *   npm run compose -- --check   exit 1 when the committed file differs from a fresh composition
 *   --config <file> --out <file>  other paths (default: supergraph.yaml, supergraph.graphql)
 * Composition errors are printed with the subgraph they come from.
 */
import { readFileSync, writeFileSync } from "node:fs";
import { resolve, dirname } from "node:path";
import { composeServices } from "@apollo/composition";
import { GraphQLError, parse } from "graphql";
import { parse as parseYaml } from "yaml";

type SupergraphYaml = { federation_version?: string; subgraphs: Record<string, { routing_url: string; schema: { file: string } }> };

const root = resolve(__dirname, "..");

function argument(name: string, fallback: string): string {
  const index = process.argv.indexOf(name);
  return index > 0 && process.argv[index + 1] ? resolve(process.argv[index + 1] as string) : resolve(root, fallback);
}

export function composeFromConfig(path: string): { sdl?: string; errors: string[] } {
  const config = parseYaml(readFileSync(path, "utf8")) as SupergraphYaml;
  const errors: string[] = [];
  const services = Object.entries(config.subgraphs ?? {}).flatMap(([name, subgraph]) => {
    const file = resolve(dirname(path), subgraph.schema.file);
    try {
      return [{ name, url: subgraph.routing_url, typeDefs: parse(readFileSync(file, "utf8")) }];
    } catch (error) {
      const where = error instanceof GraphQLError && error.locations?.[0] ? `:${error.locations[0].line}:${error.locations[0].column}` : "";
      errors.push(`[${name}] ${subgraph.schema.file}${where}: ${(error as Error).message}`);
      return [];
    }
  });
  if (errors.length) return { errors };
  const result = composeServices(services);
  if (result.errors) {
    return {
      errors: result.errors.map((error) => {
        // Composition messages usually name the subgraph as "[name]"; make sure each line does.
        const named = /\[[\w-]+\]/.test(error.message) ? "" : `[${subgraphsIn(error, services.map((s) => s.name)).join(", ") || "supergraph"}] `;
        return `${named}${error.extensions?.code ? `${String(error.extensions.code)}: ` : ""}${error.message}`;
      }),
    };
  }
  return { sdl: `${result.supergraphSdl.trimEnd()}\n`, errors: [] };
}

function subgraphsIn(error: GraphQLError, names: string[]): string[] {
  const sources = (error.nodes ?? []).map((node) => (node as { subgraph?: string }).subgraph).filter(Boolean) as string[];
  return sources.length ? [...new Set(sources)] : names.filter((name) => error.message.includes(name));
}

function main(): void {
  const check = process.argv.includes("--check");
  const outputPath = argument("--out", "supergraph.graphql");
  const { sdl, errors } = composeFromConfig(argument("--config", "supergraph.yaml"));
  if (!sdl) {
    console.error(`Composition failed with ${errors.length} error(s):`);
    for (const line of errors) console.error(`  ${line}`);
    process.exit(1);
  }
  if (check) {
    let committed = "";
    try {
      committed = readFileSync(outputPath, "utf8");
    } catch {
      /* missing counts as stale */
    }
    if (committed !== sdl) {
      console.error("supergraph.graphql is stale: a subgraph schema changed without recomposing. Run `npm run compose` and commit the result.");
      process.exit(1);
    }
    console.log("supergraph.graphql is up to date with supergraph.yaml");
    return;
  }
  writeFileSync(outputPath, sdl);
  console.log(`Composed ${outputPath}`);
}

if (require.main === module) main();
