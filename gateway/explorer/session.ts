/** Who signed in with the sign-in helper: kept in memory only, so a reload forgets it. */
export type Session = {
  accessToken: string;
  refreshToken: string;
  expiresAt: string;
  user: { id: string; displayName: string; email: string | null };
};

/** A tiny store the sign-in panel reads with useSyncExternalStore: it outlives the panel. */
export function createSessionStore() {
  let session: Session | null = null;
  const listeners = new Set<() => void>();
  return {
    get: () => session,
    set(next: Session | null) {
      session = next;
      for (const listener of listeners) listener();
    },
    subscribe(listener: () => void) {
      listeners.add(listener);
      return () => listeners.delete(listener);
    },
  };
}

export type SessionStore = ReturnType<typeof createSessionStore>;

type GraphQLAnswer<T> = { data?: T | null; errors?: { message: string; extensions?: { code?: string } }[] };

/** One GraphQL request of the helper itself (not shown in the editors). */
async function call<T>(url: string, query: string, variables: Record<string, unknown>): Promise<T> {
  const response = await fetch(url, {
    method: "POST",
    headers: { "content-type": "application/json", accept: "application/graphql-response+json, application/json" },
    body: JSON.stringify({ query, variables }),
  });
  const answer = (await response.json()) as GraphQLAnswer<T>;
  if (answer.errors?.length || !answer.data) {
    const [first] = answer.errors ?? [];
    throw new Error(first ? `${first.message}${first.extensions?.code ? ` (${first.extensions.code})` : ""}` : `HTTP ${response.status}`);
  }
  return answer.data;
}

const LOGIN = `mutation ExplorerSignIn($input: LoginInput!) {
  login(input: $input) { accessToken refreshToken expiresAt user { id displayName email } }
}`;

const LOGOUT = `mutation ExplorerSignOut($refreshToken: String!) { logout(refreshToken: $refreshToken) }`;

/** identity's `login` mutation, through the gateway. */
export async function signIn(url: string, email: string, password: string): Promise<Session> {
  return (await call<{ login: Session }>(url, LOGIN, { input: { email, password } })).login;
}

/** identity's `logout`: the refresh token's family stops working (the access token lives on until it expires). */
export async function signOut(url: string, session: Session): Promise<void> {
  await call<{ logout: boolean }>(url, LOGOUT, { refreshToken: session.refreshToken });
}
