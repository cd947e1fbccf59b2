import { OidcProviderUnavailable } from "./oidc-errors";

// A provider that does not answer within this holds up a sign-in, not the service.
const PROVIDER_TIMEOUT_MS = 10_000;

export type ProviderResponse = { status: number; body: unknown };

/**
 * One request to an OIDC provider, answered as JSON (body undefined when it is not JSON).
 * A network failure or timeout is OidcProviderUnavailable; any status is the caller's to judge.
 */
export async function providerRequest(url: string, init: RequestInit = {}): Promise<ProviderResponse> {
  let response: Response;
  try {
    response = await fetch(url, {
      ...init,
      headers: { accept: "application/json", ...init.headers },
      // Never follow a redirect to somewhere else with a client secret or an authorization code.
      redirect: "error",
      signal: AbortSignal.timeout(PROVIDER_TIMEOUT_MS),
    });
  } catch (error) {
    throw new OidcProviderUnavailable(`no answer from ${new URL(url).origin}: ${(error as Error).name}`);
  }
  const text = await response.text().catch(() => "");
  let body: unknown;
  try {
    body = JSON.parse(text);
  } catch {
    body = undefined;
  }
  return { status: response.status, body };
}
