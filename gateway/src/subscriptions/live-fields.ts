import { Kind, parse, type ConstValueNode, type FieldDefinitionNode, type FieldNode, type ObjectTypeDefinitionNode, type SelectionSetNode, type TypeNode } from "graphql";

/**
 * A subscription root field as its owning subgraph declared it with `@live` (composed into
 * the supergraph with @composeDirective): which events feed it and which query field turns
 * an event into the subscriber's selection.
 */
export type LiveField = {
  field: string;
  /** Declared @authenticated: anonymous connections are refused (the gateway runs no subgraph resolver for it). */
  authenticated: boolean;
  /** `campaign:{campaignId}`: `{arg}` is filled from the subscription field's arguments. */
  topic: string;
  /** Only events of these types; null for every event of the topic. */
  types: ReadonlySet<string> | null;
  /** The query field run per event, e.g. `campaignEvent(campaignId: $campaignId, id: $eventId)`. */
  resolve: FieldNode;
  /**
   * Per producer (the envelope's `producer`, the service that wrote the event), the query
   * field that resolves its events instead of `resolve`: each event through its owner.
   */
  resolveBy: ReadonlyMap<string, FieldNode>;
  /** Run once at subscribe time; an error or a null answer refuses the subscription. */
  authorize: SelectionSetNode | null;
};

/** Variables a template may use besides the subscription field's own arguments. */
export const EVENT_VARIABLES = { eventId: "__eventId", aggregateId: "__aggregateId" } as const;

/** In a topic, `{viewerId}` is the subscriber's own user id (a personal feed), not an argument. */
export const VIEWER_PLACEHOLDER = "viewerId";

export class LiveFieldError extends Error {}

const stringArg = (args: Map<string, ConstValueNode>, name: string): string | null => {
  const value = args.get(name);
  if (!value || value.kind === Kind.NULL) return null;
  if (value.kind !== Kind.STRING) throw new LiveFieldError(`@live(${name}:) must be a string`);
  return value.value;
};

/** The single field of `query { <template> }`. */
function parseTemplateField(template: string, where: string): FieldNode {
  let selections;
  try {
    const document = parse(`{ ${template} }`, { noLocation: true });
    const operation = document.definitions[0];
    selections = operation?.kind === Kind.OPERATION_DEFINITION && document.definitions.length === 1 ? operation.selectionSet.selections : [];
  } catch (error) {
    throw new LiveFieldError(`${where}: cannot parse "${template}": ${(error as Error).message}`);
  }
  const field = selections[0];
  if (selections.length !== 1 || field?.kind !== Kind.FIELD) throw new LiveFieldError(`${where}: "${template}" must be exactly one field`);
  return field;
}

function variablesIn(node: FieldNode | SelectionSetNode): string[] {
  const names: string[] = [];
  const visit = (value: unknown): void => {
    if (!value || typeof value !== "object") return;
    if ((value as { kind?: string }).kind === Kind.VARIABLE) names.push((value as { name: { value: string } }).name.value);
    for (const child of Object.values(value)) if (child && typeof child === "object") visit(child);
  };
  visit(node);
  return names;
}

function rootType(definitions: readonly unknown[], operation: "query" | "subscription"): ObjectTypeDefinitionNode | undefined {
  const rootName =
    definitions
      .flatMap((d) => ((d as { kind: string }).kind === Kind.SCHEMA_DEFINITION ? (d as { operationTypes: { operation: string; type: { name: { value: string } } }[] }).operationTypes : []))
      .find((t) => t.operation === operation)?.type.name.value ?? (operation === "query" ? "Query" : "Subscription");
  return definitions.find(
    (d): d is ObjectTypeDefinitionNode => (d as { kind: string }).kind === Kind.OBJECT_TYPE_DEFINITION && (d as ObjectTypeDefinitionNode).name.value === rootName,
  );
}

const namedType = (type: TypeNode): string => (type.kind === Kind.NAMED_TYPE ? type.name.value : namedType(type.type));

/**
 * `producers: ["simulation: simulationEvent(campaignId: $campaignId, id: $eventId)"]`: read
 * as a GraphQL field, the alias names the producer.
 */
