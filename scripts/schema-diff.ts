/**
 * Schema evolution check: the public API must only grow. Compares the API schema (what
 * clients see: no federation machinery) of supergraph.graphql with the one at a base, and
 * fails on any breaking change, except removing or changing what the base had deprecated
 * with a removal date that has passed (README, Versioning):
 *   @deprecated(reason: "Use `foo`; removal after 2026-09-30")
 * It also fails on a new deprecation without such a date: every deprecation has a window.
 *   npm run schema:diff                       base: git show HEAD:supergraph.graphql
 *   npm run schema:diff -- --base-ref <ref>   base: the file at a git ref (CI: the target branch)
 *   npm run schema:diff -- --base <file>      base: a supergraph file
 *   --schema <file>                           the new supergraph (default: supergraph.graphql)
 * Dangerous changes (e.g. a new enum value, a changed default) are printed, not failed.
 */
import { execFileSync } from "node:child_process";
import { readFileSync } from "node:fs";
import { relative, resolve } from "node:path";
import { Supergraph } from "@apollo/federation-internals";
import { CriticalityLevel, diff } from "@graphql-inspector/core";
import {
  getNamedType,
  isEnumType,
  isInputObjectType,
  isInterfaceType,
  isObjectType,
  isUnionType,
  type GraphQLSchema,
} from "graphql";

const root = resolve(__dirname, "..");

/** The reason format that opens a removal window; the date is UTC and the removal may land the day after. */
const REMOVAL_DATE = /removal after (\d{4}-\d{2}-\d{2})\b/i;

/**
 * What clients see of a composed supergraph. The SECURITY features (@authenticated, …) are
 * irrelevant to its shape, so the check does not ask whether it could enforce them.
 */
export function apiSchemaOf(supergraphSdl: string): GraphQLSchema {
  return Supergraph.build(supergraphSdl, { supportedFeatures: null }).apiSchema().toGraphQLJSSchema();
}

/** The date of "removal after YYYY-MM-DD" in a deprecation reason, if it is a real date. */
export function removalDate(reason: string | null | undefined): string | undefined {
  const date = reason ? REMOVAL_DATE.exec(reason)?.[1] : undefined;
  return date && new Date(`${date}T00:00:00Z`).toISOString().startsWith(date) ? date : undefined;
}

type Deprecatable = { deprecationReason?: string | null };

/**
 * The schema element a change path names (`Type`, `Type.field`, `Type.field.arg`,
 * `Enum.VALUE`, `Input.field`, `@directive.arg`) and its parents, deepest first.
 */
function elementsAt(schema: GraphQLSchema, path: string): Deprecatable[] {
  const [first, second, third] = path.split(".");
  if (!first) return [];
  if (first.startsWith("@")) {
    const argument = schema.getDirective(first.slice(1))?.args.find((a) => a.name === second);
    return argument ? [argument] : [];
  }
  const type = schema.getType(first);
  if (!second || !type) return [];
  if (isObjectType(type) || isInterfaceType(type)) {
    const field = type.getFields()[second];
    const argument = third ? field?.args.find((a) => a.name === third) : undefined;
    return [argument, field].filter((e): e is NonNullable<typeof e> => e !== undefined);
  }
  if (isInputObjectType(type)) return [type.getFields()[second]].filter((e) => e !== undefined);
  if (isEnumType(type)) return [type.getValue(second)].filter((e) => e !== undefined && e !== null);
  return [];
}

/** Every deprecated element of a schema by coordinate, with its reason. */
export function deprecationsOf(schema: GraphQLSchema): Map<string, string> {
  const found = new Map<string, string>();
  const note = (coordinate: string, element: Deprecatable) => {
    if (element.deprecationReason != null) found.set(coordinate, element.deprecationReason);
  };
  for (const type of Object.values(schema.getTypeMap())) {
    if (type.name.startsWith("__")) continue;
    if (isObjectType(type) || isInterfaceType(type)) {
      for (const field of Object.values(type.getFields())) {
        note(`${type.name}.${field.name}`, field);
        for (const argument of field.args) note(`${type.name}.${field.name}(${argument.name}:)`, argument);
      }
    } else if (isInputObjectType(type)) {
      for (const field of Object.values(type.getFields())) note(`${type.name}.${field.name}`, field);
    } else if (isEnumType(type)) {
      for (const value of type.getValues()) note(`${type.name}.${value.name}`, value);
    }
  }
  return found;
}

/** Where a type is used: fields, arguments and input fields of that type, and unions holding it. */
function usesOf(schema: GraphQLSchema, typeName: string): Deprecatable[] {
  const uses: Deprecatable[] = [];
  for (const type of Object.values(schema.getTypeMap())) {
    if (type.name.startsWith("__")) continue;
    if (isObjectType(type) || isInterfaceType(type)) {
      for (const field of Object.values(type.getFields())) {
        if (getNamedType(field.type).name === typeName) uses.push(field);
        for (const argument of field.args) if (getNamedType(argument.type).name === typeName) uses.push(field.deprecationReason != null ? field : argument);
      }
    } else if (isInputObjectType(type)) {
      for (const field of Object.values(type.getFields())) if (getNamedType(field.type).name === typeName) uses.push(field);
    } else if (isUnionType(type) && type.getTypes().some((member) => member.name === typeName)) {
      uses.push({}); // a union member cannot be deprecated
    }
  }
  return uses;
}

export type Finding = { path: string; message: string; why: string };
export type EvolutionReport = {
  /** Breaking changes not covered by an expired removal window: these fail the check. */
  breaking: Finding[];
  /** Breaking changes to elements whose removal window has passed: allowed. */
  allowed: Finding[];
  /** Printed, not failed. */
  dangerous: Finding[];
  /** New deprecations without "removal after YYYY-MM-DD": these fail the check. */
  undated: Finding[];
  ok: boolean;
};

