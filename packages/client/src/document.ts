import type { DocumentTypeDecoration } from "@graphql-typed-document-node/core";
import type { DocumentNode } from "graphql";
import { print } from "graphql/language/printer";

/**
 * An operation with its result and variables types: the generated `…Document` constants
 * (strings), or a TypedDocumentNode from a gql tag.
 */
export type Operation<TData, TVariables> = DocumentTypeDecoration<TData, TVariables>;

/** The variables argument, optional when the operation requires none. */
export type VariablesArgument<TVariables> = Record<string, never> extends TVariables ? [variables?: TVariables] : [variables: TVariables];

/** The text sent on the wire. Generated documents already are text; a DocumentNode is printed. */
export function operationText(document: Operation<unknown, never> | DocumentNode): string {
  if (typeof document === "string" || document instanceof String) return document.toString();
  if (typeof document === "object" && document !== null && "kind" in document) return print(document);
  throw new TypeError("not a GraphQL operation: pass a generated …Document or a parsed DocumentNode");
}
