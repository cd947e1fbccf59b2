import type { IncomingMessage } from "node:http";
import { API_KEY_HEADER, ErrorCode, headerValue, requestError, type SignedInViewer, type Viewer } from "@startales/service-kit";
import type { AccessTokenVerifier } from "./access-token";
import type { ApiKeyVerifier } from "./api-key";

/**
 * Who is calling: a person with `Authorization: Bearer <access token>`, a tool or service
 * with `X-Api-Key: <key>`, or nobody. Both at once is refused (BAD_USER_INPUT, 400) rather
 * than guessed at: whichever we picked, the client would be acting as someone it may not
 * have meant.
 */
export function createAuthenticator(deps: { verifyAccessToken: AccessTokenVerifier; apiKeys: ApiKeyVerifier }) {
  const authenticate = async (req: IncomingMessage, requestId: string): Promise<Viewer> => {
    const authorization = headerValue(req, "authorization");
    const apiKey = headerValue(req, API_KEY_HEADER);
    if (authorization && apiKey) {
      throw requestError(ErrorCode.BAD_USER_INPUT, "Send either Authorization or X-Api-Key, not both");
    }
    return apiKey ? deps.apiKeys.verify(apiKey.trim(), requestId) : deps.verifyAccessToken(authorization);
  };
  return Object.assign(authenticate, {
    /** The caller, when their bearer token was verified before (no API key sent): nothing to verify, so no work to protect. */
    known(req: IncomingMessage): SignedInViewer | undefined {
      const authorization = headerValue(req, "authorization");
      return authorization && !headerValue(req, API_KEY_HEADER) ? deps.verifyAccessToken.kept(authorization) : undefined;
    },
  });
}
