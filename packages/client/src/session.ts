import { GraphQLRequestError } from "./errors";
import type { SessionFragment } from "./generated/graphql";

/** A signed-in session: what sign-up, sign-in and refresh return. Store it to stay signed in. */
export type Session = SessionFragment;

export type SessionKeeperOptions = {
  initial?: Session | null;
  /** Trades a refresh token for a new session (the refreshToken mutation). */
  refresh: (refreshToken: string) => Promise<Session>;
  /** Told of every new session, and of null when it ended: persist it here. */
  onChange?: (session: Session | null) => void;
  /** How long before its expiry an access token is replaced rather than sent. */
  leewayMs: number;
  now: () => number;
};

export type SessionKeeper = {
  current(): Session | null;
  set(session: Session | null): void;
  /** The access token to send now (undefined when signed out), refreshed first when it is about to expire or was refused. */
  accessToken(): Promise<string | undefined>;
  /**
   * Replaces `refused` (an access token the API turned down): one refresh for every caller
   * that saw it refused at the same time; a caller whose token was already replaced gets
   * the new one without another refresh. Throws UNAUTHENTICATED when the session cannot be
   * renewed (signed out, or its refresh token expired, rotated or revoked); the session is then over.
   */
  refresh(refused: string): Promise<string>;
  /** Marks a token as refused (e.g. a socket closed with 4403), so that the next accessToken() refreshes. */
  refuse(token: string): void;
};

/**
 * Keeps the session and renews its access token. Access tokens live 15 minutes and refresh
 * tokens are single-use (each refresh rotates them, and presenting a rotated one ends the
 * whole session), so two refreshes must never run at once: they share one call.
 */
export function createSessionKeeper(options: SessionKeeperOptions): SessionKeeper {
  let session = options.initial ?? null;
  let refused: string | undefined;
  let inFlight: Promise<string> | undefined;

  const set = (next: Session | null) => {
    session = next;
    refused = undefined;
    options.onChange?.(next);
  };
  const ended = (message: string) => new GraphQLRequestError([{ message, extensions: { code: "UNAUTHENTICATED" } }]);

  async function renew(): Promise<string> {
    const current = session;
    if (!current) throw ended("Signed out: sign in again");
    try {
      const next = await options.refresh(current.refreshToken);
      // A sign-out or a new sign-in while the call was out wins over its answer.
      if (session === current) set(next);
      return session?.accessToken ?? next.accessToken;
    } catch (error) {
      if (error instanceof GraphQLRequestError && error.code === "UNAUTHENTICATED") {
        if (session === current) set(null);
        throw ended("The session has ended: sign in again");
      }
      throw error;
    }
  }

  const refresh = (token: string): Promise<string> => {
    if (inFlight) return inFlight;
    if (session && session.accessToken !== token) return Promise.resolve(session.accessToken);
    inFlight = renew().finally(() => {
      inFlight = undefined;
    });
    return inFlight;
  };

  return {
    current: () => session,
    set,
    async accessToken() {
      if (inFlight) return inFlight;
      if (!session) return undefined;
      const expiresAt = Date.parse(session.expiresAt);
      const stale = session.accessToken === refused || (Number.isFinite(expiresAt) && options.now() >= expiresAt - options.leewayMs);
      return stale ? refresh(session.accessToken) : session.accessToken;
    },
    refresh,
    refuse(token) {
      refused = token;
    },
  };
}
