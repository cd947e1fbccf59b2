/** What a GraphQL client asks for; a browser's navigation prefers text/html over all of these. */
const GRAPHQL_TYPES = ["application/json", "application/graphql-response+json", "multipart/mixed"];

type Range = { type: string; subtype: string; q: number };

function ranges(accept: string): Range[] {
  return accept.split(",").flatMap((part) => {
    const [media = "", ...params] = part.trim().split(";");
    const [type, subtype] = media.trim().toLowerCase().split("/");
    if (!type || !subtype) return [];
    const qParam = params.map((p) => p.trim().toLowerCase()).find((p) => p.startsWith("q="));
    const q = qParam ? Number(qParam.slice(2)) : 1;
    return Number.isFinite(q) ? [{ type, subtype, q: Math.min(Math.max(q, 0), 1) }] : [];
  });
}

/** The quality an Accept header gives a media type, and how specific the range that gave it was (2 exact, 1 type/*, 0 *\/*). */
function quality(accepted: Range[], media: string): { q: number; specificity: number } {
  const [type, subtype] = media.split("/");
  let best = { q: 0, specificity: -1 };
  for (const range of accepted) {
    const specificity = range.type === type && range.subtype === subtype ? 2 : range.type === type && range.subtype === "*" ? 1 : range.type === "*" && range.subtype === "*" ? 0 : -1;
    if (specificity > best.specificity) best = { q: range.q, specificity };
  }
  return best;
}

/**
 * Whether a GET with this Accept header is a browser asking for a page (the explorer)
 * rather than a client asking for a GraphQL response: text/html must rank above every
 * GraphQL media type, by quality, or, at equal quality, by naming it more exactly
 * (`text/html,…,*\/*;q=0.8` yes; `*\/*` or `application/json` no), as Apollo Server decides
 * for its own landing page.
 */
export function prefersHtml(accept: string | undefined): boolean {
  if (!accept) return false;
  const accepted = ranges(accept);
  const html = quality(accepted, "text/html");
  if (html.q <= 0) return false;
  return GRAPHQL_TYPES.every((media) => {
    const other = quality(accepted, media);
    return html.q > other.q || (html.q === other.q && html.specificity > other.specificity);
  });
}
