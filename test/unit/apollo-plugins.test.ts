import { GraphQLError } from "graphql";
import { metricsPlugin } from "../../packages/service-kit/src/apollo-plugins";
import { createMetrics } from "../../packages/service-kit/src/metrics";

type Hooks = {
  didEncounterErrors: (ctx: unknown) => Promise<void>;
  willSendResponse: (ctx: unknown) => Promise<void>;
};

function setup() {
  const metrics = createMetrics("test");
  const plugin = metricsPlugin(metrics);
  const start = async (): Promise<Hooks> => (await plugin.requestDidStart!({} as never)) as unknown as Hooks;
  const errorLabels = async () =>
    (await metrics.graphqlErrors.get()).values.map((v) => ({ ...v.labels, count: v.value }));
  const durationOperations = async () =>
    (await metrics.graphqlDuration.get()).values
      .filter((v) => v.metricName === "graphql_request_duration_seconds_count")
      .map((v) => ({ operation: v.labels.operation, type: v.labels.type, count: v.value }));
  return { start, errorLabels, durationOperations };
}

async function failWith(start: () => Promise<Hooks>, operationName: string | null, errors: GraphQLError[]) {
  const hooks = await start();
  await hooks.didEncounterErrors({ errors, operationName });
}

describe("metricsPlugin", () => {
  it("counts errors by their code, and unknown codes as INTERNAL_SERVER_ERROR", async () => {
    const { start, errorLabels } = setup();
    await failWith(start, "CreateCampaign", [
      new GraphQLError("bad", { extensions: { code: "BAD_USER_INPUT" } }),
      new GraphQLError("bad again", { extensions: { code: "BAD_USER_INPUT" } }),
      new GraphQLError("boom"),
      new GraphQLError("downstream", { extensions: { code: "DOWNSTREAM_SERVICE_ERROR" } }),
    ]);
    expect(await errorLabels()).toEqual(
      expect.arrayContaining([
        { code: "BAD_USER_INPUT", operation: "CreateCampaign", count: 2 },
        { code: "INTERNAL_SERVER_ERROR", operation: "CreateCampaign", count: 2 },
      ]),
    );
    expect(await errorLabels()).toHaveLength(2);
  });

  it("labels anonymous and invalid operation names", async () => {
    const { start, errorLabels } = setup();
    const error = () => [new GraphQLError("no", { extensions: { code: "FORBIDDEN" } })];
    await failWith(start, null, error());
    await failWith(start, "", error());
    await failWith(start, "drop table; --", error());
    await failWith(start, "a".repeat(65), error());
    await failWith(start, "9Lives", error());
    expect(await errorLabels()).toEqual(
      expect.arrayContaining([
        { code: "FORBIDDEN", operation: "anonymous", count: 2 },
        { code: "FORBIDDEN", operation: "invalid", count: 3 },
      ]),
    );
    expect(await errorLabels()).toHaveLength(2);
  });

  it("keeps at most 500 operation names and labels the rest as other", async () => {
    const { start, errorLabels } = setup();
    const error = () => [new GraphQLError("no", { extensions: { code: "NOT_FOUND" } })];
    for (let i = 0; i < 500; i += 1) await failWith(start, `Op${i}`, error());
    await failWith(start, "OneTooMany", error());
    await failWith(start, "Op0", error());
    const labels = await errorLabels();
    expect(labels).toHaveLength(501);
    expect(labels).toContainEqual({ code: "NOT_FOUND", operation: "other", count: 1 });
    expect(labels).toContainEqual({ code: "NOT_FOUND", operation: "Op0", count: 2 });
    expect(labels.some((l) => l.operation === "OneTooMany")).toBe(false);
  });

  it("observes the duration by operation and type", async () => {
    const { start, durationOperations } = setup();
    await (await start()).willSendResponse({ operationName: "Me", operation: { operation: "query" } });
    await (await start()).willSendResponse({ operationName: null, operation: undefined });
    expect(await durationOperations()).toEqual(
      expect.arrayContaining([
        { operation: "Me", type: "query", count: 1 },
        { operation: "anonymous", type: "unknown", count: 1 },
      ]),
    );
  });
});
