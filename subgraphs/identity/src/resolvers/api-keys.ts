import { Role, forbidden, notFound, parseId, parseInput, requireRole, requireUser, requireWriter, type Viewer } from "@startales/service-kit";
import { createApiKeyInput, createServiceAccountInput } from "../domain/api-key-input";
import type { ApiKeyService } from "../domain/api-keys";
import type { ServiceAccountService } from "../domain/service-accounts";
import type { Resolvers } from "../generated/resolvers-types";

/**
 * Minting a key takes a person signed in with an access token, never another API key:
 * otherwise a leaked key could mint successors that outlive its own revocation.
 */
function requireAccessToken(viewer: Viewer) {
  const user = requireWriter(viewer);
  if (user.credential !== "access_token") throw forbidden("API keys cannot create API keys: sign in to create one");
  return user;
}

const requireAdminWithAccessToken = (viewer: Viewer) => {
  requireRole(viewer, Role.ADMIN);
  return requireAccessToken(viewer);
};

/** API keys and service accounts; merged into the identity resolver map. */
export function createApiKeyResolvers(deps: { apiKeys: ApiKeyService; serviceAccounts: ServiceAccountService }) {
  const { apiKeys, serviceAccounts } = deps;
  return {
    Query: {
      myApiKeys: (_parent, _args, { viewer }) => apiKeys.listFor(requireUser(viewer).userId),
      apiKeys: async (_parent, args, { viewer, loaders }) => {
        requireRole(viewer, Role.ADMIN);
        const ownerId = parseId(args.ownerId, "ownerId");
        if (!(await loaders.userById.load(ownerId))) throw notFound("No user with this id");
        return apiKeys.listFor(ownerId);
      },
    },
    Mutation: {
      createApiKey: (_parent, args, context) => {
        const user = requireAccessToken(context.viewer);
        return apiKeys.create(user.userId, parseInput(createApiKeyInput, args.input), context);
      },
      // A WRITE key may revoke (its owner's keys, itself included): a tool that finds its key
      // leaked can kill it without a person signing in.
      revokeApiKey: (_parent, args, context) => apiKeys.revoke(requireWriter(context.viewer), parseId(args.id), context),
      createServiceAccount: (_parent, args, context) => {
        requireAdminWithAccessToken(context.viewer);
        return serviceAccounts.create(parseInput(createServiceAccountInput, args.input).name, context);
      },
      createServiceApiKey: async (_parent, args, context) => {
        requireAdminWithAccessToken(context.viewer);
        const serviceAccountId = parseId(args.serviceAccountId, "serviceAccountId");
        const input = parseInput(createApiKeyInput, args.input);
        await serviceAccounts.require(serviceAccountId);
        return apiKeys.create(serviceAccountId, input, context);
      },
    },
    ApiKey: {
      owner: async (key, _args, { loaders }) => {
        const owner = await loaders.userById.load(key.ownerId);
        // Keys are deleted with their owner (ON DELETE CASCADE), so this is a broken invariant.
        if (!owner) throw new Error(`API key ${key.id} has no owner`);
        return owner;
      },
    },
  } satisfies Pick<Resolvers, "Query" | "Mutation" | "ApiKey">;
}
