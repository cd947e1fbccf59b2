import type { PendingSignIn } from "./oidc-authorization-request";
import type { DiscoveredProvider } from "./oidc-discovery";
import { OidcProviderUnavailable, OidcSignInRefused, answeredStatus, unreachable } from "./oidc-errors";
import { openidClient, type OpenidClientModule } from "./openid-client";

/** What a provider proved about the user who signed in there. */
export type ProviderClaims = {
  subject: string;
  email?: string;
  /** Only a JSON `true` counts: "true" as a string, or a missing claim, is unverified. */
  emailVerified: boolean;
  name?: string;
  preferredUsername?: string;
};

/** What the provider sent back to the redirect URI: the code, our state and, per RFC 9207, its `iss`. */
export type AuthorizationResponse = { code: string; state: string; issuer?: string };

// OpenID Connect Core §2: sub is at most 255 ASCII characters.
const MAX_SUBJECT_LENGTH = 255;

const stringClaim = (value: unknown) => (typeof value === "string" && value.length > 0 ? value : undefined);

type LibraryError = Error & { code?: unknown; cause?: unknown };
type ProblemDetail = { message?: unknown; cause?: { claim?: unknown } };

/**
 * The reasons our logs and audit have always given for a refused ID token. They name the
 * failed check in jose's words, as before openid-client: operators' searches keep working.
 */
const idTokenInvalid = (check: string) => new OidcSignInRefused(`ID token is invalid (${check})`);

/**
 * What went wrong, in our terms, when openid-client refused the authorization response, the
 * token endpoint's answer or the ID token: the provider's fault (it did not answer, or failed)
 * is OidcProviderUnavailable; anything the user or an attacker could cause is OidcSignInRefused.
 * openid-client wraps the check that failed as the cause of its error.
 */
function redemptionFailure(oidc: OpenidClientModule, error: unknown): OidcProviderUnavailable | OidcSignInRefused {
  if (unreachable(error)) return new OidcProviderUnavailable("no answer from the provider");
  const status = answeredStatus(error);
  if (status !== undefined && status >= 500) return new OidcProviderUnavailable(`provider answered ${status}`);
  if (error instanceof oidc.ResponseBodyError || error instanceof oidc.WWWAuthenticateChallengeError) {
    const code = error instanceof oidc.ResponseBodyError ? error.error : error.cause[0]?.parameters.error;
    // The error code (invalid_grant, invalid_client…) is safe to log; its description may not be.
    const safeCode = typeof code === "string" ? code.replace(/[^A-Za-z0-9_]/g, "").slice(0, 40) : "no error code";
    return new OidcSignInRefused(`token endpoint refused the code (${error.status} ${safeCode})`);
  }
  // A 4xx without an OAuth error body: from the token endpoint, or the JWKS the signature needed.
  if (status !== undefined) return new OidcSignInRefused(`provider answered ${status} without an error code`);
  const { code } = error as LibraryError;
  const detail = ((error as LibraryError).cause ?? {}) as ProblemDetail;
  const claim = detail.cause?.claim;
  switch (code) {
    case "OAUTH_INVALID_RESPONSE":
      // RFC 9207: the code came with another provider's iss.
      if (detail.message === 'unexpected "iss" (issuer) response parameter value') return new OidcSignInRefused("iss is another provider's");
      if (detail.message === "JWT signature verification failed") return idTokenInvalid("ERR_JWS_SIGNATURE_VERIFICATION_FAILED");
      break;
    case "OAUTH_JWT_CLAIM_COMPARISON_FAILED":
      return claim === "nonce" ? new OidcSignInRefused("ID token nonce does not match") : idTokenInvalid("ERR_JWT_CLAIM_VALIDATION_FAILED");
    case "OAUTH_JWT_TIMESTAMP_CHECK_FAILED":
      return idTokenInvalid(claim === "exp" ? "ERR_JWT_EXPIRED" : "ERR_JWT_CLAIM_VALIDATION_FAILED");
    case "OAUTH_KEY_SELECTION_FAILED":
      return idTokenInvalid("ERR_JWKS_NO_MATCHING_KEY");
  }
  // openid-client's own messages are fixed text, never a token or a claim's value.
  const message = typeof detail.message === "string" ? detail.message : (error as Error).message;
  return new OidcSignInRefused(`provider's answer refused (${typeof code === "string" ? code : "no code"}: ${message})`);
}

