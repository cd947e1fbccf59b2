import { parse } from "graphql";
import { ERROR_CODES, GraphQLRequestError, NetworkError, ViewerDocument, isApiError, isErrorCode, operationText } from "@startales/client";
import { ErrorCode } from "@startales/service-kit";
import { createHttpTransport } from "../../packages/client/src/http";

describe("the client's error codes", () => {
  it("are the contract's, exactly (the client keeps its own copy)", () => {
    expect([...ERROR_CODES].sort()).toEqual(Object.values(ErrorCode).sort());
    expect(ERROR_CODES).toHaveLength(new Set(ERROR_CODES).size);
  });

  it("type an error by its first code, with retryAfter and reason; a code outside the contract counts as INTERNAL_SERVER_ERROR", () => {
    const error = new GraphQLRequestError(
      [
        { message: "Over the campaign's budget", extensions: { code: "RATE_LIMITED", reason: "BUDGET_EXCEEDED", retryAfter: 12 } },
        { message: "Who knows", extensions: { code: "SOMETHING_ELSE" as never } },
      ],
      { status: 200, data: { generateText: null } },
    );
    expect(error).toBeInstanceOf(Error);
    expect({ name: error.name, code: error.code, codes: error.codes, retryAfter: error.retryAfter, reason: error.reason, status: error.status, data: error.data }).toEqual({
      name: "GraphQLRequestError",
      code: "RATE_LIMITED",
      codes: ["RATE_LIMITED", "INTERNAL_SERVER_ERROR"],
      retryAfter: 12,
      reason: "BUDGET_EXCEEDED",
      status: 200,
      data: { generateText: null },
    });
    expect(error.message).toBe("Over the campaign's budget (and 1 more errors)");
    expect(isApiError(error)).toBe(true);
    expect(isApiError(error, "INTERNAL_SERVER_ERROR")).toBe(true);
    expect(isApiError(error, "NOT_FOUND")).toBe(false);
    expect(isApiError(new Error("x"))).toBe(false);
    expect([isErrorCode("FORBIDDEN"), isErrorCode("forbidden"), isErrorCode(undefined)]).toEqual([true, false, false]);
  });
});

describe("the client's HTTP transport", () => {
  const answering = (status: number, body: string) => createHttpTransport({ url: "http://api.test/graphql", fetch: async () => ({ status, text: async () => body }) });

  it("returns any GraphQL answer as it came, 4xx included", async () => {
    const errors = [{ message: "bad token", extensions: { code: "UNAUTHENTICATED" } }];
    expect(await answering(401, JSON.stringify({ errors }))({ query: "{ me { id } }" }, { accessToken: "t" })).toEqual({ status: 401, data: undefined, errors });
  });

  it("is a NetworkError when the API cannot be reached or does not answer GraphQL", async () => {
    const unreachable = createHttpTransport({ url: "http://api.test/graphql", fetch: async () => Promise.reject(new Error("ECONNREFUSED")) });
    await expect(unreachable({ query: "{ me { id } }" }, {})).rejects.toEqual(expect.objectContaining({ name: "NetworkError", message: "cannot reach http://api.test/graphql: ECONNREFUSED" }));
    const proxyPage = answering(502, "<html>Bad gateway</html>");
    const error = await proxyPage({ query: "{ me { id } }" }, {}).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(NetworkError);
    expect((error as NetworkError).status).toBe(502);
    await expect(answering(200, "{}")({ query: "{ me { id } }" }, {})).rejects.toBeInstanceOf(NetworkError);
  });

  it("sends the credential it is given, and the headers it was made with", async () => {
    const seen: Record<string, string>[] = [];
    const post = createHttpTransport({
      url: "http://api.test/graphql",
      headers: { "apollographql-client-name": "tests" },
      fetch: async (_url, init) => {
        seen.push(init.headers);
        return { status: 200, text: async () => '{"data":{}}' };
      },
    });
    await post({ query: "{ me { id } }" }, { accessToken: "token" });
    await post({ query: "{ me { id } }" }, { apiKey: "stk_key" });
    await post({ query: "{ me { id } }" }, {});
    expect(seen.map((h) => [h.authorization, h["x-api-key"], h["apollographql-client-name"]])).toEqual([
      ["Bearer token", undefined, "tests"],
      [undefined, "stk_key", "tests"],
      [undefined, undefined, "tests"],
    ]);
  });
});

describe("operation text", () => {
  it("is the generated document itself, or a parsed document printed", () => {
    expect(operationText(ViewerDocument)).toMatch(/^\s*query Viewer \{/);
    expect(operationText(parse("query Q { me { id } }"))).toBe("query Q {\n  me {\n    id\n  }\n}");
  });
});
