import { createHash, randomBytes } from "node:crypto";
import type { DiscoveredProvider } from "./oidc-discovery";

/** What must be remembered between sending the user to the provider and their return. */
export type PendingSignIn = { provider: string; redirectUri: string; codeVerifier: string; nonce: string };

// 256 bits each: state and nonce cannot be guessed, and the PKCE verifier is 43 characters
// of base64url, the shortest RFC 7636 allows.
const random = () => randomBytes(32).toString("base64url");

/**
 * An authorization-code request with PKCE (S256), a state and a nonce (OpenID Connect Core
 * §3.1.2.1). The state names the pending sign-in; the verifier never leaves the server
 * until the code is redeemed, so a stolen code is useless; the nonce ties the ID token to
 * this very request.
 */
export function newAuthorizationRequest(provider: DiscoveredProvider, redirectUri: string): { url: string; state: string; pending: PendingSignIn } {
  const state = random();
  const pending: PendingSignIn = { provider: provider.settings.name, redirectUri, codeVerifier: random(), nonce: random() };
  const url = new URL(provider.metadata.authorization_endpoint);
  const params = {
    response_type: "code",
    client_id: provider.settings.clientId,
    redirect_uri: redirectUri,
    scope: provider.settings.scopes,
    state,
    nonce: pending.nonce,
    code_challenge: createHash("sha256").update(pending.codeVerifier).digest("base64url"),
    code_challenge_method: "S256",
  };
  for (const [name, value] of Object.entries(params)) url.searchParams.set(name, value);
  return { url: url.toString(), state, pending };
}
