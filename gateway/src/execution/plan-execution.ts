import type { Operation } from "@apollo/federation-internals";
import * as federation from "@apollo/federation-internals";
import { applyRewrites, isObjectOfType } from "@apollo/gateway/dist/dataRewrites";
import type { FetchNode, PlanNode, QueryPlan, QueryPlanSelectionNode, ResponsePath } from "@apollo/query-planner";
import { evaluateCondition } from "@apollo/query-planner";
import { GraphQLError, type GraphQLFormattedError, type GraphQLSchema } from "graphql";

/*
 * Runs a query plan of @apollo/gateway's query planner: the fetches in the plan's order, each
 * subgraph's answer merged into one result (entities found by their place in the plan). It
 * follows @apollo/gateway's executeQueryPlan.ts, including its error paths and messages, with
 * what we do not use left out: Apollo usage-reporting traces (ftv1) and OpenTelemetry spans.
 */

// Bound once: a named import compiles to a getter call through the package's index per use.
const { ERRORS, errorCodeDef } = federation;

/** What a subgraph answered: a GraphQL response body. */
export type SubgraphResult = { data?: Record<string, unknown> | null; errors?: readonly GraphQLFormattedError[]; extensions?: Record<string, unknown> };
export type SubgraphRequest = { query: string; variables: Record<string, unknown>; operationName: string | undefined };
/** Sends one operation to one subgraph; throws for a failure of the whole fetch. */
export type SendToSubgraph = (serviceName: string, request: SubgraphRequest) => Promise<SubgraphResult>;

type Data = Record<string, unknown>;
type Cursor = { path: ResponsePath; data: unknown; fullResult: Data };

export type PlanRun = {
  plan: QueryPlan;
  /** The operation in the API schema: its variable definitions decide Condition nodes. */
  operation: Operation;
  variables: Record<string, unknown> | undefined;
  supergraphSchema: GraphQLSchema;
  send: SendToSubgraph;
};

type Run = PlanRun & { errors: GraphQLError[] };

const hasOwn = (object: object, key: string) => Object.prototype.hasOwnProperty.call(object, key);
const isObject = (value: unknown): value is Data => value !== undefined && value !== null && typeof value === "object" && !Array.isArray(value);

/** Merges a subgraph's answer into what is already there, as utilities/deepMerge.ts does. */
function deepMerge(target: Data, source: unknown): Data {
  if (source === undefined || source === null) return target;
  const from = source as Data;
  for (const key of Object.keys(from)) {
    const value = from[key];
    if (value === undefined) continue;
    // A key shadowed by the prototype (a field named like an Object method) becomes an own key.
    if (!hasOwn(target, key) && key in target) Object.defineProperty(target, key, { configurable: true, enumerable: true, value: undefined, writable: true });
    const existing = target[key];
    if (existing && isObject(value)) {
      deepMerge(existing as Data, value);
    } else if (Array.isArray(value) && Array.isArray(existing) && value.length === existing.length) {
      for (let i = 0; i < value.length; i++) {
        if (isObject(existing[i]) && isObject(value[i])) deepMerge(existing[i] as Data, value[i]);
        else existing[i] = value[i];
      }
    } else {
      target[key] = value;
    }
  }
  return target;
}

/** The entities' representations: the plan's `requires` selection applied to each entity. */
function selectRepresentation(schema: GraphQLSchema, source: unknown, selections: readonly QueryPlanSelectionNode[]): Data | null {
  if (source === null) return null;
  const from = source as Data;
  const result = Object.create(null) as Data;
  for (const selection of selections) {
    if (selection.kind === "Field") {
      const name = selection.alias ?? selection.name;
      const nested = selection.selections;
      if (!hasOwn(from, name) || typeof from[name] === "undefined") return null;
      const value = from[name];
      if (Array.isArray(value)) result[name] = value.map((element) => (nested ? selectRepresentation(schema, element, nested) : element));
      else if (nested) result[name] = selectRepresentation(schema, value, nested);
      else result[name] = value;
    } else {
      if (!selection.typeCondition || !source) continue;
      if (isObjectOfType(schema, from, selection.typeCondition)) deepMerge(result, selectRepresentation(schema, from, selection.selections));
    }
  }
  return result;
}

