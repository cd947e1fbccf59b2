import {
  AuditOutcome,
  conflict,
  hashApiKey,
  isApiKeyFormat,
  newApiKey,
  notFound,
  Role,
  type AuditContext,
  type Scope,
  type SignedInViewer,
} from "@startales/service-kit";
import type { Db } from "../db";
import type { ApiKey, Role as UserRole } from "../generated/prisma/client";
import { MAX_ACTIVE_API_KEYS, type CreateApiKeyInput } from "./api-key-input";
import { recordAudit } from "./audit";

/** What the gateway learns about a valid key: who holds it and what it may do. */
export type VerifiedApiKey = { userId: string; roles: UserRole[]; scopes: Scope[]; apiKeyId: string; expiresAt: Date | null };

/** Tells every gateway that a key is revoked, so none keeps it in its cache. */
export type RevocationAnnouncer = (keyHash: string) => Promise<void>;

// lastUsedAt is for people ("is this key still used?"), not an audit log: minute
// resolution spares the database one UPDATE per request of a busy tool.
const LAST_USED_RESOLUTION_MS = 60_000;

/** Creating, listing, revoking and verifying API keys. The key itself exists only in create's answer. */
export function createApiKeyService(deps: { db: Db; announceRevocation: RevocationAnnouncer }) {
  const { db, announceRevocation } = deps;

  async function recordUse(key: ApiKey, now: Date): Promise<void> {
    const threshold = new Date(now.getTime() - LAST_USED_RESOLUTION_MS);
    if (key.lastUsedAt && key.lastUsedAt >= threshold) return;
    // Conditional, so concurrent verifications of one key still write once per minute.
    await db.apiKey.updateMany({
      where: { id: key.id, OR: [{ lastUsedAt: null }, { lastUsedAt: { lt: threshold } }] },
      data: { lastUsedAt: now },
    });
  }

  return {
    async create(ownerId: string, input: CreateApiKeyInput, audit: AuditContext): Promise<{ key: string; apiKey: ApiKey }> {
      return db.$transaction(async (tx) => {
        // Locks the owner's row so two concurrent creations cannot both pass the limit. NO KEY
        // UPDATE does not block the owner's sign-ins (their refresh-token inserts take KEY SHARE).
        const owner = await tx.$queryRaw<{ id: string }[]>`SELECT id FROM users WHERE id = ${ownerId}::uuid FOR NO KEY UPDATE`;
        if (owner.length === 0) throw notFound("No user with this id");
        const now = new Date();
        const active = await tx.apiKey.count({
          where: { ownerId, revokedAt: null, OR: [{ expiresAt: null }, { expiresAt: { gt: now } }] },
        });
        if (active >= MAX_ACTIVE_API_KEYS) {
          throw conflict(`At most ${MAX_ACTIVE_API_KEYS} active API keys per user: revoke one first`);
        }
        const { key, prefix } = newApiKey();
        const apiKey = await tx.apiKey.create({
          data: { ownerId, name: input.name, prefix, keyHash: hashApiKey(key), scopes: input.scopes, expiresAt: input.expiresAt ?? null },
        });
        await recordAudit(tx, audit, {
          action: "identity.api_key.create",
          outcome: AuditOutcome.SUCCESS,
          targetType: "ApiKey",
          targetId: apiKey.id,
          details: { ownerId, scopes: apiKey.scopes, expiresAt: apiKey.expiresAt?.toISOString() ?? null },
        });
        return { key, apiKey };
      });
    },

    listFor(ownerId: string): Promise<ApiKey[]> {
      return db.apiKey.findMany({ where: { ownerId }, orderBy: [{ createdAt: "desc" }, { id: "desc" }] });
    },

    /** The owner or an admin; anyone else gets NOT_FOUND, so key ids cannot be probed. */
    async revoke(viewer: SignedInViewer, id: string, audit: AuditContext): Promise<ApiKey> {
      const key = await db.apiKey.findUnique({ where: { id } });
      if (!key || (key.ownerId !== viewer.userId && !viewer.roles.includes(Role.ADMIN))) throw notFound("No API key with this id");
      let revoked = key;
      if (!key.revokedAt) {
        // Conditional: of two concurrent revocations the first revokedAt stands (and is audited).
        revoked = await db.$transaction(async (tx) => {
          const { count } = await tx.apiKey.updateMany({ where: { id, revokedAt: null }, data: { revokedAt: new Date() } });
          if (count === 1) {
            await recordAudit(tx, audit, {
              action: "identity.api_key.revoke",
              outcome: AuditOutcome.SUCCESS,
              targetType: "ApiKey",
              targetId: id,
              details: { ownerId: key.ownerId },
            });
          }
          return tx.apiKey.findUniqueOrThrow({ where: { id } });
        });
      }
      // Announced on every call, not only the first: revoking again is how an operator
      // re-announces a revocation whose first announcement Redis lost.
      await announceRevocation(key.keyHash);
      return revoked;
    },

    /** Null for anything that is not a working key: unknown, revoked or expired. */
    async verify(presented: string): Promise<VerifiedApiKey | null> {
      if (!isApiKeyFormat(presented)) return null;
      const key = await db.apiKey.findUnique({ where: { keyHash: hashApiKey(presented) }, include: { owner: { select: { roles: true } } } });
      const now = new Date();
      if (!key || key.revokedAt || (key.expiresAt && key.expiresAt <= now)) return null;
      await recordUse(key, now);
      return {
        userId: key.ownerId,
        // The owner's roles now, not when the key was made: a demoted admin's keys are demoted too.
        roles: key.owner.roles,
        scopes: key.scopes.map((scope) => scope.toLowerCase() as Scope),
        apiKeyId: key.id,
        expiresAt: key.expiresAt,
      };
    },
  };
}

export type ApiKeyService = ReturnType<typeof createApiKeyService>;
