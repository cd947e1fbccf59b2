import { checkJsonLimits, describeJsonViolation } from "@startales/service-kit";
import { preflightRequest } from "../../gateway/src/request-preflight";

const LIMITS = { maxDepth: 8, maxValues: 100, maxTokens: 1000 };

describe("preflightRequest", () => {
  it("lets an ordinary operation through", () => {
    expect(preflightRequest({ query: 'query($p: String!) { a(p: $p, q: "text") }', variables: { p: "x", list: ["a", { b: "c" }] } }, LIMITS)).toBeUndefined();
  });

  // PostgreSQL's text and jsonb cannot hold U+0000: a NUL that got as far as a subgraph's
  // query would fail there as an internal error, after whatever ran before it.
  describe("NUL characters", () => {
    it.each([
      ["a variable", { p: "a\u0000b" }, "Variable $p"],
      ["a string deep in a variable", { input: { names: ["ok", "bad\u0000"] } }, "Variable $input"],
      ["an object key in a variable", { input: { "k\u0000": 1 } }, "Variable $input"],
    ])("refuses one in %s with BAD_USER_INPUT, naming where it is", (_what, variables, named) => {
      const error = preflightRequest({ query: "query { a }", variables }, LIMITS);
      expect(error?.extensions.code).toBe("BAD_USER_INPUT");
      expect(error?.message).toContain(named);
      expect(error?.message).toContain("U+0000");
    });

    it("names the path of the string that holds it", () => {
      const error = preflightRequest({ query: "query { a }", variables: { input: { names: ["ok", "bad\u0000"] } } }, LIMITS);
      expect(error?.message).toContain("input.names[1]");
    });

    it.each([
      ["an escaped string literal", 'mutation { a(p: "x\\u0000y") }'],
      ["a raw one in a string literal", 'mutation { a(p: "x\u0000y") }'],
      ["a block string", 'mutation { a(p: """x\u0000y""") }'],
    ])("refuses one in %s of the document", (_what, query) => {
      const error = preflightRequest({ query }, LIMITS);
      expect(error?.extensions.code).toBe("BAD_USER_INPUT");
      expect(error?.message).toContain("U+0000");
    });

    it("leaves the text \\0 and a lone escape alone", () => {
      expect(preflightRequest({ query: 'query { a(p: "\\\\0 %00") }', variables: { p: "\\u0000" } }, LIMITS)).toBeUndefined();
    });
  });

  it("still refuses a document nested too deep with QUERY_TOO_COMPLEX", () => {
    const error = preflightRequest({ query: `query { ${"a { ".repeat(10)}b${" }".repeat(10)} }` }, LIMITS);
    expect(error?.extensions.code).toBe("QUERY_TOO_COMPLEX");
  });
});

describe("checkJsonLimits", () => {
  it("reports a NUL in a string with its path", () => {
    const { violation } = checkJsonLimits({ a: [1, "x\u0000"] }, { maxDepth: 5, maxValues: 10 }, "$v");
    expect(violation).toEqual({ kind: "nul", path: "$v.a[1]" });
    expect(describeJsonViolation(violation!, { maxDepth: 5, maxValues: 10 }, "Variable $v")).toBe("Variable $v holds a NUL character (U+0000) at $v.a[1]: text may not contain it");
  });

  it("reports a NUL in a top-level string", () => {
    expect(checkJsonLimits("\u0000", { maxDepth: 5, maxValues: 10 }).violation).toEqual({ kind: "nul", path: "" });
  });
});
