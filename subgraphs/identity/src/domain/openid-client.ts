import type * as OpenidClient from "openid-client" with { "resolution-mode": "import" };

export type OpenidClientModule = typeof OpenidClient;
export type { Configuration, ClientAuth } from "openid-client" with { "resolution-mode": "import" };

let loaded: Promise<OpenidClientModule> | undefined;

/**
 * openid-client 6 is published as ES modules only. Node 20.19+ could require() it, but
 * TypeScript's node16 CommonJS output may not import an ES module statically, so it is
 * loaded with import() (which the CommonJS build keeps) once, at the first sign-in.
 */
export const openidClient = (): Promise<OpenidClientModule> => (loaded ??= import("openid-client"));
