import { GraphQLError, type GraphQLFormattedError } from "graphql";
import {
  ErrorCode,
  appError,
  badInput,
  conflict,
  forbidden,
  isErrorCode,
  maskError,
  notFound,
  requestError,
  serviceUnavailable,
  unauthenticated,
} from "../../packages/service-kit/src/errors";

describe("appError", () => {
  it("builds a GraphQLError with the message and the code in extensions", () => {
    const error = appError(ErrorCode.NOT_FOUND, "No such campaign");
    expect(error).toBeInstanceOf(GraphQLError);
    expect(error.message).toBe("No such campaign");
    expect(error.extensions).toEqual({ code: "NOT_FOUND" });
  });

  it("keeps extra extensions but never lets them override the code", () => {
    const error = appError(ErrorCode.CONFLICT, "Already taken", { field: "email", code: "SOMETHING_ELSE" });
    expect(error.extensions).toEqual({ field: "email", code: "CONFLICT" });
  });

  it("has no http status of its own", () => {
    expect(appError(ErrorCode.UNAUTHENTICATED, "x").extensions.http).toBeUndefined();
  });
});

describe("requestError", () => {
  it.each([
    [ErrorCode.UNAUTHENTICATED, 401],
    [ErrorCode.RATE_LIMITED, 429],
    [ErrorCode.SERVICE_UNAVAILABLE, 503],
    [ErrorCode.BAD_USER_INPUT, 400],
    [ErrorCode.FORBIDDEN, 400],
    [ErrorCode.NOT_FOUND, 400],
    [ErrorCode.INTERNAL_SERVER_ERROR, 400],
  ])("maps %s to HTTP %i", (code, status) => {
    const error = requestError(code, "nope");
    expect(error.message).toBe("nope");
    expect(error.extensions).toEqual({ code, http: { status } });
  });
});

describe("error helpers", () => {
  it("badInput lists the field issues when there are some", () => {
    const issues = [{ field: "name", message: "is too short" }];
    expect(badInput("bad", issues).extensions).toEqual({ code: "BAD_USER_INPUT", fields: issues });
  });

  it("badInput has no fields extension when there are no issues", () => {
    expect(badInput("bad").extensions).toEqual({ code: "BAD_USER_INPUT" });
  });

  it("unauthenticated and forbidden have default messages and their codes", () => {
    expect(unauthenticated().extensions.code).toBe("UNAUTHENTICATED");
    expect(unauthenticated().message).toBe("You must be signed in");
    expect(forbidden().extensions.code).toBe("FORBIDDEN");
    expect(forbidden("Go away").message).toBe("Go away");
  });

  it("notFound and conflict carry their codes", () => {
    expect(notFound("gone").extensions).toEqual({ code: "NOT_FOUND" });
    expect(conflict("clash", { from: "DRAFT" }).extensions).toEqual({ from: "DRAFT", code: "CONFLICT" });
  });

  it("serviceUnavailable tells when to retry (seconds), and masking keeps it", () => {
    const error = serviceUnavailable("Temporarily unavailable", 5);
    expect(error.extensions).toEqual({ retryAfter: 5, code: "SERVICE_UNAVAILABLE" });
    expect(maskError({ message: error.message, extensions: error.extensions })).toEqual({ message: "Temporarily unavailable", extensions: { code: "SERVICE_UNAVAILABLE", retryAfter: 5 } });
  });
});

describe("isErrorCode", () => {
  it("accepts every documented code", () => {
    for (const code of Object.values(ErrorCode)) expect(isErrorCode(code)).toBe(true);
  });

  it.each([["BOOM"], ["bad_user_input"], [""], [undefined], [null], [42], [{ code: "FORBIDDEN" }]])(
    "rejects %p",
    (value) => {
      expect(isErrorCode(value)).toBe(false);
    },
  );
});

describe("maskError", () => {
  const locations = [{ line: 2, column: 3 }];
  const path = ["campaign", 0, "name"];

  it("replaces an error without a code by a generic internal error", () => {
    const formatted: GraphQLFormattedError = {
      message: 'relation "users" does not exist',
      locations,
      path,
      extensions: { stacktrace: ["at db.ts:1"], exception: { sql: "SELECT 1" } },
    };
    expect(maskError(formatted)).toEqual({
      message: "Internal server error",
      locations,
      path,
      extensions: { code: "INTERNAL_SERVER_ERROR" },
    });
  });

  it("replaces an error with an unknown code", () => {
    const masked = maskError({ message: "secret detail", extensions: { code: "DOWNSTREAM_SERVICE_ERROR", serviceName: "identity" } });
    expect(masked.message).toBe("Internal server error");
    expect(masked.extensions).toEqual({ code: "INTERNAL_SERVER_ERROR" });
  });

  it("replaces an error with no extensions at all", () => {
    const masked = maskError({ message: "TypeError: x is undefined" });
    expect(masked.message).toBe("Internal server error");
    expect(masked.extensions).toEqual({ code: "INTERNAL_SERVER_ERROR" });
  });

  it("replaces the message of an INTERNAL_SERVER_ERROR too", () => {
    const masked = maskError({ message: "connect ECONNREFUSED 10.0.0.5:5432", path, extensions: { code: "INTERNAL_SERVER_ERROR", stacktrace: ["x"] } });
    expect(masked).toEqual({ message: "Internal server error", locations: undefined, path, extensions: { code: "INTERNAL_SERVER_ERROR" } });
  });

  it("keeps the message and public extensions of a known code, dropping the private ones", () => {
    const fields = [{ field: "name", message: "must be at least 3 characters" }];
    const masked = maskError({
      message: "name must be at least 3 characters",
      locations,
      path,
      extensions: {
        code: "BAD_USER_INPUT",
        fields,
        from: "DRAFT",
        to: "RUNNING",
        retryAfter: 30,
        stacktrace: ["at resolver.ts:10"],
        exception: { detail: "x" },
        serviceName: "campaign",
      },
    });
    expect(masked).toEqual({
      message: "name must be at least 3 characters",
      locations,
      path,
      extensions: { code: "BAD_USER_INPUT", fields, from: "DRAFT", to: "RUNNING", retryAfter: 30 },
    });
  });

  it("keeps known codes such as FORBIDDEN and CONFLICT", () => {
    expect(maskError({ message: "no", extensions: { code: "FORBIDDEN" } })).toEqual({ message: "no", extensions: { code: "FORBIDDEN" } });
    expect(maskError({ message: "clash", extensions: { code: "CONFLICT", serviceName: "campaign" } })).toEqual({
      message: "clash",
      extensions: { code: "CONFLICT" },
    });
  });
});
