// A graphql-codegen schema loader: the API schema of a composed supergraph, i.e. what clients
// see, without federation's join__/link__ machinery. The same function scripts/schema-diff.ts
// compares (apiSchemaOf); kept in plain JavaScript so that codegen loads it without a
// TypeScript hook. SECURITY features (@authenticated, …) do not change the shape, so it does
// not ask whether they could be enforced.
/* eslint-disable @typescript-eslint/no-require-imports -- codegen require()s its loaders */
const { readFileSync } = require("node:fs");
const { resolve } = require("node:path");
const { Supergraph } = require("@apollo/federation-internals");

module.exports = function apiSchemaLoader(pointer, options) {
  const sdl = readFileSync(resolve(options.cwd ?? process.cwd(), pointer), "utf8");
  return Supergraph.build(sdl, { supportedFeatures: null }).apiSchema().toGraphQLJSSchema();
};
