import { readFileSync } from "node:fs";
import { join } from "node:path";
import { gql } from "graphql-tag";
import {
  API_KEY_VERIFY_PATH,
  createRedis,
  createSubgraphApp,
  databaseReadiness,
  prismaOutboxRelay,
  redisReadiness,
  sendJson,
  type Logger,
  type SubgraphApp,
} from "@startales/service-kit";
import { accountMailRoute } from "./account-mail-route";
import { adminIdsRoute } from "./admin-ids-route";
import { apiKeyVerifyRoute } from "./api-key-verify-route";
import type { IdentityConfig } from "./config";
import { createDb } from "./db";
import { createAccountDeletion } from "./domain/account-deletion";
import { createAccountMail } from "./domain/account-mail";
import { createApiKeyService } from "./domain/api-keys";
import { createEmailChange } from "./domain/email-change";
import { createEmailVerification } from "./domain/email-verification";
import { createPasswordReset } from "./domain/password-reset";
import { createServiceAccountService } from "./domain/service-accounts";
import { createLoginThrottle } from "./domain/login-throttle";
import { createOidcAccounts } from "./domain/oidc-accounts";
import { createOidcDiscovery } from "./domain/oidc-discovery";
import { createOidcSignIn } from "./domain/oidc-sign-in";
import { createOidcStateStore } from "./domain/oidc-state-store";
import { createSessionService } from "./domain/sessions";
import { loadSigningKey } from "./domain/signing-key";
import { createLoaders } from "./loaders";
import { allowsPlainHttp } from "./oidc-config";
import { createResolvers } from "./resolvers";
import { redisDeletionAnnouncer, redisRevocationAnnouncer, redisSessionsRevokedAnnouncer } from "./revocation-announcers";
import { userAddressesRoute } from "./user-addresses-route";

export const identityTypeDefs = gql(readFileSync(join(__dirname, "..", "schema.graphql"), "utf8"));