/** Today as the check compares it: a UTC date. */
export const utcToday = () => new Date().toISOString().slice(0, 10);

/**
 * The decision: every breaking change from `base` to `next` fails, unless each element it
 * removes or changes was deprecated in `base` with a removal date before `today`. A removed
 * type passes when every use of it in `base` did. The base's reason counts, so a field
 * cannot be deprecated and removed in one change.
 */
export async function checkSchemaEvolution(base: GraphQLSchema, next: GraphQLSchema, today = utcToday()): Promise<EvolutionReport> {
  const changes = await diff(base, next);
  const report: EvolutionReport = { breaking: [], allowed: [], dangerous: [], undated: [], ok: true };
  const windowPassed = (element: Deprecatable) => {
    const date = removalDate(element.deprecationReason);
    return date !== undefined && date < today;
  };
  const describe = (elements: Deprecatable[]): { passed: boolean; why: string } => {
    const reasons = elements.map((e) => e.deprecationReason).filter((r): r is string => r != null);
    if (elements.length === 0 || reasons.length < elements.length) return { passed: false, why: "not deprecated in the base schema: deprecate it with a removal date first" };
    const dates = reasons.map((reason) => removalDate(reason));
    if (dates.some((d) => d === undefined)) return { passed: false, why: `deprecated without "removal after YYYY-MM-DD": ${JSON.stringify(reasons.join("; "))}` };
    if (!elements.every(windowPassed)) return { passed: false, why: `its removal window has not passed (${dates.join(", ")}; today is ${today})` };
    return { passed: true, why: `removal window passed (${dates.join(", ")})` };
  };
  for (const change of changes) {
    const path = change.path ?? "";
    if (change.criticality.level === CriticalityLevel.Dangerous) report.dangerous.push({ path, message: change.message, why: change.criticality.reason ?? "" });
    if (change.criticality.level !== CriticalityLevel.Breaking) continue;
    const verdict = describe(change.type === "TYPE_REMOVED" ? usesOf(base, path) : deprecatedOrSelf(elementsAt(base, path)));
    (verdict.passed ? report.allowed : report.breaking).push({ path, message: change.message, why: verdict.why });
  }
  const before = deprecationsOf(base);
  for (const [coordinate, reason] of deprecationsOf(next)) {
    if (removalDate(reason) !== undefined || before.get(coordinate) === reason) continue;
    report.undated.push({ path: coordinate, message: `${coordinate} is deprecated without a removal date`, why: `reason ${JSON.stringify(reason)} lacks "removal after YYYY-MM-DD"` });
  }
  report.ok = report.breaking.length === 0 && report.undated.length === 0;
  return report;
}

/**
 * The element a change is judged by: the deepest deprecated one of the element and its
 * parents (an argument of a field whose window passed may go with it), else the element.
 */
function deprecatedOrSelf(elements: Deprecatable[]): Deprecatable[] {
  const deprecated = elements.find((e) => e.deprecationReason != null);
  return deprecated ? [deprecated] : elements.slice(0, 1);
}

function argument(name: string): string | undefined {
  const index = process.argv.indexOf(name);
  return index > 0 ? process.argv[index + 1] : undefined;
}

/**
 * The base supergraph's text. Without a base named, undefined when HEAD has none (no git, or
 * no commit of the file yet): nothing to compare. A named base that cannot be read is an
 * error, so a mistyped ref or a shallow CI clone does not pass the check by accident.
 */
function readBase(schemaPath: string): { sdl?: string; from: string } {
  const file = argument("--base");
  if (file) return { sdl: readFileSync(resolve(file), "utf8"), from: file };
  const named = argument("--base-ref");
  const spec = `${named ?? "HEAD"}:${relative(root, schemaPath).split("\\").join("/")}`;
  try {
    return { sdl: execFileSync("git", ["show", spec], { cwd: root, encoding: "utf8", stdio: ["ignore", "pipe", "pipe"], maxBuffer: 64 * 1024 * 1024 }), from: spec };
  } catch (error) {
    if (named) throw new Error(`cannot read ${spec} from git: ${String((error as { stderr?: string }).stderr ?? (error as Error).message).trim()}`);
    return { from: spec };
  }
}

async function main(): Promise<void> {
  const schemaPath = resolve(argument("--schema") ?? resolve(root, "supergraph.graphql"));
  const base = readBase(schemaPath);
  if (base.sdl === undefined) {
    console.log(`schema-diff: no base at ${base.from}; nothing to compare`);
    return;
  }
  const report = await checkSchemaEvolution(apiSchemaOf(base.sdl), apiSchemaOf(readFileSync(schemaPath, "utf8")));
  const print = (label: string, findings: Finding[], log: (line: string) => void) => {
    for (const finding of findings) log(`  ${label} ${finding.path}: ${finding.message} (${finding.why})`);
  };
  print("dangerous", report.dangerous, console.warn);
  print("allowed  ", report.allowed, console.log);
  print("BREAKING ", report.breaking, console.error);
  print("UNDATED  ", report.undated, console.error);
  if (!report.ok) {
    console.error(`schema-diff: the API schema is not a compatible evolution of ${base.from} (see README, Versioning)`);
    process.exit(1);
  }
  console.log(`schema-diff: the API schema is a compatible evolution of ${base.from}`);
}

if (require.main === module) {
  main().catch((error: unknown) => {
    console.error(`schema-diff: ${(error as Error).message}`);
    process.exit(1);
  });
}
