import { GraphQLError } from "graphql";
import { Role, anonymous, canWrite, hasRole, requireRole, requireUser, requireWriter, signedIn, type Viewer } from "../../packages/service-kit/src/viewer";

const user = (...roles: Role[]): Viewer => signedIn("user-1", roles);

function codeOf(fn: () => unknown): unknown {
  try {
    fn();
  } catch (error) {
    if (error instanceof GraphQLError) return error.extensions.code;
    throw error;
  }
  return "no error";
}

describe("requireUser", () => {
  it("returns a signed-in viewer", () => {
    const viewer = user("PLAYER");
    expect(requireUser(viewer)).toBe(viewer);
  });

  it("throws UNAUTHENTICATED for the anonymous viewer", () => {
    expect(codeOf(() => requireUser(anonymous))).toBe("UNAUTHENTICATED");
  });
});

describe("hasRole", () => {
  it("is true only for roles the user holds", () => {
    expect(hasRole(user("PLAYER", "ADMIN"), Role.ADMIN)).toBe(true);
    expect(hasRole(user("PLAYER"), Role.ADMIN)).toBe(false);
  });

  it("is false for the anonymous viewer", () => {
    expect(hasRole(anonymous, Role.PLAYER)).toBe(false);
  });
});

describe("requireRole", () => {
  it("returns the user who holds the role", () => {
    const viewer = user("PLAYER", "GAME_MASTER");
    expect(requireRole(viewer, Role.GAME_MASTER)).toBe(viewer);
  });

  it("throws FORBIDDEN naming the role when the user lacks it", () => {
    expect(() => requireRole(user("PLAYER"), Role.ADMIN)).toThrow("Requires the ADMIN role");
    expect(codeOf(() => requireRole(user("PLAYER"), Role.ADMIN))).toBe("FORBIDDEN");
  });

  it("throws UNAUTHENTICATED for the anonymous viewer", () => {
    expect(codeOf(() => requireRole(anonymous, Role.PLAYER))).toBe("UNAUTHENTICATED");
  });
});

describe("requireWriter", () => {
  it.each([[["PLAYER"]], [["GAME_MASTER"]], [["ADMIN"]], [[]], [["ADMIN", "ANALYST"]], [["SERVICE"]]] as Role[][][])(
    "lets %p write",
    (roles) => {
      const viewer = user(...roles);
      expect(requireWriter(viewer)).toBe(viewer);
    },
  );

  it.each([[["ANALYST"]], [["ANALYST", "PLAYER"]]] as Role[][][])("makes %p read-only (FORBIDDEN)", (roles) => {
    expect(codeOf(() => requireWriter(user(...roles)))).toBe("FORBIDDEN");
    expect(() => requireWriter(user(...roles))).toThrow("Analysts have read-only access");
  });

  it("throws UNAUTHENTICATED for the anonymous viewer", () => {
    expect(codeOf(() => requireWriter(anonymous))).toBe("UNAUTHENTICATED");
  });
});

describe("API key scopes", () => {
  const key = (scopes: ("read" | "write")[], ...roles: Role[]) => signedIn("user-1", roles, { credential: "api_key", scopes });

  it("a read-only key may not write, whatever its owner's roles", () => {
    expect(canWrite(key(["read"], "ADMIN"))).toBe(false);
    expect(codeOf(() => requireWriter(key(["read"], "PLAYER")))).toBe("FORBIDDEN");
  });

  it("a read-write key writes like its owner, and an analyst's key still cannot", () => {
    expect(canWrite(key(["read", "write"], "PLAYER"))).toBe(true);
    expect(codeOf(() => requireWriter(key(["read", "write"], "ANALYST")))).toBe("FORBIDDEN");
  });
});
