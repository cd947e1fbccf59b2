/**
 * Builds the gateway's operation safelist (Apollo's persisted query manifest) from the
 * operations a client ships, so they can be registered before the client is released.
 *   npx tsx scripts/persisted-manifest.ts                       the client's catalogue (packages/client/operations) to stdout
 *   npx tsx scripts/persisted-manifest.ts --out manifest.json  write a file (the build writes packages/client/persisted-operations.json)
 *   npx tsx scripts/persisted-manifest.ts --dir test/operations  every *.graphql of another directory
 *   npx tsx scripts/persisted-manifest.ts a.graphql b.graphql  other operation files
 * Fragments may live in any of the files. Each operation's body is normalized (see
 * normalizeOperation) with the fragments it uses; its id is the SHA-256 of the body, the
 * hash a client sends as extensions.persistedQuery.sha256Hash.
 */
import { readFileSync, readdirSync, writeFileSync } from "node:fs";
import { join, resolve } from "node:path";
import { Kind, parse, visit, type DefinitionNode, type FragmentDefinitionNode, type OperationDefinitionNode } from "graphql";
import { normalizeOperation, sha256, type OperationManifest } from "../gateway/src/plugins/persisted-operations";

const root = resolve(__dirname, "..");

export function buildManifest(sources: { path: string; text: string }[]): OperationManifest {
  const definitions: DefinitionNode[] = sources.flatMap(({ path, text }) => {
    try {
      return [...parse(text).definitions];
    } catch (error) {
      throw new Error(`${path}: ${(error as Error).message}`);
    }
  });
  const fragments = new Map<string, FragmentDefinitionNode>();
  for (const definition of definitions) {
    if (definition.kind !== Kind.FRAGMENT_DEFINITION) continue;
    if (fragments.has(definition.name.value)) throw new Error(`fragment ${definition.name.value} is defined twice`);
    fragments.set(definition.name.value, definition);
  }
  const operations = definitions.filter((d): d is OperationDefinitionNode => d.kind === Kind.OPERATION_DEFINITION);
  const names = new Set<string>();
  return {
    format: "apollo-persisted-query-manifest",
    version: 1,
    operations: operations.map((operation) => {
      const name = operation.name?.value;
      if (!name) throw new Error("every shipped operation needs a name");
      if (names.has(name)) throw new Error(`operation ${name} is defined twice`);
      names.add(name);
      const body = normalizeOperation({ kind: Kind.DOCUMENT, definitions: [operation, ...fragmentsUsedBy(operation, fragments)] });
      return { id: sha256(body), name, type: operation.operation, body };
    }),
  };
}

/** The fragments an operation spreads, directly or through other fragments. */
function fragmentsUsedBy(operation: OperationDefinitionNode, fragments: Map<string, FragmentDefinitionNode>): FragmentDefinitionNode[] {
  const used = new Map<string, FragmentDefinitionNode>();
  const pending: DefinitionNode[] = [operation];
  while (pending.length) {
    visit(pending.pop() as DefinitionNode, {
      FragmentSpread(spread) {
        const name = spread.name.value;
        const fragment = fragments.get(name);
        if (!fragment) throw new Error(`fragment ${name} is not defined`);
        if (used.has(name)) return;
        used.set(name, fragment);
        pending.push(fragment);
      },
    });
  }
  return [...used.values()];
}

/** What a client ships by default: the typed client's catalogue. */
export const CATALOGUE_DIR = join(root, "packages", "client", "operations");

/** The *.graphql files of a directory, sorted, so that the manifest does not depend on the file system's order. */
export const graphqlFilesIn = (dir: string): string[] =>
  readdirSync(dir)
    .filter((f) => f.endsWith(".graphql"))
    .sort()
    .map((f) => join(dir, f));

function main(): void {
  let out: string | undefined;
  let dir = CATALOGUE_DIR;
  const files: string[] = [];
  const args = process.argv.slice(2);
  for (let i = 0; i < args.length; i++) {
    const arg = args[i] as string;
    if (arg !== "--out" && arg !== "--dir") {
      files.push(resolve(arg));
      continue;
    }
    const value = args[++i];
    if (!value) throw new Error(`${arg} needs a path`);
    if (arg === "--out") out = value;
    else dir = resolve(value);
  }
  const paths = files.length ? files : graphqlFilesIn(dir);
  const manifest = buildManifest(paths.map((path) => ({ path, text: readFileSync(path, "utf8") })));
  const json = `${JSON.stringify(manifest, null, 2)}\n`;
  if (out) {
    writeFileSync(out, json);
    console.error(`Wrote ${manifest.operations.length} operations to ${out}`);
  } else process.stdout.write(json);
}

if (require.main === module) main();
