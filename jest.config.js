// Two projects over one base: `unit` (test/unit) needs the sources and their generated code
// (codegen, Prisma: `npm run build` once), no PostgreSQL or Redis (`npx jest --selectProjects unit`); `stack` (every other test folder)
// runs against the real databases and Redis, which its global setup prepares. A project's
// global setup runs only when one of its tests is selected.
/** @type {import('jest').Config} */
const base = {
  testEnvironment: "node",
  testMatch: ["**/*.test.ts"],
  transform: {
    "^.+\\.ts$": ["@swc/jest", { jsc: { parser: { syntax: "typescript" }, target: "es2022" }, module: { type: "commonjs" } }],
    // The OTLP exporter loads node:http with import(), which jest's module system cannot run
    // (docs/tracing.md); compiled to require() it can.
    "/@opentelemetry/otlp-exporter-base/.+\\.cjs$": ["@swc/jest", { jsc: { target: "es2022" }, module: { type: "commonjs", ignoreDynamic: false } }],
    // @tus/server 2 (content's resumable uploads) and what it imports are ES modules only. Node
    // (20.19+) require()s them as the built services do; jest's module system cannot, so they
    // are compiled to CommonJS for the tests.
    "/node_modules/(@tus/[^/]+|srvx)/.+\\.m?js$": ["@swc/jest", { jsc: { target: "es2022" }, module: { type: "commonjs" } }],
    // openid-client 6 (identity's OIDC sign-in) and what it imports (oauth4webapi, its own jose
    // 6) are ES modules only too; identity loads it with import(). Compiled likewise.
    "/node_modules/(openid-client|oauth4webapi)/.+\\.js$": ["@swc/jest", { jsc: { target: "es2022" }, module: { type: "commonjs" } }],
  },
  // Only the jose under openid-client (6, ESM only) is compiled, not the top-level one (5, CommonJS).
  transformIgnorePatterns: ["/node_modules/(?!(@opentelemetry/otlp-exporter-base|@tus/[^/]+|srvx|openid-client|oauth4webapi)/)(?<!/openid-client/node_modules/)"],
  // Tests run the TypeScript sources (the build still type-checks them first).
  // Generated Prisma code imports "./x.js" (node16 resolution); in jest that is "./x.ts".
  moduleNameMapper: {
    "^@startales/service-kit$": "<rootDir>/packages/service-kit/src",
    "^@startales/contracts$": "<rootDir>/packages/contracts/src",
    "^@startales/client$": "<rootDir>/packages/client/src",
    "^(\\.{1,2}/.*)\\.js$": "$1",
  },
};

/** @type {import('jest').Config} */
module.exports = {
  projects: [
    { ...base, displayName: "unit", roots: ["<rootDir>/test/unit"] },
    {
      ...base,
      displayName: "stack",
      roots: ["<rootDir>/test"],
      testPathIgnorePatterns: ["/node_modules/", "<rootDir>/test/unit/"],
      globalSetup: "<rootDir>/test/testkit/global-setup.ts",
      globalTeardown: "<rootDir>/test/testkit/global-teardown.ts",
    },
  ],
  reporters: ["default", "<rootDir>/test/testkit/summary-reporter.js"],
  testTimeout: 30_000,
  maxWorkers: 2,
  testSequencer: "<rootDir>/test/testkit/sequencer.js",
};
