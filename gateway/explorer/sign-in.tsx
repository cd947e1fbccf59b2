import { useGraphiQL, type GraphiQLPlugin } from "@graphiql/react";
import { useState, useSyncExternalStore, type FormEvent } from "react";
import { withBearer, withoutBearer } from "./credentials";
import { signIn, signOut, type SessionStore } from "./session";

function KeyIcon() {
  return (
    <svg viewBox="0 0 24 24" width="24" height="24" fill="none" stroke="currentColor" strokeWidth="1.5" aria-hidden="true">
      <circle cx="8" cy="15" r="4" />
      <path d="M11 12l8-8M16 7l3 3M14 9l2 2" />
    </svg>
  );
}

/**
 * Email and password → identity's `login` → `authorization: Bearer <access token>` in the
 * current tab's headers, which queries send as a header and subscriptions in
 * `connection_init`. Other tabs get it with "Use in this tab".
 */
function SignInPanel({ store, url }: { store: SessionStore; url: string }) {
  const session = useSyncExternalStore(store.subscribe, store.get);
  const headerEditor = useGraphiQL((state) => state.headerEditor);
  const [email, setEmail] = useState("");
  const [password, setPassword] = useState("");
  const [error, setError] = useState<string | null>(null);
  const [busy, setBusy] = useState(false);

  const putToken = (accessToken: string) => headerEditor?.setValue(withBearer(headerEditor.getValue(), accessToken));

  const submit = async (event: FormEvent) => {
    event.preventDefault();
    setBusy(true);
    setError(null);
    try {
      const signedIn = await signIn(url, email, password);
      store.set(signedIn);
      setPassword("");
      putToken(signedIn.accessToken);
    } catch (failure) {
      setError((failure as Error).message);
    } finally {
      setBusy(false);
    }
  };

  const leave = async () => {
    if (!session) return;
    store.set(null);
    headerEditor?.setValue(withoutBearer(headerEditor.getValue()));
    await signOut(url, session).catch(() => undefined);
  };

  if (session) {
    return (
      <div className="explorer-sign-in">
        <div className="graphiql-doc-explorer-title">Signed in</div>
        <p role="status">
          Signed in as <strong>{session.user.displayName}</strong>
          {session.user.email ? ` (${session.user.email})` : ""}; the access token is valid until {new Date(session.expiresAt).toLocaleTimeString()}.
        </p>
        <p>
          It went into the headers of the tab you signed in from. &quot;Use in this tab&quot; puts it in the current tab&apos;s: queries send it as a
          header, subscriptions in connection_init.
        </p>
        <div className="explorer-sign-in-actions">
          <button type="button" className="graphiql-button" onClick={() => putToken(session.accessToken)}>
            Use in this tab
          </button>
          <button type="button" className="graphiql-button" onClick={() => void leave()}>
            Sign out
          </button>
        </div>
      </div>
    );
  }
  return (
    <form className="explorer-sign-in" onSubmit={(event) => void submit(event)}>
      <div className="graphiql-doc-explorer-title">Sign in</div>
      <p>Signs in with identity&apos;s login mutation and puts the access token in this tab&apos;s headers.</p>
      <label>
        Email
        <input type="email" name="email" autoComplete="username" required value={email} onChange={(event) => setEmail(event.target.value)} />
      </label>
      <label>
        Password
        <input type="password" name="password" autoComplete="current-password" required value={password} onChange={(event) => setPassword(event.target.value)} />
      </label>
      {error ? <p role="alert" className="explorer-sign-in-error">{error}</p> : null}
      <button type="submit" className="graphiql-button" disabled={busy}>
        {busy ? "Signing in…" : "Sign in"}
      </button>
    </form>
  );
}

export function signInPlugin(store: SessionStore, url: string): GraphiQLPlugin {
  return { title: "Sign in", icon: KeyIcon, content: () => <SignInPanel store={store} url={url} /> };
}
