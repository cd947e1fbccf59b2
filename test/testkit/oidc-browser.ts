import type { OidcTestAccount } from "./oidc-provider";

/** What the provider sends the browser back to the redirect URI with. */
export type OidcCallback = { code: string; state: string; iss?: string; url: URL };

const MAX_STEPS = 12;

/**
 * Plays the user's browser through a provider's sign-in with plain HTTP: follows redirects
 * by hand, keeps a cookie jar, fills in the login form with the account's password and
 * approves the consent form, until the provider redirects to `redirectUri`. No browser: the
 * test provider's pages are small forms.
 */
export async function signInAtProvider(authorizationUrl: string, account: Pick<OidcTestAccount, "id" | "password">, redirectUri: string): Promise<OidcCallback> {
  const cookies = new Map<string, string>();
  let request: { url: string; method: "GET" | "POST"; body?: string } = { url: authorizationUrl, method: "GET" };
  for (let step = 0; step < MAX_STEPS; step++) {
    const response = await fetch(request.url, {
      method: request.method,
      redirect: "manual",
      headers: {
        cookie: [...cookies].map(([name, value]) => `${name}=${value}`).join("; "),
        ...(request.body !== undefined ? { "content-type": "application/x-www-form-urlencoded" } : {}),
      },
      body: request.body,
    });
    for (const header of response.headers.getSetCookie()) {
      const [pair = ""] = header.split(";");
      const at = pair.indexOf("=");
      cookies.set(pair.slice(0, at).trim(), pair.slice(at + 1).trim());
    }
    const location = response.headers.get("location");
    if (response.status >= 300 && response.status < 400 && location) {
      const next = new URL(location, request.url);
      if (`${next.origin}${next.pathname}` === redirectUri) {
        const error = next.searchParams.get("error");
        if (error) throw new Error(`the provider refused the sign-in: ${error} ${next.searchParams.get("error_description") ?? ""}`);
        const code = next.searchParams.get("code");
        const state = next.searchParams.get("state");
        if (!code || !state) throw new Error(`the provider came back without code and state: ${next}`);
        const iss = next.searchParams.get("iss");
        return { code, state, ...(iss ? { iss } : {}), url: next };
      }
      request = { url: next.toString(), method: "GET" };
      continue;
    }
    const page = await response.text();
    const action = /<form[^>]*action="([^"]+)"/.exec(page)?.[1];
    if (response.status !== 200 || !action) throw new Error(`unexpected page from the provider (${response.status}): ${page.slice(0, 300)}`);
    const target = new URL(action.replace(/&#(\d+);/g, (_, code: string) => String.fromCharCode(Number(code))), request.url);
    const form = target.pathname.endsWith("/login") ? new URLSearchParams({ login: account.id, password: account.password }) : new URLSearchParams();
    request = { url: target.toString(), method: "POST", body: form.toString() };
  }
  throw new Error(`the provider did not redirect to ${redirectUri} within ${MAX_STEPS} steps`);
}