/**
 * What is at `path` from `at` on, lists (`@`) flattened one level per element as flatMap
 * does. It walks the path by index: slicing it per element and level (as executeQueryPlan
 * does) was an eighth of the executor's CPU on the gateways benchmark's deep paths.
 */
function flattenResultsAtPath(value: unknown, path: ResponsePath, at = 0): unknown {
  for (let i = at; i < path.length; i++) {
    if (value === undefined || value === null) return value;
    const current = path[i];
    if (current === "@") {
      // Not a list where the plan says one is: fail as flatMap on it would.
      if (!Array.isArray(value)) return (value as unknown[]).flatMap((element) => flattenResultsAtPath(element, path, i + 1));
      const flattened: unknown[] = [];
      for (const element of value) {
        const found = flattenResultsAtPath(element, path, i + 1);
        if (Array.isArray(found)) for (const item of found) flattened.push(item);
        else flattened.push(found);
      }
      return flattened;
    }
    if (typeof current !== "string") throw new Error(`Unexpected ${typeof current} found in path`);
    if (Array.isArray(value)) throw new Error(`Unexpected array in result for path element ${current}`);
    value = hasOwn(value as Data, current) ? (value as Data)[current] : undefined;
  }
  return value;
}

function moveIntoCursor(cursor: Cursor, path: ResponsePath): Cursor | undefined {
  const data = flattenResultsAtPath(cursor.data, path);
  return data ? { path: cursor.path.concat(path), data, fullResult: cursor.fullResult } : undefined;
}

/** The concrete paths of a cursor's path (`@` is every index of a list), in result order. */
function hydratedPaths(parent: (string | number)[], path: ResponsePath, data: unknown, result: (string | number)[][]): void {
  const head = path[0];
  if (data == null) return;
  if (head == null) {
    result.push(parent.slice());
  } else if (head === "@") {
    if (!Array.isArray(data)) throw new Error("expected array when encountering `@`");
    data.forEach((value, i) => {
      parent.push(i);
      hydratedPaths(parent, path.slice(1), value, result);
      parent.pop();
    });
  } else if (typeof head === "string") {
    if (Array.isArray(data)) {
      data.forEach((value, i) => {
        parent.push(i);
        hydratedPaths(parent, path, value, result);
        parent.pop();
      });
    } else if (hasOwn(data as Data, head)) {
      parent.push(head);
      hydratedPaths(parent, path.slice(1), (data as Data)[head], result);
      parent.pop();
    }
  } else {
    throw new Error(`unknown path part "${String(head)}"`);
  }
}

/** Where a subgraph's error is in the client's response (an `_entities` index becomes the entity's path). */
function errorPathFor(fetch: FetchNode, cursor: Cursor) {
  let paths: (string | number)[][] | undefined;
  return (errorPath: readonly (string | number)[] | undefined) => {
    if (fetch.requires && typeof errorPath?.[1] === "number") {
      if (!paths) {
        paths = [];
        hydratedPaths([], cursor.path, cursor.fullResult, paths);
      }
      return [...(paths[errorPath[1]] ?? []), ...errorPath.slice(2)];
    }
    return errorPath ? [...cursor.path, ...errorPath.slice()] : undefined;
  };
}

function downstreamServiceError(original: GraphQLFormattedError, serviceName: string, pathOf: ReturnType<typeof errorPathFor>): GraphQLError {
  const message = original.message || `Error while fetching subquery from service "${serviceName}"`;
  const options = { originalError: original as Error, path: pathOf(original.path), extensions: { ...original.extensions, serviceName } };
  const codeDef = errorCodeDef(original as GraphQLError);
  if (!codeDef && original.extensions?.code) return new GraphQLError(message, options);
  return (codeDef ?? ERRORS.DOWNSTREAM_SERVICE_ERROR).err(message, options);
}

