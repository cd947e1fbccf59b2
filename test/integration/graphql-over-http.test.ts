import { serverAudits } from "graphql-http";
import { startStack, type Stack } from "../testkit/stack";

/**
 * The GraphQL-over-HTTP audits (graphql-http) against the gateway. Every MUST passes; the
 * non-passing SHOULD/MAY audits are pinned, so a new one fails as a regression.
 * Apollo Server's published known non-passes: 572B, FDE2, 7B9B (400 rather than 200 for
 * parse/validation/variable errors with application/json) and 5A70, D6D5, 6A70 (GET forms
 * blocked by CSRF prevention).
 */
const KNOWN_NOT_PASSING = ["572B", "FDE2", "7B9B", "5A70", "D6D5", "6A70"];

describe("the gateway speaks GraphQL over HTTP", () => {
  let stack: Stack;
  beforeAll(async () => {
    stack = await startStack({ logLevel: "warn" });
  });
  afterAll(() => stack.stop());

  it("passes every MUST audit and no SHOULD/MAY audit regresses", async () => {
    const results = await Promise.all(
      serverAudits({ url: stack.graphqlUrl }).map(async (audit) => ({ id: audit.id, name: audit.name, result: await audit.fn() })),
    );
    const notPassing = results.filter((r) => r.result.status !== "ok");
    expect(notPassing.filter((r) => r.name.startsWith("MUST")).map((r) => `${r.id} ${r.name}`)).toEqual([]);
    expect(notPassing.map((r) => r.id).sort()).toEqual([...KNOWN_NOT_PASSING].sort());
    expect(results.length).toBeGreaterThanOrEqual(60);
  });
});
