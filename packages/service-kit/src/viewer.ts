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

/** Who is calling, as verified by the gateway. */
export type Viewer = { kind: "anonymous" } | { kind: "user"; userId: string; roles: Role[] };

export const anonymous: Viewer = { kind: "anonymous" };

export type SignedInViewer = Extract<Viewer, { kind: "user" }>;

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

/** Analysts are read-only everywhere: any mutation they attempt is FORBIDDEN. */
export function requireWriter(viewer: Viewer): SignedInViewer {
  const user = requireUser(viewer);
  if (user.roles.includes(Role.ANALYST) && !user.roles.includes(Role.ADMIN)) {
    throw forbidden("Analysts have read-only access");
  }
  return user;
}
