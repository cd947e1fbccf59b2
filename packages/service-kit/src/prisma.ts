import { PrismaPg } from "@prisma/adapter-pg";
import type { ReadinessCheck } from "./health";

/**
 * The driver adapter a service's generated PrismaClient runs on (no native engine; see
 * ../shared/docs/prisma-offline.md): `new PrismaClient({ adapter: pgAdapter(url, size) })`.
 */
export function pgAdapter(connectionString: string, poolSize: number): PrismaPg {
  return new PrismaPg({ connectionString, max: poolSize, connectionTimeoutMillis: 5_000 });
}

type Pingable = { $queryRawUnsafe(query: string): Promise<unknown> };

export const databaseReadiness = (prisma: Pingable): ReadinessCheck => ({
  name: "database",
  check: () => prisma.$queryRawUnsafe("SELECT 1"),
});
