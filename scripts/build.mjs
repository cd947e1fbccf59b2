#!/usr/bin/env node
// Builds everything the services need, in order: Prisma clients (one per subgraph),
// graphql-codegen types, the explorer's bundle, TypeScript (tsc -b, incremental), the typed
// client's persisted-operation manifest. Nothing it writes is committed.
import { execFileSync } from "node:child_process";
import { existsSync, readdirSync } from "node:fs";
import { join, resolve } from "node:path";

const root = resolve(import.meta.dirname, "..");
const bin = (name) => join(root, "node_modules", ".bin", name);
const run = (label, command, args, options = {}) => {
  const started = Date.now();
  try {
    execFileSync(command, args, { stdio: ["ignore", "inherit", "inherit"], cwd: root, ...options });
  } catch {
    console.error(`build: ${label} failed (see above)`);
    process.exit(1);
  }
  console.log(`build: ${label} (${((Date.now() - started) / 1000).toFixed(1)} s)`);
};

export const prismaServices = () =>
  readdirSync(join(root, "subgraphs")).filter((name) => existsSync(join(root, "subgraphs", name, "prisma", "schema.prisma")));

const env = {
  ...process.env,
  CHECKPOINT_DISABLE: "1",
  PRISMA_HIDE_UPDATE_MESSAGE: "1",
  // prisma generate only validates that the variable exists; it never connects.
  DATABASE_URL: process.env.DATABASE_URL ?? "postgresql://postgres@127.0.0.1:5432/unused",
};
for (const name of prismaServices()) {
  run(`prisma generate (${name})`, process.execPath, [join(root, "node_modules", "prisma", "build", "index.js"), "generate"], {
    cwd: join(root, "subgraphs", name),
    env,
    stdio: ["ignore", "ignore", "inherit"],
  });
}
run("graphql-codegen", bin("graphql-codegen"), ["--config", "codegen.yml", "--silent"]);
run("explorer", process.execPath, [join(root, "scripts", "build-explorer.mjs")]);
run("tsc -b", bin("tsc"), ["-b", "tsconfig.json"]);
// The gateway's safelist for the client's catalogue (Apollo's persisted query manifest): after
// codegen has checked the catalogue against the API schema, and after tsc, as the script
// uses the gateway's normalization (which imports service-kit's build).
run("persisted-operation manifest", bin("tsx"), ["scripts/persisted-manifest.ts", "--out", "packages/client/persisted-operations.json"]);
// Tests and scripts are type-checked too (jest itself only strips types).
run("tsc (tests, scripts)", bin("tsc"), ["-p", "test/tsconfig.json"]);
