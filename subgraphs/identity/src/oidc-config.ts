import { z } from "zod";

/** One OpenID Connect provider users may sign in with, from OIDC_<NAME>_* variables. */
export type OidcProviderSettings = {
  /** The name in OIDC_PROVIDERS, lower case: what clients pass as `provider`, and what each link stores. */
  name: string;
  issuer: string;
  clientId: string;
  /** Absent for a public client (PKCE alone); else sent with HTTP Basic to the token endpoint. */
  clientSecret?: string;
  scopes: string;
};

type Issue = { variable: string; message: string };

const isLoopback = (url: URL) => ["127.0.0.1", "[::1]", "localhost"].includes(url.hostname);

/**
 * Whether sign-in may talk to this issuer over plain HTTP: only on loopback, where nothing
 * crosses a network. openid-client refuses http:// otherwise, so a development provider
 * elsewhere (http://keycloak:8080) must be served over https, or reached through loopback.
 */
export const allowsPlainHttp = (issuer: string) => URL.canParse(issuer) && new URL(issuer).protocol === "http:" && isLoopback(new URL(issuer));

/**
 * Plain HTTP would carry the client secret and the ID token in the clear, so production
 * wants https (or loopback); development and tests run providers on plain HTTP.
 */
function issuerProblem(value: string, production: boolean): string | undefined {
  if (!URL.canParse(value)) return "must be a URL";
  const url = new URL(value);
  if (url.search || url.hash) return "must not have a query or fragment";
  if (url.protocol === "https:") return undefined;
  if (url.protocol === "http:" && (!production || isLoopback(url))) return undefined;
  return production ? "must be an https:// URL" : "must be an http(s):// URL";
}

const providerVariables = z.object({
  ISSUER: z.string({ error: "is required (the provider's issuer URL)" }),
  CLIENT_ID: z.string({ error: "is required" }).min(1, "is required"),
  CLIENT_SECRET: z.string().min(1).optional(),
  SCOPES: z
    .string()
    .default("openid email profile")
    .transform((scopes) => scopes.split(/[\s,]+/).filter(Boolean).join(" "))
    .refine((scopes) => scopes.split(" ").includes("openid"), "must include openid"),
});

/**
 * Reads OIDC_<NAME>_ISSUER, _CLIENT_ID, _CLIENT_SECRET (optional) and _SCOPES (default
 * "openid email profile") for each name of OIDC_PROVIDERS; problems are named by variable.
 */
export function oidcProvidersFrom(names: string[], env: NodeJS.ProcessEnv, production: boolean): { providers: OidcProviderSettings[]; issues: Issue[] } {
  const providers: OidcProviderSettings[] = [];
  const issues: Issue[] = [];
  for (const name of names) {
    const prefix = `OIDC_${name.toUpperCase()}_`;
    const raw = Object.fromEntries(
      Object.keys(providerVariables.shape)
        .map((key) => [key, env[`${prefix}${key}`]])
        // An empty variable means "not set", as everywhere in our config.
        .filter(([, value]) => value !== undefined && value !== ""),
    );
    const parsed = providerVariables.safeParse(raw);
    if (!parsed.success) {
      issues.push(...parsed.error.issues.map((issue) => ({ variable: `${prefix}${String(issue.path[0])}`, message: issue.message })));
      continue;
    }
    const problem = issuerProblem(parsed.data.ISSUER, production);
    if (problem) {
      issues.push({ variable: `${prefix}ISSUER`, message: problem });
      continue;
    }
    providers.push({
      name,
      // Discovery appends /.well-known/openid-configuration to the issuer without its trailing slash.
      issuer: parsed.data.ISSUER,
      clientId: parsed.data.CLIENT_ID,
      ...(parsed.data.CLIENT_SECRET ? { clientSecret: parsed.data.CLIENT_SECRET } : {}),
      scopes: parsed.data.SCOPES,
    });
  }
  return { providers, issues };
}

/** A comma-separated list of provider names (OIDC_PROVIDERS). */
export const oidcProviderNames = z
  .string()
  .default("")
  .transform((list) => list.split(",").map((name) => name.trim().toLowerCase()).filter(Boolean))
  .pipe(
    z
      .array(z.string().regex(/^[a-z][a-z0-9_]{0,31}$/, "names must start with a letter and hold only letters, digits and _ (at most 32)"))
      .refine((names) => new Set(names).size === names.length, "must not name a provider twice"),
  );

/**
 * Why a redirect URI cannot be allowed. Custom schemes are allowed for native apps (RFC
 * 8252); fragments never are (RFC 6749 §3.1.2). Queries and unnormalized spellings are
 * refused because openid-client sends the token endpoint the callback URL parsed and
 * stripped of its query, which must be, character for character, the redirect_uri of the
 * authorization request.
 */
function redirectUriProblem(uri: string): string | undefined {
  if (!URL.canParse(uri)) return "each must be an absolute URL";
  const url = new URL(uri);
  if (url.hash) return "must not have a fragment";
  if (url.search) return "must not have a query";
  if (url.href !== uri) return `must be written in its normal form, ${url.href}`;
  return undefined;
}

/**
 * The redirect URIs clients may ask providers to send users back to (OIDC_REDIRECT_URIS,
 * comma-separated), compared exactly: anything else would make sign-in an open redirect
 * that delivers authorization codes to whoever names a URL.
 */
export const oidcRedirectUris = z
  .string()
  .default("")
  .transform((list) => list.split(",").map((uri) => uri.trim()).filter(Boolean))
  .pipe(
    z.array(
      z.string().superRefine((uri, context) => {
        const problem = redirectUriProblem(uri);
        if (problem) context.addIssue({ code: "custom", message: problem });
      }),
    ),
  );
