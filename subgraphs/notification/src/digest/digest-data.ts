/** The notifications a digest lists by name; the rest it counts. */
export const DIGEST_MAX_ITEMS = 20;

/** What a digest notification's `data` holds: the push carries it, the mail lists its items. */
export type DigestData = { digest: true; count: number; items: { title: string; body: string }[] };

export const isDigestData = (data: unknown): data is DigestData => typeof data === "object" && data !== null && (data as { digest?: unknown }).digest === true;
