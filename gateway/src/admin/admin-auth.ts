import type { IncomingMessage } from "node:http";
import { GraphQLError } from "graphql";
import { API_KEY_HEADER, ErrorCode, Role, canWrite, headerValue, isApiKeyFormat, requestError, type SignedInViewer, type Viewer } from "@startales/service-kit";
import type { ApiKeyVerifier } from "../api-key";

/** Who may use the queues admin, and how; or why not, as the HTTP status to answer. */
export type AdminAccess =
  | { allowed: true; viewer: SignedInViewer; canWrite: boolean }
  | { allowed: false; status: 400 | 401 | 403 | 503; message: string };

/** What a browser shows in its sign-in prompt. */
export const BASIC_REALM = "Startales queues";

const BASIC = /^Basic ([A-Za-z0-9+/=]+)$/i;

/**
 * The queues admin accepts the gateway's credentials plus HTTP Basic auth, so a browser can
 * open it: the password is an API key (the user name is not used), verified by identity like
 * X-Api-Key. `Authorization: Bearer <access token>` and `X-Api-Key` work as on /graphql.
 * Only ADMINs get in; a read-only key (scope READ) may look but not change anything.
 */
export function createAdminAuthenticator(deps: {
  authenticate: (req: IncomingMessage, requestId: string) => Promise<Viewer>;
  apiKeys: ApiKeyVerifier;
}) {
  async function viewerOf(req: IncomingMessage, requestId: string): Promise<Viewer> {
    const basic = BASIC.exec(headerValue(req, "authorization")?.trim() ?? "");
    if (!basic?.[1]) return deps.authenticate(req, requestId);
    if (headerValue(req, API_KEY_HEADER)) throw requestError(ErrorCode.BAD_USER_INPUT, "Send either Authorization or X-Api-Key, not both");
    const decoded = Buffer.from(basic[1], "base64").toString("utf8");
    const password = decoded.slice(decoded.indexOf(":") + 1).trim();
    // Someone typing their account's password gets told what to type instead.
    if (!isApiKeyFormat(password)) throw requestError(ErrorCode.UNAUTHENTICATED, "The password must be an API key (stk_…)");
    return deps.apiKeys.verify(password, requestId);
  }

  return async (req: IncomingMessage, requestId: string): Promise<AdminAccess> => {
    let viewer: Viewer;
    try {
      viewer = await viewerOf(req, requestId);
    } catch (error) {
      return refusal(error);
    }
    if (viewer.kind !== "user") return { allowed: false, status: 401, message: "Sign in: the password is an API key (stk_…) of an ADMIN" };
    if (!viewer.roles.includes(Role.ADMIN)) return { allowed: false, status: 403, message: "Requires the ADMIN role" };
    return { allowed: true, viewer, canWrite: canWrite(viewer) };
  };
}

const STATUS_BY_CODE: Record<string, 400 | 401 | 503> = {
  [ErrorCode.BAD_USER_INPUT]: 400,
  [ErrorCode.UNAUTHENTICATED]: 401,
  [ErrorCode.SERVICE_UNAVAILABLE]: 503,
};

/** The verifiers' errors carry the gateway's codes; each becomes the status /graphql would answer. */
function refusal(error: unknown): AdminAccess {
  const status = error instanceof GraphQLError ? STATUS_BY_CODE[String(error.extensions.code)] : undefined;
  if (!status) throw error;
  return { allowed: false, status, message: (error as GraphQLError).message };
}
