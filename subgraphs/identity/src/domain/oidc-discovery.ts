import { allowsPlainHttp, type OidcProviderSettings } from "../oidc-config";
import { OidcProviderUnavailable, answeredStatus, unreachable } from "./oidc-errors";
import { openidClient, type ClientAuth, type Configuration, type OpenidClientModule } from "./openid-client";

/** A provider as openid-client knows it once discovered: its metadata, our client, how we authenticate. */
export type DiscoveredProvider = { settings: OidcProviderSettings; config: Configuration };

// Providers change endpoints rarely and announce key rotations through the JWKS, which
// openid-client refetches by itself when a token names an unknown key.
const METADATA_TTL_MS = 60 * 60_000;
// A provider that does not answer within this holds up a sign-in, not the service.
const PROVIDER_TIMEOUT_SECONDS = 10;
const CLOCK_TOLERANCE_SECONDS = 60;

/**
 * How we authenticate at the token endpoint: HTTP Basic unless the provider supports only
 * client_secret_post (openid-client would default to post, which providers that registered
 * the client for Basic, as oidc-provider does by default, refuse); none for a public client,
 * for which PKCE is the proof. Chosen per request, from the metadata discovery found.
 */
export function clientAuthentication(oidc: OpenidClientModule, clientSecret: string | undefined): ClientAuth {
  if (!clientSecret) return oidc.None();
  const basic = oidc.ClientSecretBasic(clientSecret);
  const post = oidc.ClientSecretPost(clientSecret);
  return (server, client, body, headers) => {
    const methods = server.token_endpoint_auth_methods_supported ?? ["client_secret_basic"];
    const method = methods.includes("client_secret_basic") || !methods.includes("client_secret_post") ? basic : post;
    method(server, client, body, headers);
  };
}

/** Why discovery failed, for the log: no answer, an HTTP status, or openid-client's code for the check that failed. */
function discoveryFailure(settings: OidcProviderSettings, error: unknown): OidcProviderUnavailable {
  if (unreachable(error)) return new OidcProviderUnavailable(`no answer from ${new URL(settings.issuer).origin}`);
  const status = answeredStatus(error);
  if (status !== undefined) return new OidcProviderUnavailable(`discovery answered ${status}`);
  const code = (error as { code?: unknown } | null)?.code;
  return new OidcProviderUnavailable(`discovery failed (${typeof code === "string" ? code : "unknown error"})`);
}

/**
 * Each provider's discovery document (openid-client checks that it names exactly the issuer
 * we asked), fetched on first use and cached; a failed fetch is not cached, so the next
 * sign-in tries again. ID tokens are checked against the provider's JWKS too
 * (enableNonRepudiationChecks): OpenID Connect lets a client that got one straight from
 * the token endpoint over TLS skip that, but we check it anyway, as before the move.
 */
export function createOidcDiscovery() {
  const cache = new Map<string, { fetchedAt: number; discovered: Promise<DiscoveredProvider> }>();

  async function discover(settings: OidcProviderSettings): Promise<DiscoveredProvider> {
    const oidc = await openidClient();
    let config: Configuration;
    try {
      config = await oidc.discovery(
        new URL(settings.issuer),
        settings.clientId,
        { [oidc.clockTolerance]: CLOCK_TOLERANCE_SECONDS },
        clientAuthentication(oidc, settings.clientSecret),
        {
          timeout: PROVIDER_TIMEOUT_SECONDS,
          // openid-client refuses plain HTTP; a provider on loopback (development, tests) is let through, nothing else.
          ...(allowsPlainHttp(settings.issuer) ? { execute: [oidc.allowInsecureRequests] } : {}),
        },
      );
    } catch (error) {
      throw discoveryFailure(settings, error);
    }
    const metadata = config.serverMetadata();
    // A provider that names its PKCE methods must name S256; one that names none is trusted to do it.
    if (metadata.code_challenge_methods_supported && !metadata.supportsPKCE("S256")) {
      throw new OidcProviderUnavailable("provider does not support PKCE with S256");
    }
    oidc.enableNonRepudiationChecks(config);
    return { settings, config };
  }

  return {
    get(settings: OidcProviderSettings): Promise<DiscoveredProvider> {
      const cached = cache.get(settings.name);
      if (cached && Date.now() - cached.fetchedAt < METADATA_TTL_MS) return cached.discovered;
      const discovered = discover(settings);
      cache.set(settings.name, { fetchedAt: Date.now(), discovered });
      discovered.catch(() => {
        if (cache.get(settings.name)?.discovered === discovered) cache.delete(settings.name);
      });
      return discovered;
    },
  };
}

export type OidcDiscovery = ReturnType<typeof createOidcDiscovery>;