function producerTemplates(args: Map<string, ConstValueNode>, where: string): Map<string, FieldNode> {
  const value = args.get("producers");
  const templates = new Map<string, FieldNode>();
  if (!value || value.kind === Kind.NULL) return templates;
  const items = value.kind === Kind.LIST ? value.values : [value];
  for (const item of items) {
    if (item.kind !== Kind.STRING) throw new LiveFieldError(`${where}: @live(producers:) must be strings`);
    const field = parseTemplateField(item.value, where);
    const producer = field.alias?.value;
    if (!producer) throw new LiveFieldError(`${where}: producers entry "${item.value}" must start with the producer's name: "<producer>: <field>(…)"`);
    if (templates.has(producer)) throw new LiveFieldError(`${where}: producer ${producer} is named twice`);
    if (field.selectionSet) throw new LiveFieldError(`${where}: "${item.value}" takes the subscriber's selection, it has none of its own`);
    templates.set(producer, { ...field, alias: undefined });
  }
  return templates;
}

/** The subscriber's selection is run on the resolve field: it must be a query field of the same type. */
function checkResolveField(subscription: FieldDefinitionNode, query: FieldDefinitionNode | undefined, name: string, where: string): void {
  if (!query) throw new LiveFieldError(`${where}: resolves with Query.${name}, which the supergraph does not have`);
  const expected = namedType(subscription.type);
  if (namedType(query.type) !== expected) throw new LiveFieldError(`${where}: Query.${name} returns ${namedType(query.type)}, not ${expected}`);
}

/**
 * Every subscription root field of the supergraph with its `@live` declaration. A field
 * without one, or with a template naming an argument the field does not have, stops the
 * gateway at start-up: composition let it through, so it must not fail a player later.
 */
export function liveFieldsFromSupergraph(supergraphSdl: string): Map<string, LiveField> {
  const document = parse(supergraphSdl, { noLocation: true });
  const type = rootType(document.definitions, "subscription");
  const queryFields = new Map(rootType(document.definitions, "query")?.fields?.map((f) => [f.name.value, f]));
  const fields = new Map<string, LiveField>();
  for (const field of type?.fields ?? []) {
    const name = field.name.value;
    const where = `Subscription.${name}`;
    const directive = field.directives?.find((d) => d.name.value === "live");
    if (!directive) throw new LiveFieldError(`${where} has no @live directive: the gateway cannot serve it`);
    const args = new Map(directive.arguments?.map((a) => [a.name.value, a.value as ConstValueNode]));
    const topic = stringArg(args, "topic");
    const resolveTemplate = stringArg(args, "resolve");
    if (!topic || !resolveTemplate) throw new LiveFieldError(`${where}: @live needs topic and resolve`);
    const authorizeTemplate = stringArg(args, "authorize");
    const typesValue = args.get("types");
    const types =
      typesValue?.kind === Kind.LIST
        ? new Set(typesValue.values.map((v) => (v.kind === Kind.STRING ? v.value : String(v))))
        : null;
    const resolve = parseTemplateField(resolveTemplate, where);
    if (resolve.selectionSet) throw new LiveFieldError(`${where}: resolve "${resolveTemplate}" takes the subscriber's selection, it has none of its own`);
    const resolveBy = producerTemplates(args, where);
    const authorize = authorizeTemplate ? parseTemplateField(authorizeTemplate, where) : null;
    const argumentNames = new Set(field.arguments?.map((a) => a.name.value));
    const allowed = new Set([...argumentNames, ...Object.keys(EVENT_VARIABLES)]);
    for (const template of [resolve, ...resolveBy.values()]) {
      checkResolveField(field, queryFields.get(template.name.value), template.name.value, where);
      for (const variable of variablesIn(template)) {
        if (!allowed.has(variable)) throw new LiveFieldError(`${where}: ${template.name.value} uses $${variable}, which is neither an argument nor an event variable`);
      }
    }
    for (const variable of authorize ? variablesIn(authorize) : []) {
      if (!argumentNames.has(variable)) throw new LiveFieldError(`${where}: authorize uses $${variable}, which is not an argument`);
    }
    const authenticated = field.directives?.some((d) => d.name.value === "authenticated") ?? false;
    for (const [, placeholder] of topic.matchAll(/\{(\w+)\}/g)) {
      if (placeholder === VIEWER_PLACEHOLDER) {
        // The subscriber's own feed: only a signed-in subscriber has one.
        if (!authenticated) throw new LiveFieldError(`${where}: topic names {${VIEWER_PLACEHOLDER}}, so the field must be @authenticated`);
        continue;
      }
      if (!argumentNames.has(placeholder!)) throw new LiveFieldError(`${where}: topic names {${placeholder}}, which is not an argument`);
    }
    fields.set(name, {
      field: name,
      authenticated,
      topic,
      types,
      resolve,
      resolveBy,
      authorize: authorize ? { kind: Kind.SELECTION_SET, selections: [authorize] } : null,
    });
  }
  return fields;
}
