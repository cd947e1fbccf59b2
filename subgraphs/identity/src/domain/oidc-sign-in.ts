import { GraphQLError } from "graphql";
import { ErrorCode, anonymous, appError, badInput, unauthenticated, type AuditContext, type Logger } from "@startales/service-kit";
import type { Db } from "../db";
import { Prisma } from "../generated/prisma/client";
import type { OidcProviderSettings } from "../oidc-config";
import { recordAccountEvent } from "./account-events";
import type { OidcAccounts } from "./oidc-accounts";
import { recordOidcSignIn } from "./oidc-audit";
import { newAuthorizationRequest } from "./oidc-authorization-request";
import { redeemAuthorizationCode, type ProviderClaims } from "./oidc-code-redemption";
import type { OidcDiscovery } from "./oidc-discovery";
import { OidcProviderUnavailable, OidcSignInRefused } from "./oidc-errors";
import type { OidcStateStore } from "./oidc-state-store";
import type { Session, SessionService } from "./sessions";

export type OidcAuthorization = { authorizationUrl: string; state: string; expiresAt: Date };

// One message for every refusal: which check failed is for our logs, not for a prober.
const SIGN_IN_FAILED = "Sign-in with the provider failed; start again";
const UNAVAILABLE = "Sign-in with this provider is unavailable right now; try again shortly";

const isUniqueViolation = (error: unknown) => error instanceof Prisma.PrismaClientKnownRequestError && error.code === "P2002";

/**
 * Sign-in with OpenID Connect providers, authorization code flow with PKCE: begin() sends
 * the user to the provider, complete() redeems what they bring back for a session.
 */
export function createOidcSignIn(deps: {
  db: Db;
  providers: OidcProviderSettings[];
  redirectUris: string[];
  discovery: OidcDiscovery;
  stateStore: OidcStateStore;
  accounts: OidcAccounts;
  sessions: SessionService;
  /** Called after a sign-in committed (its account events): wakes the outbox relay. */
  afterCommit?: () => void;
}) {
  const { db, discovery, stateStore, accounts, sessions } = deps;
  const byName = new Map(deps.providers.map((provider) => [provider.name, provider]));
  const redirectUris = new Set(deps.redirectUris);

  /** The user (found, linked or created) and their new session, in one transaction. */
  async function signIn(provider: string, claims: ProviderClaims, audit: AuditContext, logger: Logger) {
    for (let attempt = 1; ; attempt++) {
      try {
        const session = await db.$transaction(async (tx) => {
          const { user, outcome } = await accounts.resolve(tx, provider, claims);
          if (outcome === "created") await recordAccountEvent(tx, user.id, "ACCOUNT_REGISTERED", { method: "OIDC" });
          await recordAccountEvent(tx, user.id, "SIGNED_IN", { method: "OIDC" });
          const session = await sessions.startSession(user, tx);
          await recordOidcSignIn(tx, audit, logger, { outcome: "succeeded", provider, userId: user.id, account: outcome });
          return session;
        });
        deps.afterCommit?.();
        return session;
      } catch (error) {
        // Two first sign-ins of one person at once: one creates the user and the link, the
        // other hits a unique constraint, and on its second attempt finds the link.
        if (attempt < 2 && isUniqueViolation(error)) continue;
        throw error;
      }
    }
  }

  return {
    providerNames: (): string[] => [...byName.keys()],

    async begin(providerName: string, redirectUri: string): Promise<OidcAuthorization> {
      const settings = byName.get(providerName);
      if (!settings) throw badInput("provider is not a configured sign-in provider", [{ field: "provider", message: "is not a configured sign-in provider" }]);
      if (!redirectUris.has(redirectUri)) {
        throw badInput("redirectUri is not an allowed redirect URI", [{ field: "redirectUri", message: "is not an allowed redirect URI" }]);
      }
      try {
        const request = await newAuthorizationRequest(await discovery.get(settings), redirectUri);
        const expiresAt = await stateStore.save(request.state, request.pending);
        return { authorizationUrl: request.url, state: request.state, expiresAt };
      } catch (error) {
        if (error instanceof OidcProviderUnavailable) throw appError(ErrorCode.SERVICE_UNAVAILABLE, UNAVAILABLE);
        throw error;
      }
    },

    /** `issuer`: the `iss` the provider sent back with the code (RFC 9207), when it sends one. */
    async complete(input: { state: string; code: string; issuer?: string }, context: AuditContext & { logger: Logger }): Promise<Session> {
      const { logger } = context;
      // Like login: the caller is signing in, so entries have no actor whatever token it sent.
      const audit = { viewer: anonymous, requestId: context.requestId };
      let provider: string | undefined;
      try {
        // Taken before anything else is checked: whatever happens next, this state is spent.
        const pending = await stateStore.take(input.state);
        if (!pending) throw new OidcSignInRefused("state is unknown, expired or already used");
        provider = pending.provider;
        const settings = byName.get(pending.provider);
        if (!settings) throw new OidcSignInRefused("provider is no longer configured");
        // Mix-up defence (RFC 9207) is redemption's: the code must come from the provider this sign-in was started with.
        const claims = await redeemAuthorizationCode(await discovery.get(settings), pending, input);
        return await signIn(settings.name, claims, audit, logger);
      } catch (error) {
        const reason =
          error instanceof OidcSignInRefused || error instanceof OidcProviderUnavailable
            ? error.reason
            : error instanceof GraphQLError
              ? `refused: ${String(error.extensions.code)}`
              : "internal error";
        await recordOidcSignIn(db, audit, logger, { outcome: "failed", ...(provider ? { provider } : {}), reason });
        if (error instanceof OidcSignInRefused) throw unauthenticated(SIGN_IN_FAILED);
        if (error instanceof OidcProviderUnavailable) throw appError(ErrorCode.SERVICE_UNAVAILABLE, UNAVAILABLE);
        throw error;
      }
    },
  };
}

export type OidcSignIn = ReturnType<typeof createOidcSignIn>;
