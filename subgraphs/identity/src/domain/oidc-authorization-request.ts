import type { DiscoveredProvider } from "./oidc-discovery";
import { openidClient } from "./openid-client";

/** What must be remembered between sending the user to the provider and their return. */
export type PendingSignIn = { provider: string; redirectUri: string; codeVerifier: string; nonce: string };

/**
 * An authorization-code request with PKCE (S256), a state and a nonce (OpenID Connect Core
 * §3.1.2.1), 256 random bits each. The state names the pending sign-in; the verifier never
 * leaves the server until the code is redeemed, so a stolen code is useless; the nonce ties
 * the ID token to this very request.
 */
export async function newAuthorizationRequest(provider: DiscoveredProvider, redirectUri: string): Promise<{ url: string; state: string; pending: PendingSignIn }> {
  const oidc = await openidClient();
  const state = oidc.randomState();
  const pending: PendingSignIn = { provider: provider.settings.name, redirectUri, codeVerifier: oidc.randomPKCECodeVerifier(), nonce: oidc.randomNonce() };
  const url = oidc.buildAuthorizationUrl(provider.config, {
    redirect_uri: redirectUri,
    scope: provider.settings.scopes,
    state,
    nonce: pending.nonce,
    code_challenge: await oidc.calculatePKCECodeChallenge(pending.codeVerifier),
    code_challenge_method: "S256",
  });
  return { url: url.toString(), state, pending };
}
