import { GraphQLError, Kind, parseValue as parseGraphQLValue } from "graphql";
import { DateTimeScalar } from "../../packages/service-kit/src/scalars";

function errorFrom(fn: () => unknown): GraphQLError {
  try {
    fn();
  } catch (error) {
    if (error instanceof GraphQLError) return error;
    throw error;
  }
  throw new Error("expected a GraphQLError");
}

describe("DateTimeScalar", () => {
  it("is named DateTime", () => {
    expect(DateTimeScalar.name).toBe("DateTime");
  });

  describe("serialize", () => {
    it("writes a Date as an ISO-8601 UTC string", () => {
      expect(DateTimeScalar.serialize(new Date(Date.UTC(2026, 10, 25, 9, 30)))).toBe("2026-11-25T09:30:00.000Z");
    });

    it("normalises an ISO string with an offset to UTC", () => {
      expect(DateTimeScalar.serialize("2026-11-25T10:30:00+01:00")).toBe("2026-11-25T09:30:00.000Z");
    });

    it("keeps a UTC ISO string", () => {
      expect(DateTimeScalar.serialize("2026-11-25T09:30:00.000Z")).toBe("2026-11-25T09:30:00.000Z");
    });

    it("refuses an invalid date as a server error, not the client's bad input", () => {
      expect(() => DateTimeScalar.serialize(new Date(NaN))).toThrow(TypeError);
      expect(() => DateTimeScalar.serialize(42)).toThrow(TypeError);
    });
  });

  describe("parseValue", () => {
    it("reads an ISO string into a Date", () => {
      const date = DateTimeScalar.parseValue("2026-11-25T09:30:00.000Z");
      expect(date).toBeInstanceOf(Date);
      expect((date as Date).toISOString()).toBe("2026-11-25T09:30:00.000Z");
    });

    it.each([["garbage"], [""], [12345], [null], [{}], [true]])("rejects %p with BAD_USER_INPUT", (value) => {
      const error = errorFrom(() => DateTimeScalar.parseValue(value));
      expect(error.extensions.code).toBe("BAD_USER_INPUT");
      expect(error.message).toBe("DateTime must be an ISO-8601 date-time string");
    });
  });

  describe("parseValue strictness (ISO-8601 / RFC 3339 only)", () => {
    // new Date(string) also accepts V8's legacy formats: "foo 1" is 2001-01-01 in local time.
    it.each([["foo 1"], ["1"], ["March 7 2026"], ["12/25/2026"], ["Tue, 25 Nov 2026 09:30:00 GMT"]])(
      "rejects the non-ISO string %p",
      (value) => {
        expect(errorFrom(() => DateTimeScalar.parseValue(value)).extensions.code).toBe("BAD_USER_INPUT");
      },
    );

    it("rejects a date-time without a UTC offset, which would be read in the server's time zone", () => {
      expect(errorFrom(() => DateTimeScalar.parseValue("2026-11-25T09:30:00")).extensions.code).toBe("BAD_USER_INPUT");
    });

    it("rejects an impossible calendar date instead of rolling it over", () => {
      expect(errorFrom(() => DateTimeScalar.parseValue("2026-02-30T00:00:00Z")).extensions.code).toBe("BAD_USER_INPUT");
    });
  });

  describe("parseLiteral", () => {
    it("reads a string literal into a Date", () => {
      const date = DateTimeScalar.parseLiteral(parseGraphQLValue('"2026-11-25T09:30:00Z"'), undefined);
      expect((date as Date).toISOString()).toBe("2026-11-25T09:30:00.000Z");
    });

    it.each([["12345"], ["true"], ["{ at: \"2026-11-25T09:30:00Z\" }"]])("rejects the non-string literal %s", (literal) => {
      const ast = parseGraphQLValue(literal);
      expect(ast.kind).not.toBe(Kind.STRING);
      const error = errorFrom(() => DateTimeScalar.parseLiteral(ast, undefined));
      expect(error.extensions.code).toBe("BAD_USER_INPUT");
      expect(error.message).toBe("DateTime must be a string");
    });

    it("rejects a string literal that is not a date", () => {
      const error = errorFrom(() => DateTimeScalar.parseLiteral(parseGraphQLValue('"yesterday"'), undefined));
      expect(error.extensions.code).toBe("BAD_USER_INPUT");
    });
  });
});
