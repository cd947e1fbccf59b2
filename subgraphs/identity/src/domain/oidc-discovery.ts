import { createRemoteJWKSet, type JWTVerifyGetKey } from "jose";
import { z } from "zod";
import type { OidcProviderSettings } from "../oidc-config";
import { OidcProviderUnavailable } from "./oidc-errors";
import { providerRequest } from "./oidc-http";

/** What we use of a provider's discovery document (OpenID Connect Discovery 1.0 §3). */
const metadataSchema = z.object({
  issuer: z.string(),
  authorization_endpoint: z.url(),
  token_endpoint: z.url(),
  jwks_uri: z.url(),
  userinfo_endpoint: z.url().optional(),
  token_endpoint_auth_methods_supported: z.array(z.string()).optional(),
  code_challenge_methods_supported: z.array(z.string()).optional(),
});

export type OidcMetadata = z.infer<typeof metadataSchema>;

export type DiscoveredProvider = { settings: OidcProviderSettings; metadata: OidcMetadata; jwks: JWTVerifyGetKey };

// Providers change endpoints rarely and announce key rotations through the JWKS, which
// jose refetches by itself when a token names an unknown key.
const METADATA_TTL_MS = 60 * 60_000;

/**
 * Each provider's discovery document and keys, fetched on first use and cached; a failed
 * fetch is not cached, so the next sign-in tries again.
 */
export function createOidcDiscovery() {
  const cache = new Map<string, { fetchedAt: number; discovered: Promise<DiscoveredProvider> }>();

  async function discover(settings: OidcProviderSettings): Promise<DiscoveredProvider> {
    const url = `${settings.issuer.replace(/\/$/, "")}/.well-known/openid-configuration`;
    const { status, body } = await providerRequest(url);
    if (status !== 200) throw new OidcProviderUnavailable(`discovery answered ${status}`);
    const parsed = metadataSchema.safeParse(body);
    if (!parsed.success) throw new OidcProviderUnavailable("discovery document is not valid");
    const metadata = parsed.data;
    // Discovery §4.3: the document must name exactly the issuer we asked, or ID tokens
    // from another issuer could pass as this one's.
    if (metadata.issuer !== settings.issuer) throw new OidcProviderUnavailable("discovery document names another issuer");
    if (metadata.code_challenge_methods_supported && !metadata.code_challenge_methods_supported.includes("S256")) {
      throw new OidcProviderUnavailable("provider does not support PKCE with S256");
    }
    const jwks = createRemoteJWKSet(new URL(metadata.jwks_uri), { cacheMaxAge: 10 * 60_000, cooldownDuration: 30_000, timeoutDuration: 5_000 });
    return { settings, metadata, jwks };
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
