import { errors as joseErrors, jwtVerify, type JWTPayload } from "jose";
import type { PendingSignIn } from "./oidc-authorization-request";
import type { DiscoveredProvider } from "./oidc-discovery";
import { OidcProviderUnavailable, OidcSignInRefused } from "./oidc-errors";
import { providerRequest } from "./oidc-http";

/** What a provider proved about the user who signed in there. */
export type ProviderClaims = {
  subject: string;
  email?: string;
  /** Only a JSON `true` counts: "true" as a string, or a missing claim, is unverified. */
  emailVerified: boolean;
  name?: string;
  preferredUsername?: string;
};

// Asymmetric algorithms only: the keys come from the provider's JWKS. HS256 (keyed with the
// client secret) and "none" are refused.
const ID_TOKEN_ALGORITHMS = ["RS256", "RS384", "RS512", "PS256", "PS384", "PS512", "ES256", "ES384", "ES512", "EdDSA"];
const CLOCK_TOLERANCE_SECONDS = 60;
// OpenID Connect Core §2: sub is at most 255 ASCII characters.
const MAX_SUBJECT_LENGTH = 255;

const stringClaim = (value: unknown) => (typeof value === "string" && value.length > 0 ? value : undefined);

/** Redeems the code at the token endpoint with the PKCE verifier (RFC 6749 §4.1.3, RFC 7636 §4.5). */
async function exchangeCode(provider: DiscoveredProvider, pending: PendingSignIn, code: string): Promise<{ idToken: string; accessToken?: string }> {
  const { clientId, clientSecret } = provider.settings;
  const form = new URLSearchParams({ grant_type: "authorization_code", code, redirect_uri: pending.redirectUri, code_verifier: pending.codeVerifier });
  const headers: Record<string, string> = { "content-type": "application/x-www-form-urlencoded" };
  const methods = provider.metadata.token_endpoint_auth_methods_supported ?? ["client_secret_basic"];
  if (!clientSecret) {
    form.set("client_id", clientId); // a public client: PKCE is its proof
  } else if (methods.includes("client_secret_basic") || !methods.includes("client_secret_post")) {
    // RFC 6749 §2.3.1: both parts form-encoded before base64.
    const credentials = `${encodeURIComponent(clientId)}:${encodeURIComponent(clientSecret)}`;
    headers.authorization = `Basic ${Buffer.from(credentials).toString("base64")}`;
  } else {
    form.set("client_id", clientId);
    form.set("client_secret", clientSecret);
  }
  const { status, body } = await providerRequest(provider.metadata.token_endpoint, { method: "POST", headers, body: form.toString() });
  if (status >= 500) throw new OidcProviderUnavailable(`token endpoint answered ${status}`);
  const answer = (body ?? {}) as { id_token?: unknown; access_token?: unknown; error?: unknown };
  if (status !== 200) {
    // The error code (invalid_grant, invalid_client…) is safe to log; its description may not be.
    throw new OidcSignInRefused(`token endpoint refused the code (${status} ${typeof answer.error === "string" ? answer.error.replace(/[^A-Za-z0-9_]/g, "").slice(0, 40) : "no error code"})`);
  }
  const idToken = stringClaim(answer.id_token);
  if (!idToken) throw new OidcSignInRefused("token response has no ID token");
  const accessToken = stringClaim(answer.access_token);
  return { idToken, ...(accessToken ? { accessToken } : {}) };
}

/** OpenID Connect Core §3.1.3.7: signature (the provider's JWKS), iss, aud, azp, exp, iat and our nonce. */
async function verifyIdToken(provider: DiscoveredProvider, pending: PendingSignIn, idToken: string): Promise<JWTPayload & { sub: string }> {
  let payload: JWTPayload;
  try {
    ({ payload } = await jwtVerify(idToken, provider.jwks, {
      issuer: provider.metadata.issuer,
      audience: provider.settings.clientId,
      algorithms: ID_TOKEN_ALGORITHMS,
      clockTolerance: CLOCK_TOLERANCE_SECONDS,
      requiredClaims: ["sub", "iat", "exp"],
    }));
  } catch (error) {
    // The provider's keys could not be had (no answer, no valid JWKS): its fault, not the token's.
    if (error instanceof joseErrors.JWKSTimeout || error instanceof joseErrors.JWKSInvalid || !(error instanceof joseErrors.JOSEError)) {
      throw new OidcProviderUnavailable("JWKS could not be fetched");
    }
    throw new OidcSignInRefused(`ID token is invalid (${error.code})`);
  }
  if (payload.nonce !== pending.nonce) throw new OidcSignInRefused("ID token nonce does not match");
  // With several audiences the token must say it was issued to us (azp).
  if (Array.isArray(payload.aud) && payload.aud.length > 1 && payload.azp !== provider.settings.clientId) {
    throw new OidcSignInRefused("ID token was issued to another party (azp)");
  }
  const sub = stringClaim(payload.sub);
  if (!sub || sub.length > MAX_SUBJECT_LENGTH) throw new OidcSignInRefused("ID token has no usable subject");
  return { ...payload, sub };
}

/**
 * Claims some providers put only in the UserInfo response (oidc-provider, by default, for
 * the code flow). Core §5.3.2: its `sub` must be the ID token's, else it describes someone else.
 */
async function userInfo(provider: DiscoveredProvider, accessToken: string, subject: string): Promise<Record<string, unknown>> {
  const endpoint = provider.metadata.userinfo_endpoint;
  if (!endpoint) return {};
  const { status, body } = await providerRequest(endpoint, { headers: { authorization: `Bearer ${accessToken}` } });
  if (status >= 500) throw new OidcProviderUnavailable(`userinfo answered ${status}`);
  // A signed (application/jwt) answer is not JSON: then the ID token's claims are all we use.
  if (status !== 200 || typeof body !== "object" || body === null) return {};
  const claims = body as Record<string, unknown>;
  if (claims.sub !== subject) throw new OidcSignInRefused("userinfo describes another subject");
  return claims;
}

/** Turns an authorization code into what the provider proves about the user, or refuses it. */
export async function redeemAuthorizationCode(provider: DiscoveredProvider, pending: PendingSignIn, code: string): Promise<ProviderClaims> {
  const { idToken, accessToken } = await exchangeCode(provider, pending, code);
  const idClaims = await verifyIdToken(provider, pending, idToken);
  // Email and its verification come from one source, so a verified flag never vouches for
  // an address from elsewhere.
  const source: Record<string, unknown> = idClaims.email === undefined && accessToken ? await userInfo(provider, accessToken, idClaims.sub) : idClaims;
  const email = stringClaim(source.email);
  const name = stringClaim(idClaims.name) ?? stringClaim(source.name);
  const preferredUsername = stringClaim(idClaims.preferred_username) ?? stringClaim(source.preferred_username);
  return {
    subject: idClaims.sub,
    ...(email ? { email } : {}),
    emailVerified: email !== undefined && source.email_verified === true,
    ...(name ? { name } : {}),
    ...(preferredUsername ? { preferredUsername } : {}),
  };
}