async function executeFetch(run: Run, fetch: FetchNode, cursor: Cursor): Promise<void> {
  const entities: Data[] = Array.isArray(cursor.data) ? cursor.data.filter((value) => value !== null && value !== undefined) : [cursor.data as Data];
  if (entities.length < 1) return;
  const variables = Object.create(null) as Data;
  if (fetch.variableUsages) {
    const provided = run.variables;
    for (const name of fetch.variableUsages) {
      if (provided && hasOwn(provided, name) && typeof provided[name] !== "undefined") variables[name] = provided[name];
    }
  }
  const send = async (variables: Data) => {
    const response = await run.send(fetch.serviceName, { query: fetch.operation, variables, operationName: fetch.operationName });
    if (response.errors) {
      const pathOf = errorPathFor(fetch, cursor);
      run.errors.push(...response.errors.map((error) => downstreamServiceError(error, fetch.serviceName, pathOf)));
    }
    return response.data;
  };

  if (!fetch.requires) {
    const received = await send(variables);
    if (received) applyRewrites(run.supergraphSchema, fetch.outputRewrites, received);
    for (const entity of entities) deepMerge(entity, received);
    return;
  }
  const representations: Data[] = [];
  const representationToEntity: number[] = [];
  entities.forEach((entity, index) => {
    const representation = selectRepresentation(run.supergraphSchema, entity, fetch.requires!);
    if (representation && representation.__typename) {
      applyRewrites(run.supergraphSchema, fetch.inputRewrites, representation);
      representations.push(representation);
      representationToEntity.push(index);
    }
  });
  if (representations.length < 1) return;
  if ("representations" in variables) throw new Error(`Variables cannot contain key "representations"`);
  const received = await send({ ...variables, representations });
  if (!received) return;
  const receivedEntities = received._entities;
  if (!(receivedEntities && Array.isArray(receivedEntities))) throw new Error(`Expected "data._entities" in response to be an array`);
  if (receivedEntities.length !== representations.length) throw new Error(`Expected "data._entities" to contain ${representations.length} elements`);
  for (let i = 0; i < receivedEntities.length; i++) {
    const receivedEntity = receivedEntities[i] as Data | null;
    const existing = entities[representationToEntity[i]!]!;
    if (receivedEntity && !receivedEntity.__typename) receivedEntity.__typename = existing.__typename;
    applyRewrites(run.supergraphSchema, fetch.outputRewrites, receivedEntity as Data);
    deepMerge(existing, receivedEntity);
  }
}

async function executeNode(run: Run, node: PlanNode, cursor: Cursor | undefined): Promise<void> {
  if (!cursor) return;
  switch (node.kind) {
    case "Sequence":
      for (const child of node.nodes) await executeNode(run, child, cursor);
      return;
    case "Parallel":
      await Promise.all(node.nodes.map((child) => executeNode(run, child, cursor)));
      return;
    case "Flatten":
      return executeNode(run, node.node, moveIntoCursor(cursor, node.path));
    case "Fetch":
      try {
        await executeFetch(run, node, cursor);
      } catch (error) {
        // One failed fetch fails its part of the response, not the others.
        run.errors.push(error as GraphQLError);
      }
      return;
    case "Condition": {
      const branch = evaluateCondition(node, run.operation.variableDefinitions, run.variables) ? node.ifClause : node.elseClause;
      if (branch) await executeNode(run, branch, cursor);
      return;
    }
    case "Defer":
      throw new Error("@defer support is not available in the gateway");
  }
}

/** The merged, unshaped data of every fetch, and the errors of the fetches that failed. */
export async function executePlan(plan: PlanRun): Promise<{ data: Data; errors: GraphQLError[] }> {
  const run: Run = { ...plan, errors: [] };
  const data = Object.create(null) as Data;
  if (plan.plan.node?.kind === "Subscription") throw new Error("Execution of subscriptions not supported by gateway");
  if (plan.plan.node) await executeNode(run, plan.plan.node, { path: [], data, fullResult: data });
  return { data, errors: run.errors };
}
