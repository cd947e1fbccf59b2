import { execFile } from "node:child_process";
import { cpSync, existsSync, mkdtempSync, readdirSync, readFileSync, writeFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { promisify } from "node:util";


const root = join(__dirname, "..", "..");
/** Every subgraph with a schema, as supergraph.yaml lists them. */
const subgraphNames = () => readdirSync(join(root, "subgraphs")).filter((name) => existsSync(join(root, "subgraphs", name, "schema.graphql")));
const exec = promisify(execFile);
const compose = (...args: string[]) => exec(process.execPath, [join(root, "node_modules", "tsx", "dist", "cli.mjs"), join(root, "scripts", "compose.ts"), ...args], { cwd: root });

/** A copy of the repo's supergraph inputs that a test may change freely. */
function workspace(): string {
  const dir = mkdtempSync(join(tmpdir(), "startales-compose-"));
  cpSync(join(root, "supergraph.yaml"), join(dir, "supergraph.yaml"));
  cpSync(join(root, "supergraph.graphql"), join(dir, "supergraph.graphql"));
  for (const name of subgraphNames()) cpSync(join(root, "subgraphs", name, "schema.graphql"), join(dir, "subgraphs", name, "schema.graphql"));
  return dir;
}

describe("composition checks for operators", () => {
  let dir: string;
  beforeEach(() => {
    dir = workspace();
  });
  afterEach(() => rmSync(dir, { recursive: true, force: true }));

  it("the committed supergraph.graphql is what the subgraph schemas compose to", async () => {
    const { stdout } = await compose("--check");
    expect(stdout).toMatch(/up to date/);
  });

  it("fails the check when a subgraph schema changed without recomposing", async () => {
    const schema = join(dir, "subgraphs", "campaign", "schema.graphql");
    writeFileSync(schema, readFileSync(schema, "utf8").replace("memberCount: Int!", "memberCount: Int!\n  openSlots: Int!"));
    await expect(compose("--config", join(dir, "supergraph.yaml"), "--out", join(dir, "supergraph.graphql"), "--check")).rejects.toMatchObject({
      code: 1,
      stderr: expect.stringMatching(/supergraph\.graphql is stale/),
    });
    // Recomposing fixes it, and the new field is in the supergraph.
    await compose("--config", join(dir, "supergraph.yaml"), "--out", join(dir, "supergraph.graphql"));
    expect(readFileSync(join(dir, "supergraph.graphql"), "utf8")).toContain("openSlots: Int!");
    await compose("--config", join(dir, "supergraph.yaml"), "--out", join(dir, "supergraph.graphql"), "--check");
  });

  it("prints composition errors with the subgraph they come from", async () => {
    // Both subgraphs now resolve Query.me without @shareable: composition must refuse.
    const schema = join(dir, "subgraphs", "campaign", "schema.graphql");
    writeFileSync(schema, readFileSync(schema, "utf8").replace("type Query {", "type Query {\n  me: User"));
    const failure = compose("--config", join(dir, "supergraph.yaml"), "--out", join(dir, "supergraph.graphql"));
    await expect(failure).rejects.toMatchObject({ code: 1 });
    const { stderr } = await failure.catch((e: { stderr: string }) => e);
    expect(stderr).toMatch(/Composition failed/);
    expect(stderr).toMatch(/Query\.me/);
    expect(stderr).toMatch(/identity/);
    expect(stderr).toMatch(/campaign/);
  });

  it("names the subgraph and line of a schema that does not parse", async () => {
    writeFileSync(join(dir, "subgraphs", "identity", "schema.graphql"), "type User @key(fields: \"id\") {\n  id: ID!\n  broken(\n}");
    const { stderr } = await compose("--config", join(dir, "supergraph.yaml"), "--out", join(dir, "out.graphql")).catch((e: { stderr: string }) => e);
    expect(stderr).toMatch(/\[identity\] \.\/subgraphs\/identity\/schema\.graphql:4:1/);
  });
});
