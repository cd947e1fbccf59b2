import type { TypedDocumentNode } from "@graphql-typed-document-node/core";
import { Kind, print, visit, type DocumentNode, type FieldNode, type NameNode, type OperationDefinitionNode } from "graphql";

/**
 * What one service sends another: an operation's text, printed once, still carrying the
 * result and variables types codegen gave its document (operations/<subgraph>/*.graphql).
 */
export type OperationText<TData, TVariables> = { query: string; readonly types?: (data: TData, variables: TVariables) => void };

export const operationText = <TData, TVariables>(document: TypedDocumentNode<TData, TVariables>): OperationText<TData, TVariables> => ({ query: print(document) });

/** One request for a batch: its text and variables, and the alias each lookup's answer is under, in order. */
export type RepeatedRootField<TField> = {
  text: OperationText<Partial<Record<string, TField>>, Record<string, unknown>>;
  variables: Record<string, unknown>;
  aliases: string[];
};

/** Batch sizes whose text is kept: a request's batches are small, and an unusual size is printed again. */
const MAX_KEPT = 64;

/**
 * A batch of lookups the schema has no list field for, from a document that asks one: the
 * operation's single root field repeated, the i-th under the alias `<field>_<i>` with each
 * variable `$v` renamed `$v_<i>`. Aliasing and renaming every variable alike keep the text
 * as valid as the document checked by `npm run check`, for any batch size. A lookup's
 * errors are those whose path starts with its alias.
 */
export function repeatedRootField<TData, TVariables extends Record<string, unknown>>(
  document: TypedDocumentNode<TData, TVariables>,
): (batch: readonly TVariables[]) => RepeatedRootField<TData[keyof TData]> {
  const operation = soleOperation(document);
  const field = operation.selectionSet.selections[0] as FieldNode;
  const kept = new Map<number, Omit<RepeatedRootField<TData[keyof TData]>, "variables">>();
  const printed = (count: number) => {
    const aliases = Array.from({ length: count }, (_, i) => `${field.name.value}_${i}`);
    const renamed =
      (i: number) =>
      <T extends { name: NameNode }>(node: T): T => ({ ...node, name: { kind: Kind.NAME, value: `${node.name.value}_${i}` } });
    const repeated: OperationDefinitionNode = {
      ...operation,
      variableDefinitions: aliases.flatMap((_, i) => (operation.variableDefinitions ?? []).map((definition) => ({ ...definition, variable: renamed(i)(definition.variable) }))),
      selectionSet: {
        kind: Kind.SELECTION_SET,
        selections: aliases.map((alias, i) => ({ ...(visit(field, { Variable: renamed(i) }) as FieldNode), alias: { kind: Kind.NAME, value: alias } })),
      },
    };
    return { text: { query: print({ kind: Kind.DOCUMENT, definitions: [repeated] }) }, aliases };
  };
  return (batch) => {
    let known = kept.get(batch.length);
    if (!known) {
      known = printed(batch.length);
      if (batch.length <= MAX_KEPT) kept.set(batch.length, known);
    }
    const variables = Object.fromEntries(batch.flatMap((each, i) => Object.entries(each).map(([name, value]) => [`${name}_${i}`, value])));
    return { ...known, variables };
  };
}

function soleOperation(document: DocumentNode): OperationDefinitionNode {
  const [operation, ...rest] = document.definitions;
  const selections = operation?.kind === Kind.OPERATION_DEFINITION ? operation.selectionSet.selections : [];
  // Fragments could use the variables too; nothing needs them yet.
  if (operation?.kind !== Kind.OPERATION_DEFINITION || rest.length > 0 || selections.length !== 1 || selections[0]?.kind !== Kind.FIELD || selections[0].alias) {
    throw new Error("repeatedRootField: the document must be one operation asking one unaliased root field, without fragments");
  }
  return operation;
}
