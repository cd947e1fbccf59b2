import { createHash } from "node:crypto";
import {
  Kind,
  OperationTypeNode,
  getArgumentValues,
  getVariableValues,
  print,
  visit,
  type ArgumentNode,
  type DocumentNode,
  type FieldNode,
  type FragmentDefinitionNode,
  type GraphQLSchema,
  type OperationDefinitionNode,
  type SelectionSetNode,
  type ValueNode,
  type VariableDefinitionNode,
} from "graphql";
import { ErrorCode, appError, type Viewer } from "@startales/service-kit";
import { EVENT_VARIABLES, VIEWER_PLACEHOLDER, type LiveField } from "./live-fields";

/** A query the gateway runs on the subscriber's behalf, planned and executed like any other. */
export type PreparedQuery = {
  document: DocumentNode;
  /** Printed: the query-plan cache key and, with the variables, the dedupe key. */
  query: string;
  queryHash: string;
  operationName: string;
  /** The subscriber's variables that the query still uses. */
  variables: Record<string, unknown>;
};

/** One subscription, as the gateway serves it: a topic to listen to and a query per event. */
export type LiveOperation = {
  field: LiveField;
  topic: string;
  /** `after` of a resumable field: replay the topic's stream from just after it. */
  after: string | null;
  /** Per event, with `__eventId`/`__aggregateId` added to `variables`. */
  resolve: PreparedQuery;
  /** The same selection through the field of each producer that resolves its own events (LiveField.resolveBy). */
  resolveBy: ReadonlyMap<string, PreparedQuery>;
  authorize: PreparedQuery | null;
};

const MAX_TOPIC_PART = 128;

function rootField(operation: OperationDefinitionNode, fragments: Map<string, FragmentDefinitionNode>): FieldNode {
  const fields: FieldNode[] = [];
  const collect = (selectionSet: SelectionSetNode) => {
    for (const selection of selectionSet.selections) {
      if (selection.kind === Kind.FIELD) fields.push(selection);
      else if (selection.kind === Kind.INLINE_FRAGMENT) collect(selection.selectionSet);
      else {
        const fragment = fragments.get(selection.name.value);
        if (fragment) collect(fragment.selectionSet);
      }
    }
  };
  collect(operation.selectionSet);
  const [field] = fields;
  // Validation (SingleFieldSubscriptionsRule) already allows only one.
  if (!field || fields.length !== 1) throw appError(ErrorCode.BAD_USER_INPUT, "A subscription selects exactly one root field");
  return field;
}

/** The template field with `$arg` replaced by what the subscriber passed for `arg`, and event variables renamed. */
function instantiate(template: FieldNode, subscriberArgs: readonly ArgumentNode[], alias: string | null, selectionSet: SelectionSetNode | undefined): FieldNode {
  const passed = new Map(subscriberArgs.map((a) => [a.name.value, a.value]));
  const substituted = visit(template, {
    Variable(node): ValueNode {
      const eventVariable = EVENT_VARIABLES[node.name.value as keyof typeof EVENT_VARIABLES];
      if (eventVariable) return { kind: Kind.VARIABLE, name: { kind: Kind.NAME, value: eventVariable } };
      return passed.get(node.name.value) ?? { kind: Kind.NULL };
    },
  });
  return {
    ...substituted,
    ...(alias ? { alias: { kind: Kind.NAME, value: alias } } : {}),
    ...(selectionSet ? { selectionSet } : {}),
  };
}

/** `query Name($used…) { field }` plus the fragments it reaches; unused variable definitions dropped. */
function buildQuery(
  schema: GraphQLSchema,
  operationName: string,
  field: FieldNode,
  subscriberDefinitions: readonly VariableDefinitionNode[],
  fragments: Map<string, FragmentDefinitionNode>,
  coerced: Record<string, unknown>,
): PreparedQuery {
  const usedFragments = new Map<string, FragmentDefinitionNode>();
  const usedVariables = new Set<string>();
  const walk = (node: unknown) =>
    visit(node as FieldNode, {
      Variable(variable) {
        usedVariables.add(variable.name.value);
      },
      FragmentSpread(spread) {
        const name = spread.name.value;
        const fragment = fragments.get(name);
        if (fragment && !usedFragments.has(name)) {
          usedFragments.set(name, fragment);
          walk(fragment);
        }
      },
    });
  walk(field);
  const definitions: VariableDefinitionNode[] = subscriberDefinitions.filter((d) => usedVariables.has(d.variable.name.value));
  const queryType = schema.getQueryType();
  const target = queryType?.getFields()[field.name.value];
  for (const [name, variable] of Object.entries(EVENT_VARIABLES)) {
    if (!usedVariables.has(variable)) continue;
    // Declared with the type of the argument it feeds, so the query validates as written.
    const argument = field.arguments?.find((a) => a.value.kind === Kind.VARIABLE && a.value.name.value === variable);
    const type = target?.args.find((a) => a.name === argument?.name.value)?.type;
    if (!type) throw new Error(`$${name} must be passed straight to an argument of ${field.name.value}`);
    definitions.push({
      kind: Kind.VARIABLE_DEFINITION,
      variable: { kind: Kind.VARIABLE, name: { kind: Kind.NAME, value: variable } },
      type: parseTypeReference(type.toString()),
    });
  }
  const document: DocumentNode = {
    kind: Kind.DOCUMENT,
    definitions: [
      {
        kind: Kind.OPERATION_DEFINITION,
        operation: OperationTypeNode.QUERY,
        name: { kind: Kind.NAME, value: operationName },
        variableDefinitions: definitions,
        selectionSet: { kind: Kind.SELECTION_SET, selections: [field] },
      },
      ...usedFragments.values(),
    ],
  };
  const query = print(document);
  const variables = Object.fromEntries(Object.entries(coerced).filter(([name]) => usedVariables.has(name)));
  return { document, query, queryHash: createHash("sha256").update(query).digest("hex"), operationName, variables };
}

