// Shared Prisma CLI configuration for every subgraph: Prisma runs offline on its Wasm engines
// through the pg adapter (README, "Commands"), so no engine binary is ever downloaded.
// Each subgraph's prisma.config.ts calls `serviceConfig()`; the subgraph still owns its
// schema and migrations. The CLI runs on the Wasm schema engine through the pg adapter,
// because the native engine cannot be downloaded on our machines.
import { defineConfig } from "prisma/config";
import { PrismaPg } from "@prisma/adapter-pg";
import Result from "pg/lib/result.js";

patchCatalogTypes();

export function serviceConfig(schema = "prisma/schema.prisma") {
  return defineConfig({
    experimental: { adapter: true },
    engine: "js",
    schema,
    async adapter() {
      const url = process.env.DATABASE_URL;
      if (!url) throw new Error("DATABASE_URL is required to run Prisma migrations");
      // The CLI never closes the pool; let the process exit once the migration is done.
      return wholeScripts(new PrismaPg({ connectionString: url, allowExitOnIdle: true }));
    },
  });
}

type ScriptAdapter = { client: { query(sql: string): Promise<unknown> }; onError(error: unknown): never; executeScript(script: string): Promise<void> };

/**
 * adapter-pg 6.x runs a migration script by splitting it on every ";", which cuts apart
 * anything dollar-quoted (a PL/pgSQL trigger function, say). A migration is sent whole
 * instead: one simple-protocol query, which PostgreSQL also runs as one implicit transaction.
 */
function wholeScripts(factory: PrismaPg): PrismaPg {
  const connect = factory.connect.bind(factory);
  factory.connect = async () => {
    const adapter = (await connect()) as unknown as ScriptAdapter;
    adapter.executeScript = async function executeWholeScript(this: ScriptAdapter, script: string) {
      try {
        await this.client.query(script);
      } catch (error) {
        this.onError(error);
      }
    };
    return adapter as unknown as Awaited<ReturnType<typeof connect>>;
  };
  return factory;
}

// adapter-pg 6.x cannot decode the catalog types `name` (oid 19) and `"char"` (oid 18)
// that the schema engine reads while migrating (prisma/orm#27403, fixed in 7.x), so they
// are handed over as text. Only the migration tooling loads this; services do not.
function patchCatalogTypes(): void {
  type Field = { dataTypeID: number };
  const proto = (Result as unknown as { prototype: { addFields: (fields: Field[]) => unknown } }).prototype;
  const addFields = proto.addFields;
  if ((addFields as { patched?: boolean }).patched) return;
  const patched = function (this: unknown, fields: Field[]) {
    for (const f of fields) {
      if (f.dataTypeID === 18 || f.dataTypeID === 19) f.dataTypeID = 25;
      else if (f.dataTypeID === 1002 || f.dataTypeID === 1003) f.dataTypeID = 1009;
    }
    return addFields.call(this, fields);
  };
  (patched as { patched?: boolean }).patched = true;
  proto.addFields = patched;
}
