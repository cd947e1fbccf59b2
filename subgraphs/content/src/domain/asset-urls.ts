import type { UrlSigner } from "./signed-url";

/**
 * Where a client fetches an asset's bytes: on the gateway's public origin (or the CDN in front
 * of it), never on content's own port. A public asset's URL is its hash alone and never
 * changes; a private one's is signed and works for CONTENT_SIGNED_URL_TTL_SECONDS.
 */
export function createAssetUrls(options: { baseUrl: string; signer: UrlSigner; ttlSeconds: number; now?: () => number }) {
  const now = options.now ?? Date.now;
  return {
    of(asset: { sha256: string; visibility: "PUBLIC" | "PRIVATE" }): string {
      const path = `${options.baseUrl}/content/${asset.sha256}`;
      if (asset.visibility === "PUBLIC") return path;
      return `${path}?${options.signer.sign(asset.sha256, new Date(now() + options.ttlSeconds * 1000))}`;
    },
  };
}

export type AssetUrls = ReturnType<typeof createAssetUrls>;
