import { spawn, type ChildProcess } from "node:child_process";
import { randomUUID } from "node:crypto";
import { join } from "node:path";
import { createInterface } from "node:readline";

/** A client registered at the test provider; PKCE is required of every one. */
export type OidcTestClient = { client_id: string; client_secret?: string; redirect_uris: string[] };

/** A user of the test provider. `tamper` makes its ID tokens ones a relying party must refuse. */
export type OidcTestAccount = {
  id: string;
  password: string;
  email?: string;
  email_verified?: boolean;
  name?: string;
  preferred_username?: string;
  tamper?: "audience" | "signature";
};

export type OidcTestProvider = {
  issuer: string;
  /** Adds a user to the provider (unique per test); returns it. */
  addAccount: (account?: Partial<OidcTestAccount>) => Promise<OidcTestAccount>;
  stop: () => Promise<void>;
};

// It starts in about a third of a second. Once, in a full run on a loaded machine, a start
// never finished (its stderr then stopped after oidc-provider's import warning; the step
// lines it now prints will say where): a start that takes longer than this is abandoned
// and a fresh process started, up to START_ATTEMPTS times.
const ATTEMPT_TIMEOUT_MS = 20_000;
const START_ATTEMPTS = 3;
/** The longest startOidcProvider can take: what a setup hook that calls it must allow. */
export const OIDC_PROVIDER_STARTUP_TIMEOUT_MS = ATTEMPT_TIMEOUT_MS * START_ATTEMPTS;

/**
 * Starts a real OpenID Connect provider (the npm `oidc-provider`) on loopback in a child
 * process: test/testkit/oidc-provider-server.mjs, which is ESM-only, like the package.
 */
export async function startOidcProvider(clients: OidcTestClient[]): Promise<OidcTestProvider> {
  const failures: string[] = [];
  for (let attempt = 1; attempt <= START_ATTEMPTS; attempt++) {
    try {
      return await startOnce(clients);
    } catch (error) {
      failures.push(`attempt ${attempt}: ${(error as Error).message}`);
    }
  }
  throw new Error(`the OIDC provider did not start:\n${failures.join("\n")}`);
}

async function startOnce(clients: OidcTestClient[]): Promise<OidcTestProvider> {
  const child: ChildProcess = spawn(process.execPath, [join(__dirname, "oidc-provider-server.mjs"), JSON.stringify(clients)], {
    // stdin stays open: the server exits when it closes, so it dies with this process.
    stdio: ["pipe", "pipe", "pipe"],
  });
  let stderr = "";
  child.stderr?.on("data", (chunk) => (stderr += chunk));
  const exited = new Promise<void>((resolve) => child.once("exit", () => resolve()));
  const stop = async () => {
    if (child.exitCode === null && child.signalCode === null) child.kill("SIGKILL");
    await exited;
  };
  try {
    const issuer = await new Promise<string>((resolve, reject) => {
      const timer = setTimeout(() => reject(new Error(`no issuer after ${ATTEMPT_TIMEOUT_MS} ms; stderr: ${stderr}`)), ATTEMPT_TIMEOUT_MS);
      createInterface({ input: child.stdout! }).once("line", (line) => {
        clearTimeout(timer);
        resolve((JSON.parse(line) as { issuer: string }).issuer);
      });
      child.once("exit", (code) => {
        clearTimeout(timer);
        reject(new Error(`exited (${code}); stderr: ${stderr}`));
      });
    });
    const addAccount = async (account: Partial<OidcTestAccount> = {}): Promise<OidcTestAccount> => {
      const full: OidcTestAccount = { id: `user-${randomUUID()}`, password: `pw-${randomUUID()}`, ...account };
      const res = await fetch(`${issuer}/test/accounts`, { method: "POST", body: JSON.stringify(full) });
      if (res.status !== 201) throw new Error(`could not add an account to the OIDC provider: ${res.status}`);
      return full;
    };
    return { issuer, addAccount, stop };
  } catch (error) {
    await stop();
    throw error;
  }
}

/** The environment that configures identity with `providers` (name → client at `issuer`). */
export function oidcIdentityEnv(
  issuer: string,
  providers: Record<string, { clientId: string; clientSecret?: string }>,
  redirectUris: string[],
): Record<string, string> {
  const env: Record<string, string> = { OIDC_PROVIDERS: Object.keys(providers).join(","), OIDC_REDIRECT_URIS: redirectUris.join(",") };
  for (const [name, { clientId, clientSecret }] of Object.entries(providers)) {
    const prefix = `OIDC_${name.toUpperCase()}_`;
    env[`${prefix}ISSUER`] = issuer;
    env[`${prefix}CLIENT_ID`] = clientId;
    if (clientSecret) env[`${prefix}CLIENT_SECRET`] = clientSecret;
  }
  return env;
}
