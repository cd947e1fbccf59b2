import { GraphQLError } from "graphql";
import { z } from "zod";
import { parseId, parseInput } from "../../packages/service-kit/src/input";

function errorFrom(fn: () => unknown): GraphQLError {
  try {
    fn();
  } catch (error) {
    if (error instanceof GraphQLError) return error;
    throw error;
  }
  throw new Error("expected a GraphQLError");
}

const schema = z.object({
  name: z.string().min(3, "must be at least 3 characters"),
  settings: z.object({ maxPlayers: z.number().int().min(2, "must be at least 2") }),
});

describe("parseInput", () => {
  it("returns the parsed value", () => {
    expect(parseInput(schema, { name: "Orion", settings: { maxPlayers: 4 } })).toEqual({ name: "Orion", settings: { maxPlayers: 4 } });
  });

  it("throws BAD_USER_INPUT listing each offending field by its path", () => {
    const error = errorFrom(() => parseInput(schema, { name: "Or", settings: { maxPlayers: 1 } }));
    expect(error.extensions.code).toBe("BAD_USER_INPUT");
    expect(error.extensions.fields).toEqual([
      { field: "name", message: "must be at least 3 characters" },
      { field: "settings.maxPlayers", message: "must be at least 2" },
    ]);
    expect(error.message).toBe("name must be at least 3 characters; settings.maxPlayers must be at least 2");
  });

  it("names the whole input when the value itself is wrong", () => {
    const error = errorFrom(() => parseInput(z.string(), 42));
    expect(error.extensions.code).toBe("BAD_USER_INPUT");
    const fields = error.extensions.fields as { field: string }[];
    expect(fields.map((f) => f.field)).toEqual(["input"]);
  });
});

describe("parseId", () => {
  it("accepts a UUID", () => {
    expect(parseId("0f8fad5b-d9cb-469f-a165-70867728950e")).toBe("0f8fad5b-d9cb-469f-a165-70867728950e");
  });

  it.each([["42"], ["not-a-uuid"], [""], ["0f8fad5b-d9cb-469f-a165-70867728950"], [42], [null], [undefined], ["0f8fad5b-d9cb-469f-a165-70867728950e' OR 1=1"]])(
    "rejects %p with BAD_USER_INPUT",
    (value) => {
      const error = errorFrom(() => parseId(value));
      expect(error.extensions.code).toBe("BAD_USER_INPUT");
      expect(error.message).toBe("id must be a valid ID");
      expect(error.extensions.fields).toEqual([{ field: "id", message: "must be a valid ID" }]);
    },
  );

  it("names the given field", () => {
    const error = errorFrom(() => parseId("nope", "campaignId"));
    expect(error.message).toBe("campaignId must be a valid ID");
    expect(error.extensions.fields).toEqual([{ field: "campaignId", message: "must be a valid ID" }]);
  });
});
