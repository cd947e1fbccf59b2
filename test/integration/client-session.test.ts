import { GraphQLRequestError, NetworkError, type Session } from "@startales/client";
import { createSessionKeeper } from "../../packages/client/src/session";

/** The session keeper alone, with a refresh that the test answers when it wants. */
const NOW = Date.parse("2030-01-01T12:00:00Z");
const session = (n: number, expiresInMs = 15 * 60_000): Session => ({
  accessToken: `access-${n}`,
  refreshToken: `refresh-${n}`,
  expiresAt: new Date(NOW + expiresInMs).toISOString(),
  user: { id: "u1", displayName: "Alice", roles: ["PLAYER"], email: null },
});

function keeper(initial: Session | null, clock = { now: NOW }) {
  const calls: string[] = [];
  const changes: (Session | null)[] = [];
  let answer: (outcome: Session | Error) => void = () => undefined;
  const keeper = createSessionKeeper({
    initial,
    leewayMs: 60_000,
    now: () => clock.now,
    onChange: (s) => changes.push(s),
    refresh: (refreshToken) => {
      calls.push(refreshToken);
      return new Promise<Session>((resolve, reject) => {
        answer = (outcome) => (outcome instanceof Error ? reject(outcome) : resolve(outcome));
      });
    },
  });
  return { keeper, calls, changes, answer: (outcome: Session | Error) => answer(outcome) };
}

describe("the client's session", () => {
  it("sends its access token as it is while it has more than the leeway left", async () => {
    const { keeper: k, calls } = keeper(session(1));
    expect(await k.accessToken()).toBe("access-1");
    expect(calls).toEqual([]);
  });

  it("refreshes shortly before the token expires, once for every caller at that moment; the refresh token rotates", async () => {
    const clock = { now: NOW + 14.5 * 60_000 };
    const { keeper: k, calls, changes, answer } = keeper(session(1), clock);
    const tokens = Promise.all([k.accessToken(), k.accessToken(), k.refresh("access-1"), k.accessToken()]);
    answer(session(2, 30 * 60_000));
    expect(await tokens).toEqual(["access-2", "access-2", "access-2", "access-2"]);
    expect(calls).toEqual(["refresh-1"]);
    expect(changes.map((s) => s?.refreshToken)).toEqual(["refresh-2"]);
    expect(await k.accessToken()).toBe("access-2");
    expect(calls).toHaveLength(1);
  });

  it("hands a refused token's replacement to a caller that saw it refused after the refresh, without refreshing again", async () => {
    const { keeper: k, calls, answer } = keeper(session(1));
    const first = k.refresh("access-1");
    answer(session(2));
    expect(await first).toBe("access-2");
    expect(await k.refresh("access-1")).toBe("access-2");
    expect(calls).toEqual(["refresh-1"]);
  });

  it("refreshes a token marked refused (a socket closed with 4403) at the next use", async () => {
    const { keeper: k, calls, answer } = keeper(session(1));
    k.refuse("access-1");
    const next = k.accessToken();
    answer(session(2));
    expect(await next).toBe("access-2");
    expect(calls).toEqual(["refresh-1"]);
  });

  it("ends when its refresh token is refused: UNAUTHENTICATED, and null to the listener", async () => {
    const { keeper: k, changes, answer } = keeper(session(1));
    const refreshing = k.refresh("access-1");
    answer(new GraphQLRequestError([{ message: "Refresh token reused", extensions: { code: "UNAUTHENTICATED" } }]));
    await expect(refreshing).rejects.toMatchObject({ name: "GraphQLRequestError", code: "UNAUTHENTICATED", message: "The session has ended: sign in again" });
    expect(k.current()).toBeNull();
    expect(changes).toEqual([null]);
    expect(await k.accessToken()).toBeUndefined();
    await expect(k.refresh("access-1")).rejects.toMatchObject({ code: "UNAUTHENTICATED" });
  });

  it("keeps the session when the refresh could not reach the API", async () => {
    const { keeper: k, changes, answer } = keeper(session(1));
    const refreshing = k.refresh("access-1");
    answer(new NetworkError("cannot reach http://api.test/graphql: ECONNRESET"));
    await expect(refreshing).rejects.toBeInstanceOf(NetworkError);
    expect(k.current()?.refreshToken).toBe("refresh-1");
    expect(changes).toEqual([]);
  });

  it("lets a sign-out during a refresh stand", async () => {
    const { keeper: k, answer } = keeper(session(1));
    const refreshing = k.refresh("access-1");
    k.set(null);
    answer(session(2));
    await refreshing;
    expect(k.current()).toBeNull();
  });
});