/**
 * Claims some providers put only in the UserInfo response (oidc-provider, by default, for
 * the code flow); openid-client checks that its `sub` is the ID token's (Core §5.3.2), else
 * it describes someone else. A provider without UserInfo, or one that refuses, gives none.
 */
async function userInfo(oidc: OpenidClientModule, provider: DiscoveredProvider, accessToken: string, subject: string): Promise<Record<string, unknown>> {
  if (!provider.config.serverMetadata().userinfo_endpoint) return {};
  try {
    return await oidc.fetchUserInfo(provider.config, accessToken, subject);
  } catch (error) {
    const status = answeredStatus(error);
    if (unreachable(error) || (status !== undefined && status >= 500)) throw new OidcProviderUnavailable(`userinfo answered ${status ?? "nothing"}`);
    if ((error as LibraryError).code === "OAUTH_JSON_ATTRIBUTE_COMPARISON_FAILED") throw new OidcSignInRefused("userinfo describes another subject");
    return {};
  }
}

/**
 * Redeems the code the provider sent back, and returns what the provider proves about the
 * user, or refuses it. openid-client does the protocol: the `iss` of the response (RFC 9207,
 * mix-up), the token request with our client authentication and the PKCE verifier, and the
 * ID token (signature by the provider's JWKS, iss, aud, azp, exp, iat, our nonce).
 */
export async function redeemAuthorizationCode(provider: DiscoveredProvider, pending: PendingSignIn, response: AuthorizationResponse): Promise<ProviderClaims> {
  const oidc = await openidClient();
  // The callback as the browser reached it. The state was already matched (it named this
  // pending sign-in in the state store), so openid-client's own state check passes.
  const callback = new URL(pending.redirectUri);
  callback.searchParams.set("code", response.code);
  callback.searchParams.set("state", response.state);
  // The API lets a client leave out the iss it got back (the field is optional); then the
  // response is taken as the provider's own, as it always was, rather than refused by
  // openid-client for a provider that announces RFC 9207 support.
  callback.searchParams.set("iss", response.issuer ?? provider.config.serverMetadata().issuer);

  let tokens: Awaited<ReturnType<OpenidClientModule["authorizationCodeGrant"]>>;
  try {
    tokens = await oidc.authorizationCodeGrant(provider.config, callback, {
      pkceCodeVerifier: pending.codeVerifier,
      expectedState: response.state,
      expectedNonce: pending.nonce,
      idTokenExpected: true,
    });
  } catch (error) {
    throw redemptionFailure(oidc, error);
  }
  const idClaims = tokens.claims();
  const sub = stringClaim(idClaims?.sub);
  if (!idClaims || !sub || sub.length > MAX_SUBJECT_LENGTH) throw new OidcSignInRefused("ID token has no usable subject");

  // Email and its verification come from one source, so a verified flag never vouches for
  // an address from elsewhere.
  const source: Record<string, unknown> = idClaims.email === undefined && tokens.access_token ? await userInfo(oidc, provider, tokens.access_token, sub) : idClaims;
  const email = stringClaim(source.email);
  const name = stringClaim(idClaims.name) ?? stringClaim(source.name);
  const preferredUsername = stringClaim(idClaims.preferred_username) ?? stringClaim(source.preferred_username);
  return {
    subject: sub,
    ...(email ? { email } : {}),
    emailVerified: email !== undefined && source.email_verified === true,
    ...(name ? { name } : {}),
    ...(preferredUsername ? { preferredUsername } : {}),
  };
}
