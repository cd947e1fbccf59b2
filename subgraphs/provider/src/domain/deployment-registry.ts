import { ConfigError } from "@startales/service-kit";
import type { Db } from "../db";
import { checkBaseUrl } from "./base-url";
import type { ProviderDeployment } from "../generated/prisma/client";
import { builtinDeployments, parseDeployment, type Deployment } from "./deployments";

/**
 * Every deployment: the offline engines (BUILTIN), PROVIDER_DEPLOYMENTS (ENV) and those admins
 * added (ADMIN, in the database). Read through a short cache so the worker sees an admin's
 * change within `refreshMs` without a query per job.
 */
export function createDeploymentRegistry(db: Db, options: { fromEnv: Deployment[]; offline: boolean; transcription: boolean; production: boolean; refreshMs?: number; clock?: () => number }) {
  const clock = options.clock ?? Date.now;
  // PROVIDER_DEPLOYMENTS was parsed before NODE_ENV was known for sure: check it against it now.
  for (const d of options.fromEnv) {
    const problem = d.baseUrl ? checkBaseUrl(d.baseUrl, { production: options.production }) : null;
    if (problem) throw new ConfigError([{ variable: "PROVIDER_DEPLOYMENTS", message: `${d.name}: baseUrl ${problem}` }]);
  }
  const fixed = [...options.fromEnv, ...(options.offline ? builtinDeployments({ transcription: options.transcription }) : [])];
  // Every built-in name, installed or not: an admin's deployment must not take one over when it is.
  const reserved = new Set([...fixed.map((d) => d.name), ...builtinDeployments({ transcription: true }).map((d) => d.name)]);
  let cached: { at: number; list: Deployment[] } | null = null;

  const fromRow = (row: ProviderDeployment): Deployment | null => {
    try {
      // Checked again on read: a row from before a rule changed (or NODE_ENV did) is skipped, not used.
      return parseDeployment({ ...row, baseUrl: row.baseUrl, apiKeyEnv: row.apiKeyEnv }, "ADMIN", { production: options.production });
    } catch {
      return null;
    }
  };

  return {
    /** Names an admin may not take: BUILTIN and ENV deployments are configured, not edited. */
    isReserved: (name: string) => reserved.has(name),
    async list(): Promise<Deployment[]> {
      if (cached && clock() - cached.at < (options.refreshMs ?? 2_000)) return cached.list;
      const rows = await db.providerDeployment.findMany({ orderBy: { name: "asc" } });
      const list = [...fixed, ...rows.map(fromRow).filter((d): d is Deployment => d !== null && !reserved.has(d.name))];
      cached = { at: clock(), list };
      return list;
    },
    invalidate() {
      cached = null;
    },
  };
}

export type DeploymentRegistry = ReturnType<typeof createDeploymentRegistry>;
