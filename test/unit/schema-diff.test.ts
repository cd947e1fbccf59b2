import { readFileSync } from "node:fs";
import { join } from "node:path";
import { buildSchema } from "graphql";
import { apiSchemaOf, checkSchemaEvolution, removalDate } from "../../scripts/schema-diff";

const TODAY = "2030-06-15";

/** A small API: `extra` is added to Query's fields, `enumValues` to Color. */
const schema = (fields: string, extra = "") => buildSchema(`type Query { ${fields} } enum Color { RED GREEN } ${extra}`);

async function verdict(base: string, next: string, extraBase = "", extraNext = "") {
  const report = await checkSchemaEvolution(schema(base, extraBase), schema(next, extraNext), TODAY);
  return { ok: report.ok, breaking: report.breaking.map((f) => f.path), allowed: report.allowed.map((f) => f.path), undated: report.undated.map((f) => f.path) };
}

describe("the schema evolution check", () => {
  it("passes an added field", async () => {
    expect(await verdict("name: String", "name: String tickRateMs: Int")).toEqual({ ok: true, breaking: [], allowed: [], undated: [] });
  });

  it("fails a removed field", async () => {
    expect(await verdict("name: String tickRateMs: Int", "name: String")).toEqual({ ok: false, breaking: ["Query.tickRateMs"], allowed: [], undated: [] });
  });

  it("allows removing a deprecated field whose removal window has passed", async () => {
    const base = 'name: String tickRateMs: Int @deprecated(reason: "Use `tickRate`; removal after 2030-06-14")';
    expect(await verdict(base, "name: String")).toEqual({ ok: true, breaking: [], allowed: ["Query.tickRateMs"], undated: [] });
  });

  it("fails removing a deprecated field whose window has not passed (its last day included)", async () => {
    for (const date of ["2030-06-15", "2099-01-01"]) {
      const base = `name: String tickRateMs: Int @deprecated(reason: "Use tickRate; removal after ${date}")`;
      expect(await verdict(base, "name: String")).toEqual({ ok: false, breaking: ["Query.tickRateMs"], allowed: [], undated: [] });
    }
  });

  it("fails removing a field deprecated without a removal date", async () => {
    const report = await checkSchemaEvolution(schema('name: String old: Int @deprecated(reason: "Use name")'), schema("name: String"), TODAY);
    expect(report.breaking).toEqual([expect.objectContaining({ path: "Query.old", why: expect.stringMatching(/without "removal after YYYY-MM-DD"/) })]);
  });

  it("judges by the base's deprecation, so a field cannot be deprecated and removed in one change", async () => {
    expect(await verdict("name: String old: Int", "name: String")).toMatchObject({ ok: false, breaking: ["Query.old"] });
  });

  it("fails a changed field type unless its window has passed", async () => {
    expect(await verdict("name: String", "name: Int")).toMatchObject({ ok: false, breaking: ["Query.name"] });
    expect(await verdict('name: String @deprecated(reason: "removal after 2030-01-01")', "name: Int")).toMatchObject({ ok: true, allowed: ["Query.name"] });
  });

  it("applies the window to enum values and arguments (an argument may go with its deprecated field)", async () => {
    const gone = 'paint(color: Color, shade: Int): Int @deprecated(reason: "removal after 2030-01-01")';
    expect(await verdict(gone, "paint(color: Color): Int")).toMatchObject({ ok: true, allowed: ["Query.paint.shade"] });
    expect(await verdict("paint(color: Color, shade: Int): Int", "paint(color: Color): Int")).toMatchObject({ ok: false, breaking: ["Query.paint.shade"] });
    const base = buildSchema('type Query { color: Color } enum Color { RED GREEN @deprecated(reason: "removal after 2030-01-01") }');
    const next = buildSchema("type Query { color: Color } enum Color { RED }");
    expect((await checkSchemaEvolution(base, next, TODAY)).allowed.map((f) => f.path)).toEqual(["Color.GREEN"]);
  });

  it("allows removing a type once every use of it may go", async () => {
    const legacy = "type Legacy { id: ID }";
    const passed = await verdict('name: String legacy: Legacy @deprecated(reason: "removal after 2030-01-01")', "name: String", legacy);
    expect(passed).toMatchObject({ ok: true, allowed: expect.arrayContaining(["Legacy", "Query.legacy"]) });
    const notYet = await verdict('name: String legacy: Legacy @deprecated(reason: "removal after 2030-01-01") other: Legacy', "name: String", legacy);
    expect(notYet).toMatchObject({ ok: false, breaking: expect.arrayContaining(["Legacy", "Query.other"]) });
  });

  it("fails a new deprecation without a removal date, and passes one with it", async () => {
    expect(await verdict("name: String", 'name: String @deprecated(reason: "Use title")')).toEqual({ ok: false, breaking: [], allowed: [], undated: ["Query.name"] });
    expect(await verdict("name: String", 'name: String @deprecated(reason: "Use title; removal after 2031-01-01")')).toMatchObject({ ok: true, undated: [] });
  });

  it("reads the removal date only when it is a real date", () => {
    expect(removalDate("Use `tickRate`; removal after 2026-09-30")).toBe("2026-09-30");
    expect(removalDate("Removal After 2026-09-30.")).toBe("2026-09-30");
    expect(removalDate("removal after 2026-02-30")).toBeUndefined();
    expect(removalDate("removal after 30/09/2026")).toBeUndefined();
    expect(removalDate("No longer supported")).toBeUndefined();
    expect(removalDate(null)).toBeUndefined();
  });

  it("compares the API schema of a supergraph: what clients see, without federation's machinery", async () => {
    const api = apiSchemaOf(readFileSync(join(__dirname, "..", "..", "supergraph.graphql"), "utf8"));
    expect(api.getQueryType()?.getFields()._entities).toBeUndefined();
    expect(api.getType("join__Graph")).toBeUndefined();
    expect(api.getType("Campaign")).toBeDefined();
    expect((await checkSchemaEvolution(api, api, TODAY)).ok).toBe(true);
  });
});
