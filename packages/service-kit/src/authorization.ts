import {
  defaultFieldResolver,
  isObjectType,
  valueFromASTUntyped,
  type ConstDirectiveNode,
  type GraphQLFieldResolver,
  type GraphQLObjectType,
  type GraphQLSchema,
} from "graphql";
import { forbidden, unauthenticated } from "./errors";
import { requireWriter, type Viewer } from "./viewer";

/**
 * Authorization declared in the subgraph schema with Federation's directives and enforced
 * here, in the subgraph that owns the data, for every field however it is reached (root
 * fields, `_entities`, nested objects, subscription events):
 *
 *   @authenticated                      the caller must be signed in (else UNAUTHENTICATED)
 *   @requiresScopes(scopes: [["admin"], ["analyst", "read"]])
 *                                       any one inner list, all of its claims (else FORBIDDEN);
 *                                       claims are the caller's roles in lower case plus the
 *                                       scopes of its credential ("read", "write")
 *   @policy(policies: [["campaign_reader"]])
 *                                       any one inner list, all of its named policies; a
 *                                       policy is a function the subgraph registers, for
 *                                       rules that depend on data (membership, ownership).
 *                                       A policy may throw its own error to explain a refusal.
 *
 * A directive on a type applies to every field of that type, together with the field's own.
 * The built-in policy `writer` admits callers who may change data: not analysts, not
 * read-only API keys. Subgraphs put it on their Mutation type, or on each mutation that is
 * a write (sign-in and token refresh are not).
 */

/** What a policy sees: the caller, and where it is asked (the type whose field resolves). */
export type PolicyInput<TContext> = {
  viewer: Viewer;
  typeName: string;
  parent: unknown;
  args: Record<string, unknown>;
  context: TContext;
};
export type Policy<TContext> = (input: PolicyInput<TContext>) => boolean | Promise<boolean>;
export type Policies<TContext> = Record<string, Policy<TContext>>;

/** One directive's argument: any one group may pass, and a group needs all of its names. */
type AnyOfAll = string[][];

export type FieldRequirements = {
  authenticated: boolean;
  /** One clause per @requiresScopes (type-level and field-level): every clause must pass. */
  scopes: AnyOfAll[];
  /** One clause per @policy (type-level and field-level): every clause must pass. */
  policies: AnyOfAll[];
};

/** Policies every subgraph has. */
export const builtinPolicies: Policies<unknown> = {
  writer: ({ viewer }) => {
    if (viewer.kind === "user") requireWriter(viewer); // FORBIDDEN, saying why
    return viewer.kind === "user";
  },
};

/** The claims @requiresScopes checks: roles in lower case and the credential's scopes. */
export function claimsOf(viewer: Viewer): Set<string> {
  if (viewer.kind !== "user") return new Set();
  return new Set([...viewer.roles.map((role) => role.toLowerCase()), ...viewer.scopes]);
}

function groups(directive: ConstDirectiveNode, argument: string): AnyOfAll {
  const node = directive.arguments?.find((a) => a.name.value === argument)?.value;
  const value = node ? (valueFromASTUntyped(node) as unknown) : [];
  return Array.isArray(value) ? value.map((group) => (Array.isArray(group) ? group.map(String) : [String(group)])) : [];
}

function requirementsFrom(directives: readonly ConstDirectiveNode[], into: FieldRequirements): void {
  for (const directive of directives) {
    const name = directive.name.value;
    if (name === "authenticated") into.authenticated = true;
    else if (name === "requiresScopes") into.scopes.push(groups(directive, "scopes"));
    else if (name === "policy") into.policies.push(groups(directive, "policies"));
  }
}

function typeDirectives(type: GraphQLObjectType): ConstDirectiveNode[] {
  return [type.astNode, ...type.extensionASTNodes].flatMap((node) => [...(node?.directives ?? [])]);
}

/** What the schema declares for one field (type-level directives included). */
export function requirementsOf(schema: GraphQLSchema, type: GraphQLObjectType, fieldName: string): FieldRequirements {
  const requirements: FieldRequirements = { authenticated: false, scopes: [], policies: [] };
  requirementsFrom(typeDirectives(type), requirements);
  requirementsFrom(type.getFields()[fieldName]?.astNode?.directives ?? [], requirements);
  return requirements;
}

const isRestricted = (r: FieldRequirements) => r.authenticated || r.scopes.length > 0 || r.policies.length > 0;

async function check<TContext>(
  requirements: FieldRequirements,
  policies: Policies<TContext>,
  input: PolicyInput<TContext>,
): Promise<void> {
  const { viewer } = input;
  const needsUser = requirements.authenticated || requirements.scopes.length > 0;
  if (needsUser && viewer.kind !== "user") throw unauthenticated();
  if (requirements.scopes.length > 0) {
    const claims = claimsOf(viewer);
    for (const clause of requirements.scopes) {
      if (!clause.some((group) => group.every((claim) => claims.has(claim)))) {
        throw forbidden(`Requires ${clause.map((g) => g.join(" and ")).join(", or ")}`);
      }
    }
  }
  for (const clause of requirements.policies) {
    if (!(await anyGroupPasses(clause, policies, input))) {
      if (viewer.kind !== "user") throw unauthenticated();
      throw forbidden();
    }
  }
}

async function anyGroupPasses<TContext>(clause: AnyOfAll, policies: Policies<TContext>, input: PolicyInput<TContext>): Promise<boolean> {
  for (const group of clause) {
    let all = true;
    for (const name of group) {
      if (!(await (policies[name] as Policy<TContext>)(input))) {
        all = false;
        break;
      }
    }
    if (all) return true;
  }
  return false;
}

/**
 * Wraps the resolvers of every restricted field of the schema (in place) so the declared
 * requirements are checked before the field resolves. Unknown policy names fail at start-up.
 */
export function enforceAuthorization<TContext>(
  schema: GraphQLSchema,
  options: { policies: Policies<TContext>; viewerOf: (context: TContext) => Viewer },
): GraphQLSchema {
  const policies = { ...(builtinPolicies as Policies<TContext>), ...options.policies };
  for (const type of Object.values(schema.getTypeMap())) {
    if (!isObjectType(type) || type.name.startsWith("__")) continue;
    for (const [fieldName, field] of Object.entries(type.getFields())) {
      const requirements = requirementsOf(schema, type, fieldName);
      if (!isRestricted(requirements)) continue;
      for (const name of requirements.policies.flat(2)) {
        if (!policies[name]) throw new Error(`${type.name}.${fieldName} uses the unknown policy "${name}"`);
      }
      const resolve: GraphQLFieldResolver<unknown, TContext> = field.resolve ?? defaultFieldResolver;
      field.resolve = async (parent, args, context, info) => {
        await check(requirements, policies, { viewer: options.viewerOf(context), typeName: type.name, parent, args, context });
        return resolve(parent, args, context, info);
      };
    }
  }
  return schema;
}