/** The identity subgraph as a value; `listen()` starts it (port 0 in tests). */
export async function createIdentityApp(config: IdentityConfig, logger: Logger): Promise<SubgraphApp> {
  const key = await loadSigningKey(config.JWT_PRIVATE_KEY);
  const db = createDb(config.DATABASE_URL, config.DATABASE_POOL_SIZE, config.DATABASE_POOL_TIMEOUT_MS);
  const redis = createRedis(config.REDIS_URL, "identity");
  const loginThrottle = createLoginThrottle({
    redis,
    settings: { maxFailures: config.LOGIN_MAX_FAILURES, lockoutSeconds: config.LOGIN_LOCKOUT_SECONDS },
    logger,
  });
  const accountMail = createAccountMail({
    topic: config.ACCOUNT_MAIL_TOPIC,
    linkSecret: config.EMAIL_LINK_SECRET,
    linkBaseUrl: config.ACCOUNT_LINK_BASE_URL,
    ttlMs: { VERIFY_EMAIL: config.EMAIL_VERIFICATION_TTL_MS, RESET_PASSWORD: config.PASSWORD_RESET_TTL_MS, CONFIRM_EMAIL_CHANGE: config.EMAIL_CHANGE_TTL_MS },
  });
  const sessions = createSessionService({
    db,
    key,
    logger,
    settings: {
      issuer: config.JWT_ISSUER,
      audience: config.JWT_AUDIENCE,
      ttlSeconds: config.ACCESS_TOKEN_TTL_SECONDS,
      refreshTtlDays: config.REFRESH_TOKEN_TTL_DAYS,
      bootstrapAdminEmails: config.BOOTSTRAP_ADMIN_EMAILS,
    },
    afterCommit: () => relay.wake(),
    loginThrottle,
    accountMail,
  });
  const announceKeyRevocation = redisRevocationAnnouncer(redis, logger);
  const apiKeys = createApiKeyService({ db, announceRevocation: announceKeyRevocation });
  const accountDeletion = createAccountDeletion({
    db,
    erasureTopic: config.ACCOUNT_ERASURE_TOPIC,
    loginThrottle,
    announceKeyRevocation,
    announceDeletion: redisDeletionAnnouncer(redis, logger, config.ACCESS_TOKEN_TTL_SECONDS * 1000),
    logger,
    afterCommit: () => relay.wake(),
  });
  const serviceAccounts = createServiceAccountService({ db });
  const emailVerification = createEmailVerification({ db, accountMail, afterCommit: () => relay.wake() });
  const emailChange = createEmailChange({ db, accountMail, loginThrottle, afterCommit: () => relay.wake() });
  const passwordReset = createPasswordReset({
    db,
    accountMail,
    loginThrottle,
    announceSessionsRevoked: redisSessionsRevokedAnnouncer(redis, logger, config.ACCESS_TOKEN_TTL_SECONDS * 1000),
    logger,
    afterCommit: () => relay.wake(),
  });
  const oidcAccounts = createOidcAccounts({
    db,
    bootstrapAdminEmails: config.BOOTSTRAP_ADMIN_EMAILS,
    configuredProviders: config.oidcProviders.map((provider) => provider.name),
  });
  for (const { name, issuer } of config.oidcProviders) {
    // Development configuration accepts such an issuer, but openid-client will not talk to it.
    if (issuer.startsWith("http:") && !allowsPlainHttp(issuer)) logger.warn({ provider: name }, "OIDC issuer is plain http off loopback, which openid-client refuses: its sign-ins will be SERVICE_UNAVAILABLE");
  }
  const oidcSignIn = createOidcSignIn({
    db,
    providers: config.oidcProviders,
    redirectUris: config.OIDC_REDIRECT_URIS,
    discovery: createOidcDiscovery(),
    stateStore: createOidcStateStore(redis, config.OIDC_STATE_TTL_SECONDS),
    accounts: oidcAccounts,
    sessions,
    afterCommit: () => relay.wake(),
  });
  const app = createSubgraphApp({
    name: "identity",
    config,
    logger,
    typeDefs: identityTypeDefs,
    resolvers: createResolvers({ db, sessions, apiKeys, accountDeletion, serviceAccounts, oidcSignIn, oidcAccounts, emailVerification, passwordReset, emailChange }),
    createLoaders: () => createLoaders(db),
    readiness: [databaseReadiness(db), redisReadiness(redis)],
    routes: {
      // Public keys only; cached by verifiers (the gateway) between rotations.
      "/.well-known/jwks.json": (_req, res) => sendJson(res, 200, key.jwks, { "cache-control": "public, max-age=300" }),
    },
    postRoutes: {
      [API_KEY_VERIFY_PATH]: apiKeyVerifyRoute({ apiKeys, gatewaySigningSecret: config.GATEWAY_SIGNING_SECRET, logger }),
      // Who holds ADMIN now, for services (notification's Alertmanager receiver).
      ...adminIdsRoute({ db, gatewaySigningSecret: config.GATEWAY_SIGNING_SECRET, logger }),
      // What an account mail says and to whom, and users' addresses: for notification's email channel.
      ...accountMailRoute({ db, accountMail, gatewaySigningSecret: config.GATEWAY_SIGNING_SECRET, logger }),
      ...userAddressesRoute({ db, gatewaySigningSecret: config.GATEWAY_SIGNING_SECRET, logger }),
    },
    onListen: () => relay.start(),
    onStop: async () => {
      // Commands wait for Redis while it is away (the offline queue): closing a client that is
      // not connected fails them, so the relay's cycle ends and its stop() returns.
      if (redis.status !== "ready") redis.disconnect();
      await relay.stop();
      await db.$disconnect();
      redis.disconnect();
    },
  });
  // Publishes the account events (ACCOUNT_REGISTERED, SIGNED_IN, ACCOUNT_DELETED) each sign-up, sign-in and deletion commits, and the account mail requests.
  const relay = prismaOutboxRelay(db, { producer: "identity", redis, logger, metrics: app.metrics, config });
  return app;
}
