import { mkdtempSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { parse } from "graphql";
import { ConfigError } from "../../packages/service-kit/src/config";
import { loadOperationManifest, normalizeOperation, sha256 } from "../../gateway/src/plugins/persisted-operations";
import { buildManifest } from "../../scripts/persisted-manifest";

describe("normalizeOperation", () => {
  it("gives one text however the operation is spaced, commented or ordered", () => {
    const a = normalizeOperation(parse("query Me { me { ...U } } fragment U on User { id ...V } fragment V on User { email }"));
    const b = normalizeOperation(parse(`# the profile
      fragment V on User { email }
      query Me {
        me { ...U }   # spread
      }
      fragment U on User { id, ...V }`));
    expect(b).toBe(a);
    expect(a.startsWith("query Me {")).toBe(true);
  });

  it("keeps operations that differ apart", () => {
    expect(normalizeOperation(parse("{ me { id } }"))).not.toBe(normalizeOperation(parse("{ me { id email } }")));
  });
});

describe("buildManifest", () => {
  const sources = [
    { path: "fragments.graphql", text: "fragment Profile on User { id displayName ...Contact } fragment Contact on User { email } fragment Unused on User { roles }" },
    { path: "ops.graphql", text: "query Me { me { ...Profile } } mutation Logout($t: String!) { logout(refreshToken: $t) }" },
  ];

  it("writes Apollo's manifest: one entry per operation with the fragments it uses, id = SHA-256 of the body", () => {
    const manifest = buildManifest(sources);
    expect(manifest.format).toBe("apollo-persisted-query-manifest");
    expect(manifest.version).toBe(1);
    expect(manifest.operations.map((o) => [o.name, o.type])).toEqual([["Me", "query"], ["Logout", "mutation"]]);
    const me = manifest.operations[0];
    expect(me?.body).toBe(normalizeOperation(parse("query Me { me { ...Profile } } fragment Profile on User { id displayName ...Contact } fragment Contact on User { email }")));
    expect(me?.body).not.toContain("Unused");
    for (const operation of manifest.operations) expect(operation.id).toBe(sha256(operation.body));
  });

  it("refuses anonymous operations, duplicates and missing fragments", () => {
    expect(() => buildManifest([{ path: "a.graphql", text: "{ me { id } }" }])).toThrow(/needs a name/);
    expect(() => buildManifest([{ path: "a.graphql", text: "query A { me { id } }" }, { path: "b.graphql", text: "query A { me { email } }" }])).toThrow(/A is defined twice/);
    expect(() => buildManifest([{ path: "a.graphql", text: "query A { me { ...Gone } }" }])).toThrow(/fragment Gone is not defined/);
  });
});

describe("loadOperationManifest", () => {
  const dir = mkdtempSync(join(tmpdir(), "safelist-"));
  const file = (name: string, content: string) => {
    const path = join(dir, name);
    writeFileSync(path, content);
    return path;
  };
  const issue = (path: string) => {
    try {
      loadOperationManifest(path);
    } catch (error) {
      if (error instanceof ConfigError) return error.issues[0];
      throw error;
    }
    throw new Error("expected a ConfigError");
  };

  it("reads a manifest the script wrote", () => {
    const manifest = buildManifest([{ path: "a.graphql", text: "query Me { me { id } }" }]);
    expect(loadOperationManifest(file("good.json", JSON.stringify(manifest)))).toEqual(manifest);
  });

  it("names OPERATION_SAFELIST_PATH when the file is missing, not JSON, not a manifest, or holds a bad operation", () => {
    const bad = [
      join(dir, "missing.json"),
      file("text.json", "not json"),
      file("shape.json", JSON.stringify([{ id: "x", body: "{ me { id } }" }])),
      file("body.json", JSON.stringify({ format: "apollo-persisted-query-manifest", version: 1, operations: [{ id: "x", body: "query {" }] })),
    ];
    for (const path of bad) expect(issue(path)).toEqual({ variable: "OPERATION_SAFELIST_PATH", message: expect.stringContaining(path) });
  });
});
