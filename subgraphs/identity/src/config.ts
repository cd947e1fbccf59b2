import { z } from "zod";
import { ConfigError, accountErasureTopicShape, accountMailTopicShape, outboxConfigShape, parseConfig, positiveInt, secret, subgraphConfigShape } from "@startales/service-kit";
import { oidcProviderNames, oidcProvidersFrom, oidcRedirectUris, type OidcProviderSettings } from "./oidc-config";

export const identityConfigSchema = z.object({
  ...subgraphConfigShape({ port: 4001, database: "startales_identity" }),
  /** Ed25519 private key (PKCS#8 PEM) that signs access tokens. Never committed; npm start makes a dev one. */
  JWT_PRIVATE_KEY: z
    .string({ error: "is required (an Ed25519 PKCS#8 PEM private key)" })
    .transform((pem) => pem.replace(/\\n/g, "\n"))
    .refine((pem) => pem.includes("BEGIN PRIVATE KEY"), "must be a PKCS#8 PEM private key"),
  JWT_ISSUER: z.string().min(1).default("startales-identity"),
  JWT_AUDIENCE: z.string().min(1).default("startales"),
  ACCESS_TOKEN_TTL_SECONDS: positiveInt(900),
  REFRESH_TOKEN_TTL_DAYS: positiveInt(30),
  /** Comma-separated emails that get the ADMIN role when they register (bootstrapping an operator). */
  BOOTSTRAP_ADMIN_EMAILS: z
    .string()
    .default("")
    .transform((list) => list.split(",").map((e) => e.trim().toLowerCase()).filter(Boolean)),
  /** Failed sign-ins per account before it is locked (domain/login-throttle.ts). */
  LOGIN_MAX_FAILURES: positiveInt(5),
  /** The first lock; every further failure doubles it, up to a day. */
  LOGIN_LOCKOUT_SECONDS: positiveInt(60),
  /** OpenID Connect providers to sign in with, each set by OIDC_<NAME>_* (oidc-config.ts); empty: none. */
  OIDC_PROVIDERS: oidcProviderNames,
  /** The redirect URIs clients may use, exactly (never an open redirect); required with OIDC_PROVIDERS. */
  OIDC_REDIRECT_URIS: oidcRedirectUris,
  /** How long a started OIDC sign-in may take, from beginOidcSignIn to completeOidcSignIn. */
  OIDC_STATE_TTL_SECONDS: positiveInt(600),
  /** Its outbox relay (account events). */
  ...outboxConfigShape,
  /** Where a deleted account's data is asked to be erased (campaign and the notification worker pool read the same). */
  ...accountErasureTopicShape,
  /** Where identity asks the notification worker pool to send account mail (ACCOUNT_MAIL_REQUESTED). */
  ...accountMailTopicShape,
  /** Signs the links in account mail (HMAC-SHA256 of the mail's id): every replica holds the same; changing it ends the links already sent. */
  EMAIL_LINK_SECRET: secret(),
  /** The web app's account pages the links open: `<base>/verify-email`, `/reset-password`, `/confirm-email`, each with `?token=`. */
  ACCOUNT_LINK_BASE_URL: z.url().default("http://localhost:5173/account").transform((url) => url.replace(/\/+$/, "")),
  /** How long a verification link works. */
  EMAIL_VERIFICATION_TTL_MS: positiveInt(24 * 3_600_000),
  /** How long a password-reset link works: short, it is as good as the password. */
  PASSWORD_RESET_TTL_MS: positiveInt(3_600_000),
  /** How long a link confirming a change of address works. */
  EMAIL_CHANGE_TTL_MS: positiveInt(24 * 3_600_000),
  /** Per account (`events:account:<userId>`): read by analytics through the firehose, so a short tail is enough. */
  EVENT_STREAM_MAX_LEN: positiveInt(50),
});

export type IdentityConfig = z.infer<typeof identityConfigSchema> & { oidcProviders: OidcProviderSettings[] };

/** The schema plus the per-provider OIDC_<NAME>_* variables, which no fixed schema can name. */
export function loadIdentityConfig(env: NodeJS.ProcessEnv = process.env): IdentityConfig {
  const config = parseConfig(identityConfigSchema, env);
  const { providers, issues } = oidcProvidersFrom(config.OIDC_PROVIDERS, env, config.NODE_ENV === "production");
  if (providers.length > 0 && config.OIDC_REDIRECT_URIS.length === 0) {
    issues.push({ variable: "OIDC_REDIRECT_URIS", message: "is required when OIDC_PROVIDERS is set" });
  }
  if (issues.length) throw new ConfigError(issues);
  return { ...config, oidcProviders: providers };
}
