/**
 * V8 flags the gateway process runs with, wherever it runs (npm start, the container, the
 * Kubernetes Deployment, bench/gateway.ts; test/integration/deploy-manifests.test.ts checks
 * the manifests agree). A larger young generation: the gateway allocates a great deal of
 * short-lived data per request (query plans' results, merged responses), and fewer scavenges
 * measured 15-25 % more throughput on bench/gateway.ts.
 */
export const GATEWAY_NODE_FLAGS = ["--max-semi-space-size=64"] as const;
