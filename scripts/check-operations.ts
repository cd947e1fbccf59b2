/**
 * Checks that the operations clients ship still run: every operation of the typed client's
 * catalogue (packages/client/operations) and of the tests (test/operations), and of any
 * persisted-operation manifest named, is validated against the API schema composed from
 * supergraph.yaml as the subgraph schemas are now, so a subgraph change is checked before
 * it is composed and deployed (docs/schema-changes.md). Without --dir, the internal calls
 * too: what one service sends straight to another subgraph (<package>/src/operations/<subgraph>/),
 * against that subgraph's schema and the API schema (checkInternalOperations).
 *   npm run check:operations
 *   npm run check:operations -- --dir <dir>          *.graphql of other directories instead (repeatable)
 *   npm run check:operations -- --manifest <file>    also a persisted query manifest, e.g. the safelist in production (repeatable)
 *   npm run check:operations -- --supergraph <file>  a composed supergraph instead of composing
 *   --config <file>                                  another supergraph.yaml
 * Fragments may be shared between the files of one directory. Exits 1 naming each failing
 * operation, its file and line, and the error. Uses of deprecated fields are printed, not failed.
 */
import { existsSync, readdirSync, readFileSync, statSync } from "node:fs";
import { dirname, join, relative, resolve } from "node:path";
import { buildSubgraphSchema } from "@apollo/subgraph";
import {
  GraphQLError,
  Kind,
  NoDeprecatedCustomRule,
  NoUnusedFragmentsRule,
  parse,
  Source,
  specifiedRules,
  validate,
  visit,
  type DefinitionNode,
  type DocumentNode,
  type FragmentDefinitionNode,
  type GraphQLSchema,
  type OperationDefinitionNode,
} from "graphql";
import { parse as parseYaml } from "yaml";
import { composeFromConfig } from "./compose";
import { graphqlFilesIn } from "./persisted-manifest";
import { apiSchemaOf } from "./schema-diff";

const root = resolve(__dirname, "..");

/** The directories checked by default: what the client ships, and what the tests send. */
export const DEFAULT_DIRS = [resolve(root, "packages", "client", "operations"), resolve(root, "test", "operations")];

export type Finding = { file: string; line?: number; column?: number; operation?: string; message: string };
export type OperationsReport = { operations: number; problems: Finding[]; deprecations: Finding[] };

/** Validation rules for a fragment on its own: it is used elsewhere, or reported as unused by the operations' check. */
const fragmentRules = specifiedRules.filter((rule) => rule !== NoUnusedFragmentsRule);

/**
 * Validates one set of operation files (fragments may live in any of them): each operation
 * with the fragments it uses, and each fragment no operation uses on its own.
 */
export function checkOperationFiles(schema: GraphQLSchema, files: { path: string; text: string }[]): OperationsReport {
  const report: OperationsReport = { operations: 0, problems: [], deprecations: [] };
  const seen = new Set<string>();
  const add = (list: Finding[], finding: Finding) => {
    const key = `${finding.file}:${finding.line}:${finding.column}:${finding.message}`;
    if (!seen.has(key)) list.push(finding);
    seen.add(key);
  };
  const definitions: DefinitionNode[] = [];
  for (const file of files) {
    try {
      definitions.push(...parse(new Source(file.text, file.path)).definitions);
    } catch (error) {
      add(report.problems, findingOf(error as GraphQLError, file.path));
    }
  }
  const fragments = new Map<string, FragmentDefinitionNode>();
  for (const definition of definitions) {
    if (definition.kind !== Kind.FRAGMENT_DEFINITION) continue;
    if (fragments.has(definition.name.value)) add(report.problems, at(definition, `fragment ${definition.name.value} is defined more than once`));
    else fragments.set(definition.name.value, definition);
  }
  const names = new Set<string>();
  const used = new Set<string>();
  for (const operation of definitions.filter((d): d is OperationDefinitionNode => d.kind === Kind.OPERATION_DEFINITION)) {
    report.operations++;
    const name = operation.name?.value;
    if (!name) add(report.problems, at(operation, "an operation without a name: clients, logs and the safelist know operations by name"));
    else if (names.has(name)) add(report.problems, at(operation, `operation ${name} is defined more than once`, name));
    if (name) names.add(name);
    const own = fragmentsUsedBy(operation, fragments);
    own.forEach((fragment) => used.add(fragment.name.value));
    const document: DocumentNode = { kind: Kind.DOCUMENT, definitions: [operation, ...own] };
    for (const error of validate(schema, document)) add(report.problems, findingOf(error, undefined, name));
    for (const error of validate(schema, document, [NoDeprecatedCustomRule])) add(report.deprecations, findingOf(error, undefined, name));
  }
  for (const fragment of fragments.values()) {
    if (used.has(fragment.name.value)) continue;
    const document: DocumentNode = { kind: Kind.DOCUMENT, definitions: [fragment, ...fragmentsUsedBy(fragment, fragments)] };
    for (const error of validate(schema, document, fragmentRules)) add(report.problems, findingOf(error, undefined, `fragment ${fragment.name.value}`));
  }
  return report;
}

