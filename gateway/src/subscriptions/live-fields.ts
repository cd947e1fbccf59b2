import { Kind, parse, type ConstValueNode, type FieldNode, type ObjectTypeDefinitionNode, type SelectionSetNode } from "graphql";

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

function subscriptionType(definitions: readonly unknown[]): ObjectTypeDefinitionNode | undefined {
  const rootName =
    definitions
      .flatMap((d) => ((d as { kind: string }).kind === Kind.SCHEMA_DEFINITION ? (d as { operationTypes: { operation: string; type: { name: { value: string } } }[] }).operationTypes : []))
      .find((t) => t.operation === "subscription")?.type.name.value ?? "Subscription";
  return definitions.find(
    (d): d is ObjectTypeDefinitionNode => (d as { kind: string }).kind === Kind.OBJECT_TYPE_DEFINITION && (d as ObjectTypeDefinitionNode).name.value === rootName,
  );
}

/**
 * Every subscription root field of the supergraph with its `@live` declaration. A field
 * without one, or with a template naming an argument the field does not have, stops the
 * gateway at start-up: composition let it through, so it must not fail a player later.
 */
export function liveFieldsFromSupergraph(supergraphSdl: string): Map<string, LiveField> {
  const document = parse(supergraphSdl, { noLocation: true });
  const type = subscriptionType(document.definitions);
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
    const authorize = authorizeTemplate ? parseTemplateField(authorizeTemplate, where) : null;
    const argumentNames = new Set(field.arguments?.map((a) => a.name.value));
    const allowed = new Set([...argumentNames, ...Object.keys(EVENT_VARIABLES)]);
    for (const variable of variablesIn(resolve)) {
      if (!allowed.has(variable)) throw new LiveFieldError(`${where}: resolve uses $${variable}, which is neither an argument nor an event variable`);
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
      authorize: authorize ? { kind: Kind.SELECTION_SET, selections: [authorize] } : null,
    });
  }
  return fields;
}
