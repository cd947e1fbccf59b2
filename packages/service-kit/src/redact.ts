/**
 * The one redactor for personal data and secrets in free text: log lines (every one passes
 * through it, see logger.ts) and, later, analytics payloads. Key-based redaction in the
 * logger catches `password`, `email`, … fields; this catches the same data wherever else it
 * hides: error messages, URLs, strings built by libraries.
 */
const PATTERNS: [RegExp, string][] = [
  // JWTs (access tokens, gateway assertions): three base64url parts, header starting "eyJ".
  [/\beyJ[A-Za-z0-9_-]{5,}\.[A-Za-z0-9_-]{5,}\.[A-Za-z0-9_-]{5,}/g, "[token]"],
  // API keys.
  [/\bstk_[A-Za-z0-9_-]{8,}/g, "[api-key]"],
  // Bearer credentials of any shape.
  [/\b(Bearer|Basic)\s+[A-Za-z0-9._~+/=-]{8,}/gi, "$1 [redacted]"],
  // Email addresses.
  [/[A-Za-z0-9._%+-]+@[A-Za-z0-9.-]+\.[A-Za-z]{2,}/g, "[email]"],
  // Opaque 256-bit secrets (refresh tokens) and their hashes: 43 base64url characters.
  [/(?<![A-Za-z0-9_-])[A-Za-z0-9_-]{43}(?![A-Za-z0-9_-])/g, "[secret]"],
  // IPv4 client addresses (loopback and the unspecified address say nothing about a person).
  [/\b(?!127\.0\.0\.1\b)(?!0\.0\.0\.0\b)(?:(?:25[0-5]|2[0-4]\d|1?\d?\d)\.){3}(?:25[0-5]|2[0-4]\d|1?\d?\d)\b/g, "[ip]"],
  // IPv6 addresses: all eight groups, or compressed with "::" after at least one group (so
  // clock times like 09:30:00 and the loopback ::1 stay).
  [/(?<![A-Za-z0-9:])(?:(?:[0-9a-f]{1,4}:){7}[0-9a-f]{1,4}|(?:[0-9a-f]{1,4}:){1,7}:(?:[0-9a-f]{1,4}(?::[0-9a-f]{1,4}){0,6})?)(?![A-Za-z0-9:])/gi, "[ip]"],
];

export function redactText(text: string): string {
  let result = text;
  for (const [pattern, replacement] of PATTERNS) result = result.replace(pattern, replacement);
  return result;
}