/** Validates each operation of a persisted query manifest: the safelist a gateway enforces. */
export function checkManifest(schema: GraphQLSchema, path: string, text: string): OperationsReport {
  const manifest = JSON.parse(text) as { operations?: { id: string; name?: string; body: string }[] };
  if (!Array.isArray(manifest.operations)) return { operations: 0, problems: [{ file: path, message: "not a persisted query manifest (no operations)" }], deprecations: [] };
  // Lines and columns are then those of the operation's body.
  return merge(manifest.operations.map((operation) => checkOperationFiles(schema, [{ path: `${path} (body of ${operation.name ?? operation.id})`, text: operation.body }])));
}

/** The transitive fragments an operation (or fragment) spreads; unknown names are left to validation. */
function fragmentsUsedBy(start: DefinitionNode, fragments: Map<string, FragmentDefinitionNode>): FragmentDefinitionNode[] {
  const found = new Map<string, FragmentDefinitionNode>();
  const pending: DefinitionNode[] = [start];
  while (pending.length) {
    visit(pending.pop() as DefinitionNode, {
      FragmentSpread(spread) {
        const fragment = fragments.get(spread.name.value);
        if (!fragment || found.has(fragment.name.value) || fragment === start) return;
        found.set(fragment.name.value, fragment);
        pending.push(fragment);
      },
    });
  }
  return [...found.values()];
}

function at(node: DefinitionNode, message: string, operation?: string): Finding {
  return findingOf(new GraphQLError(message, { nodes: [node] }), undefined, operation);
}

/** Where an error is: its first node's file (each file is parsed as its own Source) and position. */
function findingOf(error: GraphQLError, file?: string, operation?: string): Finding {
  const source = error.nodes?.[0]?.loc?.source ?? error.source;
  const location = error.locations?.[0];
  return { file: source?.name ?? file ?? "?", line: location?.line, column: location?.column, operation, message: error.message };
}

const merge = (reports: OperationsReport[]): OperationsReport => ({
  operations: reports.reduce((sum, report) => sum + report.operations, 0),
  problems: reports.flatMap((report) => report.problems),
  deprecations: reports.flatMap((report) => report.deprecations),
});

/** Where services keep what they send to another subgraph: `<package>/src/operations/<subgraph>/*.graphql`. */
const INTERNAL_CALLERS = ["packages/*", "subgraphs/*", "gateway"];

export type InternalOperationDir = { dir: string; subgraph: string };

/** Every directory of internal documents under `base`, with the subgraph its documents are sent to. */
export function internalOperationDirs(base = root): InternalOperationDir[] {
  const callers = INTERNAL_CALLERS.flatMap((pattern) => {
    if (!pattern.endsWith("/*")) return [join(base, pattern)];
    const parent = join(base, pattern.slice(0, -2));
    return existsSync(parent) ? readdirSync(parent).sort().map((name) => join(parent, name)) : [];
  });
  return callers.flatMap((caller) => {
    const operations = join(caller, "src", "operations");
    if (!existsSync(operations)) return [];
    return readdirSync(operations)
      .sort()
      .filter((subgraph) => statSync(join(operations, subgraph)).isDirectory())
      .map((subgraph) => ({ dir: join(operations, subgraph), subgraph }));
  });
}

/**
 * The schema each subgraph of a supergraph.yaml serves, as its server builds it (federation's
 * _service and _entities included); a file that does not parse or build is left out and
 * reported by composition.
 */
export function subgraphSchemasOf(config: string): Map<string, GraphQLSchema> {
  const yaml = parseYaml(readFileSync(config, "utf8")) as { subgraphs?: Record<string, { schema: { file: string } }> };
  const schemas = new Map<string, GraphQLSchema>();
  for (const [name, subgraph] of Object.entries(yaml.subgraphs ?? {})) {
    try {
      schemas.set(name, buildSubgraphSchema(parse(readFileSync(resolve(dirname(config), subgraph.schema.file), "utf8"))));
    } catch {
      /* composition names the error */
    }
  }
  return schemas;
}

/**
 * Internal calls: each document of `<caller>/src/operations/<subgraph>/` is sent straight to
 * that subgraph with the caller's signed identity, never through the gateway, so the schema
 * that runs it is the subgraph's own: it must be valid there. It must be valid against the
 * API schema too: then every field a service depends on is public, so removing or changing
 * one goes through the deprecation window that schema:diff enforces rather than surprising a
 * caller. (A call that needed a field the API hides would be the first exception to make.)
 */
