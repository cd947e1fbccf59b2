import { spawnSync } from "node:child_process";
import { mkdirSync, mkdtempSync, readFileSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join, relative } from "node:path";
import { parse, validate, type GraphQLSchema } from "graphql";
import { parse as parseYaml, stringify as stringifyYaml } from "yaml";
import { repeatedRootField } from "../../packages/service-kit/src/operation-text";
import { checkInternalOperations, formatFinding, internalOperationDirs, subgraphSchemasOf } from "../../scripts/check-operations";
import { composeFromConfig } from "../../scripts/compose";
import { graphqlFilesIn } from "../../scripts/persisted-manifest";
import { apiSchemaOf } from "../../scripts/schema-diff";

/**
 * What one service sends straight to another subgraph (<package>/src/operations/<subgraph>/)
 * must be valid against that subgraph's schema and the API schema, as they are now: a schema
 * change that breaks an internal call fails here and in `npm run check`, not in production.
 */
const root = join(__dirname, "..", "..");
const config = join(root, "supergraph.yaml");
const subgraphs = subgraphSchemasOf(config);
const api = apiSchemaOf(composeFromConfig(config).sdl ?? "");

const messagesOf = (schema: GraphQLSchema, text: string) => validate(schema, parse(text)).map((error) => error.message);

/** A caller's package in a scratch tree, with documents for some subgraphs: { "<subgraph>/<file>": text }. */
function scratchCaller(documents: Record<string, string>): string {
  const base = mkdtempSync(join(tmpdir(), "internal-operations-"));
  for (const [path, text] of Object.entries(documents)) {
    const dir = join(base, "packages", "caller", "src", "operations", path.split("/")[0] as string);
    mkdirSync(dir, { recursive: true });
    writeFileSync(join(dir, path.split("/")[1] as string), text);
  }
  return base;
}

/** The script as `npm run check:operations` (part of `npm run check`) runs it. */
const runScript = (...args: string[]) =>
  spawnSync(process.execPath, ["--require", join(root, "node_modules", "tsx", "dist", "cjs", "index.cjs"), join(root, "scripts", "check-operations.ts"), ...args], {
    cwd: root,
    encoding: "utf8",
    env: { PATH: process.env.PATH ?? "" },
  });

describe("internal GraphQL calls", () => {
  it("are found where their callers keep them, by the subgraph they are sent to", () => {
    const found = internalOperationDirs().map(({ dir, subgraph }) => [relative(root, dir), subgraph]);
    expect(found).toContainEqual([join("packages", "service-kit", "src", "operations", "campaign"), "campaign"]);
  });

  it("are each valid against the schema of the subgraph they are sent to and against the API schema", () => {
    const documents = internalOperationDirs().flatMap(({ dir, subgraph }) => graphqlFilesIn(dir).map((file) => ({ file: relative(root, file), subgraph, text: readFileSync(file, "utf8") })));
    expect(documents.map((d) => d.file)).toEqual(
      expect.arrayContaining(["campaign-access.graphql", "campaign-members.graphql", "my-campaigns.graphql"].map((name) => join("packages", "service-kit", "src", "operations", "campaign", name))),
    );
    for (const { file, subgraph, text } of documents) {
      const served = subgraphs.get(subgraph);
      expect([file, served ? messagesOf(served, text) : [`no subgraph ${subgraph}`]]).toEqual([file, []]);
      expect([file, messagesOf(api, text)]).toEqual([file, []]);
    }
  });

  it("stay valid when a batch repeats the access lookup under aliases", () => {
    // The document itself rather than codegen's copy of it: unit tests need no build.
    const access = parse(readFileSync(join(root, "packages", "service-kit", "src", "operations", "campaign", "campaign-access.graphql"), "utf8"));
    const batch = repeatedRootField(access)([{ id: "c-1" }, { id: "c-2" }, { id: "c-3" }]);
    expect(batch.aliases).toEqual(["campaign_0", "campaign_1", "campaign_2"]);
    expect(batch.variables).toEqual({ id_0: "c-1", id_1: "c-2", id_2: "c-3" });
    expect(batch.text.query).toContain("campaign_2: campaign(id: $id_2)");
    expect(messagesOf(subgraphs.get("campaign") as GraphQLSchema, batch.text.query)).toEqual([]);
    expect(messagesOf(api, batch.text.query)).toEqual([]);
  });

  it("report a broken document with its file, line and the schema it breaks", () => {
    const base = scratchCaller({
      "campaign/broken.graphql": "query Broken($id: ID!) {\n  campaign(id: $id) {\n    id\n    nam\n  }\n}\n",
      // Valid where it is sent, but not public: the API check alone refuses it.
      "campaign/federation-only.graphql": "query FederationOnly {\n  _service {\n    sdl\n  }\n}\n",
      "nowhere/lost.graphql": "query Lost { me { id } }\n",
    });
    const report = checkInternalOperations(internalOperationDirs(base), subgraphs, api);
    expect(report.operations).toBe(2);
    expect(report.problems.map(formatFinding).map((line) => line.replace(/^.*?\/packages\/caller\//, ""))).toEqual([
      'src/operations/campaign/broken.graphql:4:5  Broken: [campaign subgraph] Cannot query field "nam" on type "Campaign". Did you mean "name"?',
      'src/operations/campaign/broken.graphql:4:5  Broken: [API schema] Cannot query field "nam" on type "Campaign". Did you mean "name"?',
      'src/operations/campaign/federation-only.graphql:2:3  FederationOnly: [API schema] Cannot query field "_service" on type "Query".',
      "src/operations/nowhere  no subgraph nowhere in supergraph.yaml (or its schema does not build) to check these against",
    ]);
  });

  it("fail `npm run check:operations` when a change to campaign's schema breaks one", () => {
    const passing = runScript();
    // Every folder of internal operations is named (campaign's, and those of other callers such as provider's of content).
    expect(passing.stdout).toMatch(/^check-operations: \d+ internal operations of packages\/service-kit\/src\/operations\/campaign(?:, [\w/.-]+)* are valid against their subgraph's schema and the API schema$/m);
    expect(passing.status).toBe(0);

    // Campaign renames Campaign.myMembership: the supergraph still composes, the access lookup breaks.
    const dir = mkdtempSync(join(tmpdir(), "internal-operations-"));
    const yaml = parseYaml(readFileSync(config, "utf8")) as { subgraphs: Record<string, { schema: { file: string } }> };
    for (const subgraph of Object.values(yaml.subgraphs)) subgraph.schema.file = join(root, subgraph.schema.file);
    const campaignSchema = join(dir, "campaign.graphql");
    writeFileSync(campaignSchema, readFileSync(join(root, "subgraphs", "campaign", "schema.graphql"), "utf8").replace("myMembership: Membership", "viewerMembership: Membership"));
    (yaml.subgraphs.campaign as { schema: { file: string } }).schema.file = campaignSchema;
    writeFileSync(join(dir, "supergraph.yaml"), stringifyYaml(yaml));

    const failing = runScript("--config", join(dir, "supergraph.yaml"));
    expect(failing.stderr).toContain(
      `packages/service-kit/src/operations/campaign/campaign-access.graphql:8:5  SubgraphCampaignAccess: [campaign subgraph] Cannot query field "myMembership" on type "Campaign".`,
    );
    expect(failing.stderr).toMatch(/check-operations: \d+ problem\(s\) in \d+ internal operations of packages\/service-kit\/src\/operations\/campaign(?:, [\w/.-]+)*: the service sending them would fail/);
    expect(failing.status).toBe(1);
  }, 60_000);
});