function parseTypeReference(type: string): VariableDefinitionNode["type"] {
  const nonNull = type.endsWith("!");
  const inner = nonNull ? type.slice(0, -1) : type;
  const base: VariableDefinitionNode["type"] =
    inner.startsWith("[")
      ? { kind: Kind.LIST_TYPE, type: parseTypeReference(inner.slice(1, -1)) }
      : { kind: Kind.NAMED_TYPE, name: { kind: Kind.NAME, value: inner } };
  return nonNull ? { kind: Kind.NON_NULL_TYPE, type: base } : base;
}

/**
 * Turns a validated subscription into the queries that serve it. The subscriber's
 * selection, fragments and variables are kept; the root field is swapped for its `@live`
 * resolve field under the subscriber's response key, so a result has the shape the
 * subscriber asked for.
 */
export function prepareLiveOperation(
  schema: GraphQLSchema,
  document: DocumentNode,
  operation: OperationDefinitionNode,
  liveFields: ReadonlyMap<string, LiveField>,
  rawVariables: Record<string, unknown> | null | undefined,
  viewer: Viewer,
): LiveOperation {
  const fragments = new Map(
    document.definitions.filter((d): d is FragmentDefinitionNode => d.kind === Kind.FRAGMENT_DEFINITION).map((d) => [d.name.value, d]),
  );
  const field = rootField(operation, fragments);
  const live = liveFields.get(field.name.value);
  const subscriptionType = schema.getSubscriptionType();
  const definition = subscriptionType?.getFields()[field.name.value];
  if (!live || !definition) throw appError(ErrorCode.BAD_USER_INPUT, `Subscription.${field.name.value} cannot be served`);

  const definitions = operation.variableDefinitions ?? [];
  const coercion = getVariableValues(schema, definitions, rawVariables ?? {});
  if (coercion.errors) throw appError(ErrorCode.BAD_USER_INPUT, coercion.errors.map((e) => e.message).join("; "));
  const args = getArgumentValues(definition, field, coercion.coerced);

  const topic = live.topic.replace(/\{(\w+)\}/g, (_match, name: string) => {
    if (name === VIEWER_PLACEHOLDER) {
      if (viewer.kind !== "user") throw appError(ErrorCode.UNAUTHENTICATED, "You must be signed in");
      return viewer.userId;
    }
    const value = args[name];
    if (value === undefined || value === null) throw appError(ErrorCode.BAD_USER_INPUT, `${name} is required`);
    const text = String(value);
    if (text.length === 0 || text.length > MAX_TOPIC_PART) throw appError(ErrorCode.BAD_USER_INPUT, `${name} is not a valid id`);
    return text;
  });
  const after = definition.args.some((a) => a.name === "after") ? args.after : null;
  if (after !== null && after !== undefined && typeof after !== "string") throw appError(ErrorCode.BAD_USER_INPUT, "after must be an event id");

  const name = `${operation.name?.value ?? "Live"}_${field.name.value}`;
  const responseKey = field.alias?.value ?? field.name.value;
  const prepare = (template: FieldNode, operationName: string) =>
    buildQuery(schema, operationName, instantiate(template, field.arguments ?? [], responseKey === template.name.value ? null : responseKey, field.selectionSet), definitions, fragments, coercion.coerced);
  const resolve = prepare(live.resolve, name);
  const resolveBy = new Map([...live.resolveBy].map(([producer, template]) => [producer, prepare(template, `${name}_${producer}`)]));
  const authorizeField = live.authorize?.selections[0] as FieldNode | undefined;
  const authorize = authorizeField
    ? buildQuery(schema, `${name}_authorize`, instantiate(authorizeField, field.arguments ?? [], null, authorizeField.selectionSet), definitions, fragments, coercion.coerced)
    : null;
  return { field: live, topic, after: after ?? null, resolve, resolveBy, authorize };
}