export function checkInternalOperations(dirs: InternalOperationDir[], subgraphs: Map<string, GraphQLSchema>, api: GraphQLSchema): OperationsReport {
  return merge(
    dirs.map(({ dir, subgraph }) => {
      const files = graphqlFilesIn(dir).map((path) => ({ path, text: readFileSync(path, "utf8") }));
      const schema = subgraphs.get(subgraph);
      if (!schema) return { operations: 0, problems: [{ file: dir, message: `no subgraph ${subgraph} in supergraph.yaml (or its schema does not build) to check these against` }], deprecations: [] };
      const served = labelled(checkOperationFiles(schema, files), `[${subgraph} subgraph]`);
      const published = labelled(checkOperationFiles(api, files), "[API schema]");
      return { operations: served.operations, problems: [...served.problems, ...published.problems], deprecations: [...served.deprecations, ...published.deprecations] };
    }),
  );
}

/** Findings saying which schema they are about. */
const labelled = (report: OperationsReport, label: string): OperationsReport => {
  const withLabel = (finding: Finding) => ({ ...finding, message: `${label} ${finding.message}` });
  return { operations: report.operations, problems: report.problems.map(withLabel), deprecations: report.deprecations.map(withLabel) };
};

/** `file:line:column  Operation: message`, the file relative to the working directory. */
export function formatFinding(finding: Finding): string {
  const where = [relative(process.cwd(), finding.file), finding.line, finding.column].filter((part) => part !== undefined).join(":");
  return `${where}  ${finding.operation ? `${finding.operation}: ` : ""}${finding.message}`;
}

function options(): { dirs: string[]; internal: boolean; manifests: string[]; supergraph?: string; config: string } {
  const args = process.argv.slice(2);
  const result = { dirs: [] as string[], internal: false, manifests: [] as string[], supergraph: undefined as string | undefined, config: resolve(root, "supergraph.yaml") };
  for (let i = 0; i < args.length; i++) {
    const flag = args[i] as string;
    const value = args[++i];
    if (!value) throw new Error(`${flag} needs a path`);
    if (flag === "--dir") result.dirs.push(resolve(value));
    else if (flag === "--manifest") result.manifests.push(resolve(value));
    else if (flag === "--supergraph") result.supergraph = resolve(value);
    else if (flag === "--config") result.config = resolve(value);
    else throw new Error(`unknown argument ${flag}`);
  }
  if (result.dirs.length === 0) Object.assign(result, { dirs: DEFAULT_DIRS, internal: true });
  return result;
}

function main(): void {
  const { dirs, internal, manifests, supergraph, config } = options();
  let sdl: string;
  if (supergraph) sdl = readFileSync(supergraph, "utf8");
  else {
    const composed = composeFromConfig(config);
    if (!composed.sdl) {
      console.error(`check-operations: ${relative(process.cwd(), config)} does not compose, so no operation can be checked:`);
      for (const line of composed.errors) console.error(`  ${line}`);
      process.exit(1);
    }
    sdl = composed.sdl;
  }
  const schema = apiSchemaOf(sdl);
  const report = merge([
    ...dirs.map((dir) => checkOperationFiles(schema, graphqlFilesIn(dir).map((path) => ({ path, text: readFileSync(path, "utf8") })))),
    ...manifests.map((path) => checkManifest(schema, path, readFileSync(path, "utf8"))),
  ]);
  const internalDirs = internal ? internalOperationDirs() : [];
  const internalReport = checkInternalOperations(internalDirs, internal ? subgraphSchemasOf(config) : new Map(), schema);
  for (const finding of [...report.deprecations, ...internalReport.deprecations]) console.warn(`  deprecated  ${formatFinding(finding)}`);
  for (const finding of [...report.problems, ...internalReport.problems]) console.error(`  INVALID     ${formatFinding(finding)}`);
  const checked = [...dirs, ...manifests].map((path) => relative(process.cwd(), path) || ".").join(", ");
  const internalChecked = internalDirs.map(({ dir }) => relative(process.cwd(), dir)).join(", ");
  if (report.problems.length) console.error(`check-operations: ${report.problems.length} problem(s) in ${report.operations} operations of ${checked}: a client sending them would fail`);
  else console.log(`check-operations: ${report.operations} operations of ${checked} are valid against the API schema`);
  if (internalReport.problems.length) {
    console.error(`check-operations: ${internalReport.problems.length} problem(s) in ${internalReport.operations} internal operations of ${internalChecked}: the service sending them would fail`);
  } else if (internal) {
    console.log(`check-operations: ${internalReport.operations} internal operations of ${internalChecked || "no directory"} are valid against their subgraph's schema and the API schema`);
  }
  if (report.problems.length || internalReport.problems.length) process.exit(1);
}

if (require.main === module) {
  try {
    main();
  } catch (error) {
    console.error(`check-operations: ${(error as Error).message}`);
    process.exit(1);
  }
}
