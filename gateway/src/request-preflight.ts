import { Lexer, Source, TokenKind, type GraphQLError } from "graphql";
import { ErrorCode, checkJsonLimits, describeJsonViolation, requestError, type JsonLimits } from "@startales/service-kit";

export type PreflightLimits = {
  /** Deepest bracket nesting of a document, and of a JSON value in variables or extensions. */
  maxDepth: number;
  /** Values in all of one operation's variables (and, apart, in its extensions). */
  maxValues: number;
  /** The parser's token limit: the nesting scan reads no further than parsing would. */
  maxTokens: number;
};

const OPENING = new Set<TokenKind>([TokenKind.BRACE_L, TokenKind.BRACKET_L, TokenKind.PAREN_L]);
const CLOSING = new Set<TokenKind>([TokenKind.BRACE_R, TokenKind.BRACKET_R, TokenKind.PAREN_R]);
const SHA256_HEX = /^[0-9a-f]{64}$/i;

const STRINGS = new Set<TokenKind>([TokenKind.STRING, TokenKind.BLOCK_STRING]);

/**
 * What one read of a document's tokens finds (graphql-js's own lexer, so strings, block
 * strings and comments are read as the parser would, and never past `maxTokens`): the
 * deepest nesting of braces, brackets and parentheses, and whether a string literal holds
 * U+0000, raw or escaped. Undefined when the lexer meets something it cannot read: the
 * parser will report that itself, with its location.
 */
export function scanDocument(query: string, maxTokens: number): { nesting: number; nulInString: boolean } | undefined {
  const lexer = new Lexer(new Source(query));
  let depth = 0;
  let deepest = 0;
  let nulInString = false;
  try {
    for (let tokens = 0; tokens < maxTokens; tokens++) {
      const token = lexer.advance();
      if (token.kind === TokenKind.EOF) break;
      if (OPENING.has(token.kind)) deepest = Math.max(deepest, ++depth);
      else if (CLOSING.has(token.kind)) depth--;
      else if (STRINGS.has(token.kind) && token.value.includes("\u0000")) nulInString = true;
    }
  } catch {
    return undefined;
  }
  return { nesting: deepest, nulInString };
}

/**
 * What the gateway checks of one operation's raw parameters (a POST body's object, a GET's
 * search parameters, a WebSocket `subscribe` payload) before Apollo parses, validates or
 * runs anything. Each check guards code that recurses over client input (graphql-js's
 * parser and validation, JSON.stringify of variables for a subgraph, coercion), so no
 * request can overflow the gateway's stack; the rest of the request's shape is left to
 * Apollo, which refuses it with 400 BAD_REQUEST.
 */
export function preflightRequest(request: Record<string, unknown>, limits: PreflightLimits): GraphQLError | undefined {
  const json: JsonLimits = { maxDepth: limits.maxDepth, maxValues: limits.maxValues };
  const { query, variables, extensions } = request;

  if (extensions !== undefined && extensions !== null && typeof extensions === "object") {
    const { violation } = checkJsonLimits(extensions, json, "extensions");
    if (violation) return requestError(ErrorCode.BAD_REQUEST, describeJsonViolation(violation, json, "extensions"));
    const persisted = (extensions as Record<string, unknown>).persistedQuery;
    if (persisted !== undefined) {
      const hash = persisted !== null && typeof persisted === "object" ? (persisted as Record<string, unknown>).sha256Hash : undefined;
      if (typeof hash !== "string" || !SHA256_HEX.test(hash)) {
        return requestError(ErrorCode.BAD_REQUEST, "extensions.persistedQuery.sha256Hash must be the SHA-256 of the query, in hex");
      }
    }
  }

  if (variables !== undefined && variables !== null && typeof variables === "object" && !Array.isArray(variables)) {
    // Per variable, so the message names the one at fault; the values are counted over all of them.
    let remaining = limits.maxValues;
    for (const [name, value] of Object.entries(variables)) {
      const { violation, values } = checkJsonLimits(value, { ...json, maxValues: remaining }, `$${name}`);
      if (violation) return requestError(ErrorCode.BAD_USER_INPUT, describeJsonViolation(violation, json, `Variable $${name}`));
      remaining -= values;
    }
  }

  if (typeof query === "string") {
    const scan = scanDocument(query, limits.maxTokens);
    if (scan && scan.nesting > limits.maxDepth) {
      return requestError(ErrorCode.QUERY_TOO_COMPLEX, `Document nesting ${scan.nesting} exceeds the limit of ${limits.maxDepth}`);
    }
    if (scan?.nulInString) return requestError(ErrorCode.BAD_USER_INPUT, "A string in the document holds a NUL character (U+0000): text may not contain it");
  }
  return undefined;
}
