import { graphql, startBenchStack } from "../../bench/lib/services";

/**
 * The benchmarks' stack (bench/lib/services.ts) starts every service as `npm run bench` does:
 * production settings, each required secret given. A setting a service comes to require must
 * reach the benches too (identity's EMAIL_LINK_SECRET once did not, and every bench with
 * identity failed before measuring anything).
 */
jest.setTimeout(180_000);

it("starts every subgraph, worker pool and the gateway, which answers", async () => {
  const stack = await startBenchStack({ simulation: true, provider: true, notification: true, realtime: true, content: true });
  try {
    expect(stack.services.map((s) => s.name).sort()).toEqual(
      expect.arrayContaining(["campaign", "content", "gateway", "identity", "notification", "notification-worker", "provider", "provider-worker", "realtime", "simulation", "simulation-worker"]),
    );
    const data = await graphql<{ __typename: string }>(`${stack.gatewayUrl}/graphql`, "{ __typename }");
    expect(data.__typename).toBe("Query");
  } finally {
    await stack.stop();
  }
});
