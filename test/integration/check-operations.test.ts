import { spawnSync } from "node:child_process";
import { mkdtempSync, readFileSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { checkManifest, checkOperationFiles, formatFinding } from "../../scripts/check-operations";
import { apiSchemaOf } from "../../scripts/schema-diff";

/** scripts/check-operations.ts: every operation a client ships must still validate against the API. */
const root = join(__dirname, "..", "..");
const schema = apiSchemaOf(readFileSync(join(root, "supergraph.graphql"), "utf8"));

/** The script as `npm run check:operations` runs it. */
const runScript = (...args: string[]) =>
  spawnSync(process.execPath, ["--require", join(root, "node_modules", "tsx", "dist", "cjs", "index.cjs"), join(root, "scripts", "check-operations.ts"), ...args], {
    cwd: root,
    encoding: "utf8",
    env: { PATH: process.env.PATH ?? "" },
  });

function operationsDir(files: Record<string, string>): string {
  const dir = mkdtempSync(join(tmpdir(), "operations-"));
  for (const [name, text] of Object.entries(files)) writeFileSync(join(dir, name), text);
  return dir;
}

describe("the operations check", () => {
  it("passes the catalogue and the tests' operations against the API composed from supergraph.yaml", () => {
    const result = runScript();
    expect(result.stderr).toBe("");
    expect(result.stdout).toMatch(/^check-operations: \d+ operations of packages\/client\/operations, test\/operations are valid against the API schema$/m);
    expect(result.status).toBe(0);
  }, 60_000);

  it("fails naming the operation, its file and line, and the error", () => {
    const dir = operationsDir({
      "campaigns.graphql": "query Campaign($id: ID!) {\n  campaign(id: $id) {\n    id\n    nam\n  }\n}\n",
      "fine.graphql": "query Fine { me { id } }\n",
    });
    const result = runScript("--dir", dir);
    expect(result.status).toBe(1);
    expect(result.stderr).toContain(`campaigns.graphql:4:5  Campaign: Cannot query field "nam" on type "Campaign". Did you mean "name"?`);
    expect(result.stderr).toMatch(/check-operations: 1 problem\(s\) in 2 operations of .+: a client sending them would fail/);
  }, 60_000);

  it("follows fragments across the files of a directory, and reports a broken one where it is", () => {
    const report = checkOperationFiles(schema, [
      { path: "/ops/a.graphql", text: "query Mine { me { ...Profile } }" },
      { path: "/ops/b.graphql", text: "fragment Profile on User {\n  id\n  nickname\n}\nfragment Unused on Campaign { bogus }" },
    ]);
    expect(report.operations).toBe(1);
    expect(report.problems.map(formatFinding).map((line) => line.replace(/^.*?\/ops\//, ""))).toEqual([
      'b.graphql:3:3  Mine: Cannot query field "nickname" on type "User".',
      'b.graphql:5:31  fragment Unused: Cannot query field "bogus" on type "Campaign".',
    ]);
  });

  it("refuses unnamed and twice-named operations, and syntax errors, by file and line", () => {
    const report = checkOperationFiles(schema, [
      { path: "a.graphql", text: "{ me { id } }\nquery Twice { me { id } }\nquery Twice { me { displayName } }" },
      { path: "b.graphql", text: "query Broken { me {" },
    ]);
    expect(report.problems.map((p) => [p.file, p.line, p.message.split(":")[0]])).toEqual([
      ["b.graphql", 1, "Syntax Error"],
      ["a.graphql", 1, "an operation without a name"],
      ["a.graphql", 3, "operation Twice is defined more than once"],
    ]);
  });

  it("prints uses of deprecated fields without failing", () => {
    const deprecated = apiSchemaOf(
      readFileSync(join(root, "supergraph.graphql"), "utf8").replace('name: String! @join__field(graph: CAMPAIGN)', 'name: String! @join__field(graph: CAMPAIGN) @deprecated(reason: "Use title; removal after 2099-01-01")'),
    );
    const report = checkOperationFiles(deprecated, [{ path: "a.graphql", text: "query Named($id: ID!) { campaign(id: $id) { name } }" }]);
    expect(report.problems).toEqual([]);
    expect(report.deprecations.map((d) => d.message)).toEqual(["The field Campaign.name is deprecated. Use title; removal after 2099-01-01"]);
  });

  it("checks a persisted query manifest, e.g. the safelist a gateway enforces", () => {
    const manifest = {
      format: "apollo-persisted-query-manifest",
      version: 1,
      operations: [
        { id: "1", name: "Me", type: "query", body: "query Me { me { id } }" },
        { id: "2", name: "Old", type: "query", body: "query Old { me { nickname } }" },
      ],
    };
    const report = checkManifest(schema, "/deploy/operations.json", JSON.stringify(manifest));
    expect(report.operations).toBe(2);
    expect(report.problems).toEqual([{ file: "/deploy/operations.json (body of Old)", line: 1, column: 18, operation: "Old", message: 'Cannot query field "nickname" on type "User".' }]);
  });
});
