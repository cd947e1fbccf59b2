import {
  Kind,
  TypeInfo,
  getNamedType,
  isEnumType,
  isInputObjectType,
  isListType,
  isNonNullType,
  typeFromAST,
  visit,
  visitWithTypeInfo,
  type DocumentNode,
  type FragmentDefinitionNode,
  type GraphQLInputType,
  type GraphQLNamedType,
  type GraphQLSchema,
  type OperationDefinitionNode,
} from "graphql";

/**
 * What one operation uses that the schema has deprecated, named by schema coordinates:
 * `Type.field`, `Type.field(arg:)`, `@directive(arg:)`, `Enum.VALUE`, `Input.field`.
 */
export type DeprecatedUsage = {
  /** Written in the document itself (literals included): the same for every request of it. */
  coordinates: readonly string[];
  /**
   * Variables whose type can hold a deprecated enum value or input field: only their
   * values tell, so they are checked per request (deprecatedInVariables). Usually none.
   */
  variables: readonly { name: string; type: GraphQLInputType }[];
};

export const NO_DEPRECATED_USAGE: DeprecatedUsage = Object.freeze({ coordinates: [], variables: [] });

/** Nesting followed into a variable's value; deeper parts (only recursive input types get there) are not looked at. */
const MAX_VALUE_DEPTH = 32;

const isDeprecated = (element: { deprecationReason?: string | null } | null | undefined) => element?.deprecationReason != null;

/** The operation a request runs: by name, or the only one. */
function selectOperation(document: DocumentNode, operationName: string | null | undefined): OperationDefinitionNode | undefined {
  const operations = document.definitions.filter((d): d is OperationDefinitionNode => d.kind === Kind.OPERATION_DEFINITION);
  return operationName ? operations.find((o) => o.name?.value === operationName) : operations.length === 1 ? operations[0] : undefined;
}

/** The fragments an operation spreads, directly or through other fragments. */
function fragmentsOf(document: DocumentNode, operation: OperationDefinitionNode): FragmentDefinitionNode[] {
  const byName = new Map(
    document.definitions.filter((d): d is FragmentDefinitionNode => d.kind === Kind.FRAGMENT_DEFINITION).map((f) => [f.name.value, f]),
  );
  const reached = new Map<string, FragmentDefinitionNode>();
  const pending: (OperationDefinitionNode | FragmentDefinitionNode)[] = [operation];
  for (let node = pending.pop(); node; node = pending.pop()) {
    visit(node, {
      FragmentSpread(spread) {
        const fragment = byName.get(spread.name.value);
        if (fragment && !reached.has(fragment.name.value)) {
          reached.set(fragment.name.value, fragment);
          pending.push(fragment);
        }
      },
    });
  }
  return [...reached.values()];
}

/** Whether a value of this input type can contain a deprecated enum value or input field. */
function canHoldDeprecated(type: GraphQLInputType): boolean {
  const seen = new Set<GraphQLNamedType>();
  const search = (named: GraphQLNamedType): boolean => {
    if (seen.has(named)) return false;
    seen.add(named);
    if (isEnumType(named)) return named.getValues().some(isDeprecated);
    if (!isInputObjectType(named)) return false;
    return Object.values(named.getFields()).some((field) => isDeprecated(field) || search(getNamedType(field.type)));
  };
  return search(getNamedType(type));
}

/**
 * Finds the deprecated schema elements one operation of a document uses, walking the
 * operation and the fragments it spreads with graphql-js's TypeInfo. Meant to run once per
 * distinct document (callers cache it); the document must have passed validation.
 */
export function findDeprecatedUsage(schema: GraphQLSchema, document: DocumentNode, operationName?: string | null): DeprecatedUsage {
  const operation = selectOperation(document, operationName);
  if (!operation) return NO_DEPRECATED_USAGE;
  const found = new Set<string>();
  const typeInfo = new TypeInfo(schema);
  const definitions = [operation, ...fragmentsOf(document, operation)];
  visit(
    { kind: Kind.DOCUMENT, definitions },
    visitWithTypeInfo(typeInfo, {
      Field() {
        const parent = typeInfo.getParentType();
        const field = typeInfo.getFieldDef();
        if (parent && field && isDeprecated(field)) found.add(`${parent.name}.${field.name}`);
      },
      Argument() {
        const argument = typeInfo.getArgument();
        if (!argument || !isDeprecated(argument)) return;
        // TypeInfo resolves an argument against its directive when it sits in one.
        const directive = typeInfo.getDirective();
        const parent = typeInfo.getParentType();
        const field = typeInfo.getFieldDef();
        if (directive) found.add(`@${directive.name}(${argument.name}:)`);
        else if (parent && field) found.add(`${parent.name}.${field.name}(${argument.name}:)`);
      },
      ObjectField(node) {
        const input = getNamedType(typeInfo.getParentInputType());
        if (isInputObjectType(input) && isDeprecated(input.getFields()[node.name.value])) found.add(`${input.name}.${node.name.value}`);
      },
      EnumValue() {
        const type = getNamedType(typeInfo.getInputType());
        const value = typeInfo.getEnumValue();
        if (isEnumType(type) && value && isDeprecated(value)) found.add(`${type.name}.${value.name}`);
      },
    }),
  );
  const variables = (operation.variableDefinitions ?? []).flatMap((definition) => {
    const type = typeFromAST(schema, definition.type) as GraphQLInputType | undefined;
    return type && canHoldDeprecated(type) ? [{ name: definition.variable.name.value, type }] : [];
  });
  return found.size || variables.length ? { coordinates: [...found].sort(), variables } : NO_DEPRECATED_USAGE;
}

/** The deprecated enum values and input fields in a request's variables, for the variables findDeprecatedUsage flagged. */
export function deprecatedInVariables(usage: DeprecatedUsage, values: Record<string, unknown> | undefined): string[] {
  if (!usage.variables.length || !values) return [];
  const found = new Set<string>();
  const walk = (type: GraphQLInputType, value: unknown, depth: number): void => {
    if (value == null || depth > MAX_VALUE_DEPTH) return;
    if (isNonNullType(type)) return walk(type.ofType, value, depth);
    if (isListType(type)) {
      // A single value where a list is expected is coerced to a list of one.
      for (const item of Array.isArray(value) ? value : [value]) walk(type.ofType, item, depth + 1);
      return;
    }
    if (isEnumType(type)) {
      const enumValue = typeof value === "string" ? type.getValue(value) : undefined;
      if (enumValue && isDeprecated(enumValue)) found.add(`${type.name}.${enumValue.name}`);
      return;
    }
    if (!isInputObjectType(type) || typeof value !== "object" || Array.isArray(value)) return;
    const fields = type.getFields();
    for (const [name, item] of Object.entries(value)) {
      const field = fields[name];
      if (!field) continue;
      if (isDeprecated(field)) found.add(`${type.name}.${name}`);
      walk(field.type, item, depth + 1);
    }
  };
  for (const { name, type } of usage.variables) walk(type, values[name], 0);
  return [...found];
}
