import { createHmac, timingSafeEqual } from "node:crypto";

/**
 * Expiring links to private blobs: `?expires=<unix seconds>&signature=<HMAC-SHA256 of the
 * blob's hash and the expiry>`, the filesystem driver's answer to S3's presigned URLs. They
 * are checked by content, behind the gateway, so the bytes' location is never exposed and a
 * CDN in front of the gateway can still be told not to keep them (Cache-Control: private).
 */
export function createUrlSigner(secret: string) {
  const mac = (sha256: string, expires: number) => createHmac("sha256", secret).update(`${sha256}\n${expires}`).digest();

  return {
    /** The query string (without `?`) that lets its holder read `sha256` until `expiresAt`. */
    sign(sha256: string, expiresAt: Date): string {
      const expires = Math.floor(expiresAt.getTime() / 1000);
      return `expires=${expires}&signature=${mac(sha256, expires).toString("base64url")}`;
    },
    /** The expiry (ms) when the query signs `sha256` and has not expired, else null. */
    verify(sha256: string, query: URLSearchParams, now = Date.now()): number | null {
      const expires = Number(query.get("expires"));
      const signature = query.get("signature");
      if (!Number.isSafeInteger(expires) || !signature || expires * 1000 <= now) return null;
      const given = Buffer.from(signature, "base64url");
      const expected = mac(sha256, expires);
      return given.length === expected.length && timingSafeEqual(given, expected) ? expires * 1000 : null;
    },
  };
}

export type UrlSigner = ReturnType<typeof createUrlSigner>;
