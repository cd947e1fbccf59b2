/** @type {import('jest').Config} */
module.exports = {
  testEnvironment: "node",
  roots: ["<rootDir>/test"],
  testMatch: ["**/*.test.ts"],
  transform: {
    "^.+\\.ts$": ["@swc/jest", { jsc: { parser: { syntax: "typescript" }, target: "es2022" }, module: { type: "commonjs" } }],
    // The OTLP exporter loads node:http with import(), which jest's module system cannot run
    // (docs/tracing.md); compiled to require() it can.
    "/@opentelemetry/otlp-exporter-base/.+\\.cjs$": ["@swc/jest", { jsc: { target: "es2022" }, module: { type: "commonjs", ignoreDynamic: false } }],
  },
  transformIgnorePatterns: ["/node_modules/(?!@opentelemetry/otlp-exporter-base/)"],
  // Tests run the TypeScript sources (the build still type-checks them first).
  // Generated Prisma code imports "./x.js" (node16 resolution); in jest that is "./x.ts".
  moduleNameMapper: {
    "^@startales/service-kit$": "<rootDir>/packages/service-kit/src",
    "^@startales/contracts$": "<rootDir>/packages/contracts/src",
    "^@startales/client$": "<rootDir>/packages/client/src",
    "^(\\.{1,2}/.*)\\.js$": "$1",
  },
  globalSetup: "<rootDir>/test/testkit/global-setup.ts",
  globalTeardown: "<rootDir>/test/testkit/global-teardown.ts",
  reporters: ["default", "<rootDir>/test/testkit/summary-reporter.js"],
  testTimeout: 30_000,
  maxWorkers: 2,
};
