import { z } from "zod";
import { forbidden, parseInput, requireUser, requireWriter } from "@startales/service-kit";
import type { OidcAccounts } from "../domain/oidc-accounts";
import type { OidcSignIn } from "../domain/oidc-sign-in";
import type { Resolvers } from "../generated/resolvers-types";

const providerArg = z.string().trim().toLowerCase().min(1, "is required").max(64, "is too long");
const beginArgs = z.object({ provider: providerArg, redirectUri: z.string().min(1, "is required").max(2048, "is too long") });
const completeArgs = z.object({
  state: z.string().min(1, "is required").max(256, "is too long"),
  code: z.string().min(1, "is required").max(4096, "is too long"),
  issuer: z.string().max(2048, "is too long").nullish().transform((issuer) => issuer ?? undefined),
});

/** Sign-in with OpenID Connect providers and the links it makes; merged into the identity resolver map. */
export function createOidcResolvers(deps: { oidcSignIn: OidcSignIn; oidcAccounts: OidcAccounts }) {
  const { oidcSignIn, oidcAccounts } = deps;
  return {
    Query: {
      oidcProviders: () => oidcSignIn.providerNames(),
      myLinkedIdentities: (_parent, _args, { viewer }) => oidcAccounts.listFor(requireUser(viewer).userId),
    },
    Mutation: {
      beginOidcSignIn: (_parent, args) => {
        const { provider, redirectUri } = parseInput(beginArgs, args);
        return oidcSignIn.begin(provider, redirectUri);
      },
      // Like login: whoever calls it is signing in; a caller's own token plays no part.
      completeOidcSignIn: (_parent, args, context) => oidcSignIn.complete(parseInput(completeArgs, args), context),
      unlinkOidcIdentity: (_parent, args, { viewer }) => {
        const user = requireWriter(viewer);
        // A way to sign in is changed by a person who signed in, never by a tool's API key.
        if (user.credential !== "access_token") throw forbidden("API keys cannot change how an account signs in");
        return oidcAccounts.unlink(user.userId, parseInput(providerArg, args.provider));
      },
    },
  } satisfies Pick<Resolvers, "Query" | "Mutation">;
}
