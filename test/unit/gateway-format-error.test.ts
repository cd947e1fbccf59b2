import { GraphQLError } from "graphql";
import { formatGatewayError } from "../../gateway/src/format-error";

/** What Apollo hands formatError: the formatted error and the error it came from. */
const format = (error: GraphQLError) => formatGatewayError({ message: error.message, extensions: { code: "INTERNAL_SERVER_ERROR", ...error.extensions } }, error);

describe("formatGatewayError", () => {
  it("gives a query limit back its code after Apollo relabels it a validation failure", () => {
    const limit = new GraphQLError("Query depth 50 exceeds the limit of 12", { extensions: { code: "QUERY_TOO_COMPLEX" } });
    const wrapped = new GraphQLError(limit.message, { originalError: limit, extensions: { code: "GRAPHQL_VALIDATION_FAILED" } });
    expect(format(wrapped)).toEqual({ message: "Query depth 50 exceeds the limit of 12", extensions: { code: "QUERY_TOO_COMPLEX" } });
  });

  it("leaves other validation failures as they are", () => {
    const unknownField = new GraphQLError('Cannot query field "nope" on type "User".', { extensions: { code: "GRAPHQL_VALIDATION_FAILED" } });
    const wrapped = new GraphQLError(unknownField.message, { originalError: unknownField, extensions: { code: "GRAPHQL_VALIDATION_FAILED" } });
    expect(format(wrapped).extensions).toEqual({ code: "GRAPHQL_VALIDATION_FAILED" });
  });

  it("answers Apollo's request refusals as BAD_REQUEST with their message", () => {
    const csrf = new GraphQLError("This operation has been blocked as a potential Cross-Site Request Forgery (CSRF).", { extensions: { code: "BAD_REQUEST" } });
    expect(format(csrf)).toEqual({ message: csrf.message, extensions: { code: "BAD_REQUEST" } });
    const resolution = new GraphQLError('Unknown operation named "B".', { extensions: { code: "OPERATION_RESOLUTION_FAILURE" } });
    expect(format(resolution)).toEqual({ message: resolution.message, extensions: { code: "BAD_REQUEST" } });
    const sha = new GraphQLError("provided sha does not match query", { extensions: { http: { status: 400 } } });
    expect(formatGatewayError({ message: sha.message, extensions: { code: "INTERNAL_SERVER_ERROR" } }, sha)).toEqual({ message: sha.message, extensions: { code: "BAD_REQUEST" } });
  });

  it("still masks everything else", () => {
    const leak = new GraphQLError('relation "User" does not exist at 10.0.0.5:5432', { extensions: { exception: { stacktrace: ["at pg"] } } });
    expect(formatGatewayError({ message: leak.message, extensions: { code: "INTERNAL_SERVER_ERROR", exception: {} } }, leak)).toEqual({
      message: "Internal server error",
      extensions: { code: "INTERNAL_SERVER_ERROR" },
    });
    const server = new GraphQLError("boom", { extensions: { http: { status: 500 } } });
    expect(formatGatewayError({ message: "boom", extensions: { code: "INTERNAL_SERVER_ERROR" } }, server).message).toBe("Internal server error");
  });
});
