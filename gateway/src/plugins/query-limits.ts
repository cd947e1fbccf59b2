import {
  GraphQLError,
  Kind,
  getNamedType,
  getNullableType,
  isInterfaceType,
  isListType,
  isObjectType,
  valueFromASTUntyped,
  type ArgumentNode,
  type DocumentNode,
  type FieldNode,
  type FragmentDefinitionNode,
  type GraphQLField,
  type GraphQLNamedType,
  type GraphQLSchema,
  type OperationDefinitionNode,
  type SelectionSetNode,
  type ValidationRule,
} from "graphql";
import { ErrorCode } from "@startales/service-kit";

export type QueryLimits = { maxDepth: number; maxAliases: number; maxDirectives: number; maxCost: number };

/** What one operation adds up to, with its fragments expanded. */
export type OperationMeasure = { depth: number; aliases: number; directives: number; cost: number };

/** The size assumed for a list field when neither the query nor the schema says how long it is. */
export const DEFAULT_LIST_SIZE = 10;
/** Arguments that bound how many items a list field returns. */
const SIZE_ARGUMENTS = ["first", "last", "limit"];
// Introspection is answered by the gateway from its own schema, whose size is fixed. Its
// nesting is bounded by graphql-js's MaxIntrospectionDepthRule (a specified rule), so its
// fields count toward neither depth nor cost: the standard introspection query is 15 deep.
const INTROSPECTION_ROOTS = new Set(["__schema", "__type"]);

type Variables = Record<string, unknown>;
const ZERO: OperationMeasure = Object.freeze({ depth: 0, aliases: 0, directives: 0, cost: 0 });

/**
 * Walks one operation once. Fragments are measured once each and reused wherever they are
 * spread, so a document that spreads fragments exponentially costs linear time; a fragment
 * met again while it is being measured (a cycle, which NoFragmentCycles reports) counts 0.
 * Every spread counts in full, even a fragment spread twice in one selection set that
 * execution would merge: an upper bound, never an underestimate.
 */
class OperationWalker {
  private readonly measured = new Map<string, OperationMeasure>();
  private readonly measuring = new Set<string>();
  private readonly variableDefaults = new Map<string, unknown>();

  constructor(
    private readonly schema: GraphQLSchema,
    operation: OperationDefinitionNode,
    private readonly fragment: (name: string) => FragmentDefinitionNode | undefined,
    private readonly variables: Variables | undefined,
  ) {
    for (const definition of operation.variableDefinitions ?? []) {
      if (definition.defaultValue) this.variableDefaults.set(definition.variable.name.value, valueFromASTUntyped(definition.defaultValue));
    }
  }

  measure(operation: OperationDefinitionNode): OperationMeasure {
    const root = this.schema.getRootType(operation.operation) ?? undefined;
    const body = this.selectionSet(operation.selectionSet, root, false);
    return { ...body, directives: body.directives + (operation.directives?.length ?? 0) };
  }

  private selectionSet(selectionSet: SelectionSetNode, parent: GraphQLNamedType | undefined, introspection: boolean): OperationMeasure {
    const total = { ...ZERO };
    for (const selection of selectionSet.selections) {
      let part: OperationMeasure;
      if (selection.kind === Kind.FIELD) part = this.field(selection, parent, introspection);
      else if (selection.kind === Kind.INLINE_FRAGMENT) {
        const type = selection.typeCondition ? this.schema.getType(selection.typeCondition.name.value) ?? undefined : parent;
        const inner = this.selectionSet(selection.selectionSet, type, introspection);
        part = { ...inner, directives: inner.directives + (selection.directives?.length ?? 0) };
      } else {
        const inner = this.fragmentSpread(selection.name.value, introspection);
        part = { ...inner, directives: inner.directives + (selection.directives?.length ?? 0) };
      }
      total.depth = Math.max(total.depth, part.depth);
      total.aliases += part.aliases;
      total.directives += part.directives;
      total.cost += part.cost;
    }
    return total;
  }

  private field(node: FieldNode, parent: GraphQLNamedType | undefined, inIntrospection: boolean): OperationMeasure {
    const introspection = inIntrospection || INTROSPECTION_ROOTS.has(node.name.value);
    const definition = fieldDefinition(parent, node.name.value);
    const inner = node.selectionSet
      ? this.selectionSet(node.selectionSet, definition ? getNamedType(definition.type) : undefined, introspection)
      : ZERO;
    const own = { aliases: inner.aliases + (node.alias ? 1 : 0), directives: inner.directives + (node.directives?.length ?? 0) };
    if (introspection) return { depth: 0, cost: 0, ...own };
    const listSize = definition && isListType(getNullableType(definition.type)) ? this.listSize(node, definition) : 1;
    return { depth: 1 + inner.depth, cost: 1 + listSize * inner.cost, ...own };
  }

