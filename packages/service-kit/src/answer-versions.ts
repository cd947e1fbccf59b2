import type { ApolloServerPlugin } from "@apollo/server";
import { Kind, type DocumentNode, type FragmentDefinitionNode, type GraphQLResolveInfo, type SelectionSetNode } from "graphql";
import type { VersionedFeed } from "./campaign-versions";

/**
 * The response header that names the campaign feeds' versions a subgraph's whole answer was
 * computed from: `world:<campaignId>=<streamId>, campaign:<campaignId>=<streamId>`. Set only
 * when every root field of a query said its answer (with everything below it) depends on
 * nothing else than those versions, the caller and its arguments, and nothing failed; the
 * gateway keeps such an answer for that caller until one of the versions moves
 * (gateway/src/execution/versioned-answers.ts): a surrogate key carrying its version.
 */
export const ANSWER_VERSIONS_HEADER = "startales-answer-versions";

/** Root fields whose answers depend on nothing: never need a declaration. */
const STATIC_ROOT_FIELDS = new Set(["__typename", "__schema", "__type"]);

/**
 * One request's record: which campaign feeds' versions its reads came from, and which root
 * fields vouched for their answers. A read that had no version (Redis away), or two reads of one
 * feed at different versions, make the whole answer unversioned.
 */
export type AnswerVersions = {
  /** Data was read as of `feed`'s `version` for the campaign (null: read without a version). */
  read(feed: VersionedFeed, campaignId: string, version: string | null): void;
  /**
   * The root field being resolved answers, with everything below it, from the versions read
   * in this request, the caller and its arguments alone (no clock, no unversioned row).
   */
  vouch(info: GraphQLResolveInfo): void;
  /** The header's value for an answer with these root fields, or undefined when it is not versioned as a whole. */
  headerFor(rootFields: readonly string[]): string | undefined;
};

export function createAnswerVersions(): AnswerVersions {
  const versions = new Map<string, string>();
  const vouched = new Set<string>();
  let unversioned = false;
  return {
    read(feed, campaignId, version) {
      const key = `${feed}:${campaignId}`;
      // Read without a version, or parts read at two versions (a publication came between): no one version names it.
      if (version === null || (versions.has(key) && versions.get(key) !== version)) unversioned = true;
      else versions.set(key, version);
    },
    vouch(info) {
      // Only a root field vouches for an answer; below the root it would say nothing of its siblings.
      if (info.path.prev === undefined) vouched.add(info.path.key as string);
    },
    headerFor(rootFields) {
      if (unversioned || versions.size === 0) return undefined;
      if (!rootFields.every((field) => vouched.has(field) || STATIC_ROOT_FIELDS.has(field))) return undefined;
      return [...versions].map(([feed, version]) => `${feed}=${version}`).join(", ");
    },
  };
}

/** The response keys of an operation's root fields, through inline fragments and fragment spreads. */
export function rootResponseKeys(selectionSet: SelectionSetNode, document: DocumentNode): string[] {
  const fragments = new Map(
    document.definitions.filter((d): d is FragmentDefinitionNode => d.kind === Kind.FRAGMENT_DEFINITION).map((d) => [d.name.value, d]),
  );
  const keys: string[] = [];
  const visited = new Set<string>();
  const walk = (set: SelectionSetNode) => {
    for (const selection of set.selections) {
      if (selection.kind === Kind.FIELD) keys.push(selection.alias?.value ?? selection.name.value);
      else if (selection.kind === Kind.INLINE_FRAGMENT) walk(selection.selectionSet);
      else if (!visited.has(selection.name.value)) {
        visited.add(selection.name.value);
        const fragment = fragments.get(selection.name.value);
        if (fragment) walk(fragment.selectionSet);
      }
    }
  };
  walk(selectionSet);
  return keys;
}

/** A gateway's entity fetch: only `_entities`, and only representations of the given types. */
function onlyEntitiesOf(types: ReadonlySet<string>, rootFields: readonly string[], variables: Record<string, unknown> | undefined): boolean {
  const representations = variables?.representations;
  return (
    rootFields.length === 1 &&
    rootFields[0] === "_entities" &&
    Array.isArray(representations) &&
    representations.every((rep) => typeof rep === "object" && rep !== null && types.has((rep as { __typename?: unknown }).__typename as string))
  );
}

/**
 * Names the versions of a query's answer in ANSWER_VERSIONS_HEADER when it is versioned as a
 * whole (no errors, every root field vouched for). A root field skipped by @skip/@include
 * vouches for nothing, so such an answer goes unnamed: never wrongly kept, only not kept.
 *
 * `versionedEntities`: entity types every field of which, in this subgraph, answers from
 * versioned reads, the caller and its arguments alone (simulation's Campaign: its world).
 * A gateway's entity fetch of those types alone is vouched for as a whole.
 */
export function answerVersionsPlugin<T extends { answer: AnswerVersions }>(options: { versionedEntities?: readonly string[] } = {}): ApolloServerPlugin<T> {
  const entityTypes = new Set(options.versionedEntities ?? []);
  return {
    async requestDidStart() {
      return {
        async willSendResponse({ contextValue, response, operation, document, request }) {
          if (!operation || operation.operation !== "query" || !document || response.body.kind !== "single") return;
          if (response.body.singleResult.errors?.length) return;
          const rootFields = rootResponseKeys(operation.selectionSet, document);
          const header = onlyEntitiesOf(entityTypes, rootFields, request.variables) ? contextValue.answer.headerFor([]) : contextValue.answer.headerFor(rootFields);
          if (header) response.http.headers.set(ANSWER_VERSIONS_HEADER, header);
        },
      };
    },
  };
}
