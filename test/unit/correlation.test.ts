import { requestIdFrom } from "../../packages/service-kit/src/correlation";

const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$/;

describe("requestIdFrom", () => {
  it.each([
    ["abcdefgh"],
    ["req-2026.11.25:09_30"],
    ["0f8fad5b-d9cb-469f-a165-70867728950e"],
    ["A".repeat(128)],
  ])("keeps the safe id %p", (id) => {
    expect(requestIdFrom(id)).toBe(id);
  });

  it.each([
    ["too short", "abc1234"],
    ["too long", "a".repeat(129)],
    ["a space", "abc def ghi"],
    ["a newline (log injection)", "abcdefgh\n{\"level\":\"fatal\"}"],
    ["a slash", "abcd/efgh"],
    ["non-ASCII letters", "ñandú-request-1"],
    ["empty", ""],
  ])("replaces an id with %s by a fresh UUID", (_label, id) => {
    const result = requestIdFrom(id);
    expect(result).not.toBe(id);
    expect(result).toMatch(UUID);
  });

  it.each([[undefined], [null]])("generates a UUID when the header is %p", (header) => {
    expect(requestIdFrom(header)).toMatch(UUID);
  });

  it("generates a different id each time", () => {
    expect(requestIdFrom(undefined)).not.toBe(requestIdFrom(undefined));
  });

  it("uses the first value of a repeated header", () => {
    expect(requestIdFrom(["first-request-id", "second-request-id"])).toBe("first-request-id");
  });

  it("replaces a repeated header whose first value is unsafe", () => {
    const result = requestIdFrom(["bad id!", "second-request-id"]);
    expect(result).toMatch(UUID);
  });

  it("generates a UUID for an empty array", () => {
    expect(requestIdFrom([])).toMatch(UUID);
  });
});
