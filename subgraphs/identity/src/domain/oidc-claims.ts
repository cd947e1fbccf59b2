import { registerInput } from "./input";
import type { ProviderClaims } from "./oidc-code-redemption";

const FALLBACK_DISPLAY_NAME = "Player";
const MAX_DISPLAY_NAME = 32;

/** The provider's email as register() stores one (trimmed, lower case), or undefined if it is not a valid address. */
export function normalizedEmail(claims: ProviderClaims): string | undefined {
  const parsed = registerInput.shape.email.safeParse(claims.email);
  return parsed.success ? parsed.data : undefined;
}

/**
 * A display name that meets register()'s rules, made from what the provider says: its
 * `name`, else `preferred_username`, with disallowed characters turned into spaces, cut to
 * 32 characters; "Player" when nothing usable is left. Providers' names are free text
 * (emoji, "<script>", 200 characters), and a sign-in must not fail over one.
 */
export function displayNameFrom(claims: ProviderClaims): string {
  for (const candidate of [claims.name, claims.preferredUsername]) {
    if (!candidate) continue;
    const cleaned = candidate
      .normalize("NFC")
      .replace(/[^\p{L}\p{M}\p{N} _.-]/gu, " ")
      .replace(/\s+/g, " ")
      // It must start with a letter or digit.
      .replace(/^[^\p{L}\p{N}]+/u, "");
    // Cut by code points, so a letter outside the BMP is never split in half.
    let name = "";
    for (const char of cleaned) {
      if (name.length + char.length > MAX_DISPLAY_NAME) break;
      name += char;
    }
    const parsed = registerInput.shape.displayName.safeParse(name);
    if (parsed.success) return parsed.data;
  }
  return FALLBACK_DISPLAY_NAME;
}