  private fragmentSpread(name: string, introspection: boolean): OperationMeasure {
    const key = `${name}${introspection ? ":introspection" : ""}`;
    const known = this.measured.get(key);
    if (known) return known;
    const definition = this.fragment(name);
    if (!definition || this.measuring.has(key)) return ZERO;
    this.measuring.add(key);
    const type = this.schema.getType(definition.typeCondition.name.value) ?? undefined;
    const inner = this.selectionSet(definition.selectionSet, type, introspection);
    const result = { ...inner, directives: inner.directives + (definition.directives?.length ?? 0) };
    this.measuring.delete(key);
    this.measured.set(key, result);
    return result;
  }

  /** first/last/limit as written (a literal, or a variable's value or default), else the argument's schema default. */
  private listSize(node: FieldNode, definition: GraphQLField<unknown, unknown>): number {
    for (const name of SIZE_ARGUMENTS) {
      const argument = node.arguments?.find((a) => a.name.value === name);
      const value = (argument && this.argumentValue(argument)) ?? definition.args.find((a) => a.name === name)?.defaultValue;
      if (typeof value === "number" && Number.isFinite(value) && value >= 0) return value;
    }
    return DEFAULT_LIST_SIZE;
  }

  private argumentValue(argument: ArgumentNode): unknown {
    if (argument.value.kind !== Kind.VARIABLE) return valueFromASTUntyped(argument.value) ?? undefined;
    const name = argument.value.name.value;
    return this.variables?.[name] ?? this.variableDefaults.get(name) ?? undefined;
  }
}

/** The schema's field, or undefined for __typename, introspection roots and unknown fields. */
function fieldDefinition(parent: GraphQLNamedType | undefined, name: string): GraphQLField<unknown, unknown> | undefined {
  return isObjectType(parent) || isInterfaceType(parent) ? parent.getFields()[name] : undefined;
}

/**
 * Depth, aliases, directives and estimated cost of one operation. Cost: every field costs 1,
 * times the size of each list it sits under; a list's size is its first/last/limit argument
 * (variables are used when given; during validation they are not known, so a variable counts
 * as its default, else the argument's schema default), else DEFAULT_LIST_SIZE.
 */
export function measureOperation(
  schema: GraphQLSchema,
  operation: OperationDefinitionNode,
  fragment: (name: string) => FragmentDefinitionNode | undefined,
  variables?: Variables,
): OperationMeasure {
  return new OperationWalker(schema, operation, fragment, variables).measure(operation);
}

/**
 * The cost estimate of the operation a request runs (by name, or the only one), with its
 * variables: what a rate limiter can charge. 0 when there is no such operation.
 */
export function estimateCost(schema: GraphQLSchema, document: DocumentNode, options: { operationName?: string | null; variables?: Variables } = {}): number {
  const operations = document.definitions.filter((d): d is OperationDefinitionNode => d.kind === Kind.OPERATION_DEFINITION);
  const operation = options.operationName ? operations.find((o) => o.name?.value === options.operationName) : operations.length === 1 ? operations[0] : undefined;
  if (!operation) return 0;
  const fragments = new Map(
    document.definitions.filter((d): d is FragmentDefinitionNode => d.kind === Kind.FRAGMENT_DEFINITION).map((f) => [f.name.value, f]),
  );
  return measureOperation(schema, operation, (name) => fragments.get(name), options.variables).cost;
}

/**
 * The gateway's query limits as one validation rule, so a refused operation never reaches
 * a subgraph and a validated document (cached by Apollo) is measured once. Apollo relabels
 * every validation error GRAPHQL_VALIDATION_FAILED; formatGatewayError restores our code.
 */
export function queryLimitsRule(limits: QueryLimits): ValidationRule {
  return (context) => ({
    OperationDefinition(operation) {
      const measured = measureOperation(context.getSchema(), operation, (name) => context.getFragment(name) ?? undefined);
      const checks: [string, number, number][] = [
        ["Query depth", measured.depth, limits.maxDepth],
        ["Query alias count", measured.aliases, limits.maxAliases],
        ["Query directive count", measured.directives, limits.maxDirectives],
        ["Query cost estimate", measured.cost, limits.maxCost],
      ];
      for (const [what, value, limit] of checks) {
        if (value > limit) context.reportError(queryTooComplex(`${what} ${formatCount(value)} exceeds the limit of ${limit}`, operation));
      }
      // Measured above, fragments included: nothing below needs this rule's visitor.
      return false;
    },
  });
}

const queryTooComplex = (message: string, operation: OperationDefinitionNode) =>
  new GraphQLError(message, { nodes: [operation], extensions: { code: ErrorCode.QUERY_TOO_COMPLEX } });

export const formatCount = (value: number) => (Number.isSafeInteger(value) ? String(value) : value.toExponential(2));

/** True for an error our rule reported, however Apollo has wrapped it. */
export function isQueryLimitError(error: unknown): boolean {
  const original = error instanceof GraphQLError ? (error.originalError ?? error) : undefined;
  return original instanceof GraphQLError && original.extensions.code === ErrorCode.QUERY_TOO_COMPLEX;
}
