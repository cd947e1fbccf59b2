import { forbidden, unauthenticated } from "./errors";

/** Global roles (identity owns them). Per-campaign roles such as game master live in campaign. */
export const Role = {
  PLAYER: "PLAYER",
  GAME_MASTER: "GAME_MASTER",
  ADMIN: "ADMIN",
  ANALYST: "ANALYST",
  SERVICE: "SERVICE",
} as const;
export type Role = (typeof Role)[keyof typeof Role];
export const ROLES = Object.values(Role);

/**
 * What a credential may do. An access token may read and write (within its roles); an API
 * key carries the scopes it was created with, so a tool can hold a read-only key.
 */
export const Scope = { READ: "read", WRITE: "write" } as const;
export type Scope = (typeof Scope)[keyof typeof Scope];
export const SCOPES = Object.values(Scope);

export type Credential = "access_token" | "api_key";

/** The known roles in a claim from outside (a token, another service); anything else is dropped. */
export const parseRoles = (value: unknown): Role[] =>
  Array.isArray(value) ? value.filter((r): r is Role => ROLES.includes(r as Role)) : [];

/** The known scopes in a claim from outside; anything else is dropped. */
export const parseScopes = (value: unknown): Scope[] =>
  Array.isArray(value) ? value.filter((s): s is Scope => SCOPES.includes(s as Scope)) : [];

/** Who is calling, as verified by the gateway. */
export type Viewer =
  | { kind: "anonymous" }
  | { kind: "user"; userId: string; roles: Role[]; credential: Credential; scopes: Scope[]; apiKeyId?: string };

export const anonymous: Viewer = { kind: "anonymous" };

export type SignedInViewer = Extract<Viewer, { kind: "user" }>;

/** A signed-in viewer; by default one holding an access token (read and write). */
export function signedIn(
  userId: string,
  roles: Role[],
  options: { credential?: Credential; scopes?: Scope[]; apiKeyId?: string } = {},
): SignedInViewer {
  const { credential = "access_token", scopes = [Scope.READ, Scope.WRITE], apiKeyId } = options;
  return { kind: "user", userId, roles, credential, scopes, ...(apiKeyId ? { apiKeyId } : {}) };
}

export function requireUser(viewer: Viewer): SignedInViewer {
  if (viewer.kind !== "user") throw unauthenticated();
  return viewer;
}

export const hasRole = (viewer: Viewer, role: Role): boolean => viewer.kind === "user" && viewer.roles.includes(role);

export function requireRole(viewer: Viewer, role: Role): SignedInViewer {
  const user = requireUser(viewer);
  if (!user.roles.includes(role)) throw forbidden(`Requires the ${role} role`);
  return user;
}

/** Whether the viewer may change anything: analysts and read-only API keys may not. */
export function canWrite(viewer: Viewer): boolean {
  if (viewer.kind !== "user" || !viewer.scopes.includes(Scope.WRITE)) return false;
  return !(viewer.roles.includes(Role.ANALYST) && !viewer.roles.includes(Role.ADMIN));
}

/** Analysts are read-only everywhere, and so are read-only API keys: their mutations are FORBIDDEN. */
export function requireWriter(viewer: Viewer): SignedInViewer {
  const user = requireUser(viewer);
  if (!user.scopes.includes(Scope.WRITE)) throw forbidden("This API key is read-only");
  if (!canWrite(user)) throw forbidden("Analysts have read-only access");
  return user;
}
