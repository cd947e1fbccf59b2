import { z } from "zod";
import {
  AuditOutcome,
  DateTimeScalar,
  ErrorCode,
  JSONScalar,
  auditLogArgs,
  cacheHint,
  dependsOnViewer,
  Role,
  appError,
  parseId,
  parseInput,
  requireRole,
  requireUser,
  hasRole,
  notFound,
  type Viewer,
} from "@startales/service-kit";
import type { Db } from "../db";
import type { AccountDeletion } from "../domain/account-deletion";
import type { EmailChange } from "../domain/email-change";
import type { EmailVerification } from "../domain/email-verification";
import type { PasswordReset } from "../domain/password-reset";
import type { ApiKeyService } from "../domain/api-keys";
import { listAudit, recordAudit } from "../domain/audit";
import { deleteAccountInput, email, loginInput, newPassword, registerInput } from "../domain/input";
import type { OidcAccounts } from "../domain/oidc-accounts";
import type { OidcSignIn } from "../domain/oidc-sign-in";
import type { ServiceAccountService } from "../domain/service-accounts";
import type { SessionService } from "../domain/sessions";
import type { AuditOutcome as GraphQLAuditOutcome, Resolvers } from "../generated/resolvers-types";
import { createApiKeyResolvers } from "./api-keys";
import { createOidcResolvers } from "./oidc";

/** How long others' view of a user (their display name) is trusted. */
const USER_MAX_AGE_S = 60;

const refreshTokenArg = z.string().min(1, "is required").max(512, "is too long");
/** A mail link's token: `<uuid>.<43 characters>`, with room to spare; the codec checks the rest. */
const linkTokenArg = z.string().min(1, "is required").max(200, "is too long");
const rolesArg = z.array(z.enum(Role)).min(1, "must contain at least one role").max(5);

export function createResolvers(deps: {
  db: Db;
  sessions: SessionService;
  apiKeys: ApiKeyService;
  accountDeletion: AccountDeletion;
  serviceAccounts: ServiceAccountService;
  oidcSignIn: OidcSignIn;
  oidcAccounts: OidcAccounts;
  emailVerification: EmailVerification;
  passwordReset: PasswordReset;
  emailChange: EmailChange;
}): Resolvers {
  const { db, sessions } = deps;
  const apiKeyResolvers = createApiKeyResolvers(deps);
  const oidcResolvers = createOidcResolvers(deps);
  // register/login/refreshToken/completeOidcSignIn are called without an access token (the
  // viewer is anonymous), yet whoever receives an AuthPayload has just proved to be its
  // user: they see their email.
  const sessionUsers = new WeakSet<object>();
  const mayReadAddress = (user: { id: string }, viewer: Viewer) =>
    sessionUsers.has(user) || (viewer.kind === "user" && viewer.userId === user.id) || hasRole(viewer, Role.ADMIN);
  return {
    DateTime: DateTimeScalar,
    JSON: JSONScalar,
    Query: {
      // Admins only (@requiresScopes in the schema).
      identityAuditLog: (_parent, args) => listAudit(db, parseInput(auditLogArgs, args)),
      me: (_parent, _args, { viewer, loaders }) => (viewer.kind === "user" ? loaders.userById.load(viewer.userId) : null),
      user: (_parent, { id }, { viewer, loaders }) => {
        requireUser(viewer);
        return loaders.userById.load(parseId(id));
      },
      ...apiKeyResolvers.Query,
      ...oidcResolvers.Query,
    },
    Mutation: {
      register: (_parent, { input }) => sessions.register(parseInput(registerInput, input)),
      login: (_parent, { input }, context) => sessions.login(parseInput(loginInput, input), context),
      refreshToken: (_parent, args, context) => sessions.refresh(parseInput(refreshTokenArg, args.refreshToken), context),
      logout: (_parent, args) => sessions.logout(parseInput(refreshTokenArg, args.refreshToken)),
      resendVerificationEmail: (_parent, _args, context) => deps.emailVerification.resend(requireUser(context.viewer).userId, context),
      verifyEmail: (_parent, args, context) => deps.emailVerification.verify(parseInput(linkTokenArg, args.token), context),
      requestPasswordReset: (_parent, args, context) => deps.passwordReset.request(parseInput(z.object({ email }), args).email, context),
      resetPassword: (_parent, args, context) => {
        const input = parseInput(z.object({ token: linkTokenArg, newPassword }), args);
        return deps.passwordReset.reset(input.token, input.newPassword, context);
      },
      requestEmailChange: (_parent, args, context) => {
        const viewer = requireUser(context.viewer);
        const input = parseInput(z.object({ newEmail: email, password: z.string().min(1, "is required").max(256).nullish() }), args);
        return deps.emailChange.request(viewer, input, context);
      },
      confirmEmailChange: (_parent, args, context) => deps.emailChange.confirm(parseInput(linkTokenArg, args.token), context),
      setUserRoles: async (_parent, args, context) => {
        const { viewer } = context;
        const admin = requireRole(viewer, Role.ADMIN);
        const userId = parseId(args.userId, "userId");
        const roles = [...new Set(parseInput(rolesArg, args.roles))];
        if (userId === admin.userId && !roles.includes(Role.ADMIN)) {
          throw appError(ErrorCode.CONFLICT, "Admins cannot remove their own ADMIN role");
        }
        return db.$transaction(async (tx) => {
          // Locked, so `from` in the audit entry is what this change replaced.
          const locked = await tx.$queryRaw<{ id: string }[]>`SELECT id FROM users WHERE id = ${userId}::uuid FOR UPDATE`;
          if (locked.length === 0) throw notFound("No user with this id");
          const before = await tx.user.findUniqueOrThrow({ where: { id: userId }, select: { roles: true } });
          const user = await tx.user.update({ where: { id: userId }, data: { roles } });
          await recordAudit(tx, context, {
            action: "identity.roles.set",
            outcome: AuditOutcome.SUCCESS,
            targetType: "User",
            targetId: userId,
            details: { from: before.roles, to: user.roles },
          });
          return user;
        });
      },
      deleteAccount: (_parent, args, context) => deps.accountDeletion.deleteOwnAccount(requireUser(context.viewer), parseInput(deleteAccountInput, args.input ?? {}), context),
      ...apiKeyResolvers.Mutation,
      ...oidcResolvers.Mutation,
    },
    ApiKey: apiKeyResolvers.ApiKey,
    AuditEntry: {
      actor: (entry, _args, { loaders }) => (entry.actorId ? loaders.userById.load(entry.actorId) : null),
      // Stored as the enum's value ("SUCCESS", "FAILURE"), written only through auditEntry().
      outcome: (entry) => entry.outcome as GraphQLAuditOutcome,
    },
    AuthPayload: {
      user: (payload) => {
        sessionUsers.add(payload.user);
        return payload.user;
      },
    },
    User: {
      // A user as others see them (a display name): the same for everyone, and it changes rarely.
      __resolveReference: (reference, { loaders }, info) => {
        cacheHint(info, { maxAge: USER_MAX_AGE_S });
        return loaders.userById.load(reference.id);
      },
      email: (user, _args, { viewer }, info) => {
        dependsOnViewer(info);
        return mayReadAddress(user, viewer) ? user.email : null;
      },
      emailVerified: (user, _args, { viewer }, info) => {
        dependsOnViewer(info);
        return mayReadAddress(user, viewer) ? user.emailVerifiedAt !== null : null;
      },
    },
  };
}
