import { createServer, type IncomingMessage, type Server, type ServerResponse } from "node:http";
import type { AddressInfo } from "node:net";
import { composeServices } from "@apollo/composition";
import { ApolloGateway } from "@apollo/gateway";
import { ApolloServer } from "@apollo/server";
import { buildSubgraphSchema } from "@apollo/subgraph";
import { execute, parse, type DocumentNode } from "graphql";
import { anonymous, createLogger } from "@startales/service-kit";
import type { GatewayContext } from "../../../gateway/src/context";
import { createFederatedGateway } from "../../../gateway/src/execution/federated-gateway";

/*
 * Stock @apollo/gateway and our executor side by side on one supergraph: real subgraphs on
 * loopback HTTP, composed with @apollo/composition, both gateways inside Apollo Server.
 */

export type SubgraphDefinition = { typeDefs: DocumentNode; resolvers: object };
export type SubgraphBody = { query: string; variables?: Record<string, unknown>; operationName?: string };
/** Answers a request by hand instead of the subgraph's schema (returns true when it did). */
export type Override = (name: string, body: SubgraphBody, res: ServerResponse) => boolean;
export type Request = { query: string; variables?: Record<string, unknown>; operationName?: string };

function subgraphServer(name: string, definition: SubgraphDefinition, override: Override): Server {
  const schema = buildSubgraphSchema({ typeDefs: definition.typeDefs, resolvers: definition.resolvers as never });
  return createServer((req: IncomingMessage, res: ServerResponse) => {
    const chunks: Buffer[] = [];
    req.on("data", (chunk: Buffer) => chunks.push(chunk));
    req.on("end", () => {
      void (async () => {
        const body = JSON.parse(Buffer.concat(chunks).toString()) as SubgraphBody;
        if (!body.query.includes("_service") && override(name, body, res)) return;
        const result = await execute({ schema, document: parse(body.query), variableValues: body.variables, operationName: body.operationName });
        res.writeHead(200, { "content-type": "application/json" }).end(JSON.stringify(result));
      })();
    });
  });
}

const logger = createLogger("gateway-executor-test", "silent");
export const context = (): GatewayContext => ({
  viewer: anonymous,
  requestId: "test",
  logger,
  identityToken: async () => "identity",
  rateLimit: { costKey: "test" },
});

/**
 * Serves the subgraphs, composes them and starts both gateways. `unreachable` names
 * subgraphs composed into the supergraph at a port nothing listens on (a subgraph down).
 */
export async function startSideBySide(options: { subgraphs: Record<string, SubgraphDefinition>; override?: Override; unreachable?: Record<string, SubgraphDefinition> }) {
  const servers: Server[] = [];
  const urls: Record<string, string> = {};
  const override = options.override ?? (() => false);
  for (const [name, definition] of Object.entries(options.subgraphs)) {
    const server = subgraphServer(name, definition, override);
    await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
    servers.push(server);
    urls[name] = `http://127.0.0.1:${(server.address() as AddressInfo).port}/graphql`;
  }
  for (const name of Object.keys(options.unreachable ?? {})) {
    // A port that was just free: listen, note it, close.
    const probe = createServer();
    await new Promise<void>((resolve) => probe.listen(0, "127.0.0.1", resolve));
    urls[name] = `http://127.0.0.1:${(probe.address() as AddressInfo).port}/graphql`;
    await new Promise((resolve) => probe.close(resolve));
  }
  const all = { ...options.subgraphs, ...options.unreachable };
  const composed = composeServices(Object.entries(all).map(([name, { typeDefs }]) => ({ name, typeDefs, url: urls[name] })));
  if (composed.errors?.length || !composed.supergraphSdl) throw new Error(`composition failed: ${composed.errors?.map((e) => e.message).join("; ")}`);
  const supergraphSdl = composed.supergraphSdl;
  const stock = new ApolloServer({ gateway: new ApolloGateway({ supergraphSdl }), includeStacktraceInErrorResponses: false });
  const federated = createFederatedGateway({ supergraphSdl, connections: 4, timeoutMs: 5_000 });
  const ours = new ApolloServer<GatewayContext>({ gateway: federated.apolloGateway, includeStacktraceInErrorResponses: false });
  await Promise.all([stock.start(), ours.start()]);

  const text = (response: Awaited<ReturnType<typeof stock.executeOperation>>) => {
    if (response.body.kind !== "single") throw new Error("expected a single result");
    return JSON.stringify({ status: response.http.status ?? 200, result: response.body.singleResult });
  };
  return {
    urls,
    /** Both gateways' answers to one request, as the status and the JSON result. */
    async both(request: Request): Promise<{ stock: string; ours: string }> {
      const [a, b] = await Promise.all([stock.executeOperation(request), ours.executeOperation(request, { contextValue: context() })]);
      return { stock: text(a), ours: text(b) };
    },
    async ours(request: Request) {
      const response = await ours.executeOperation(request, { contextValue: context() });
      if (response.body.kind !== "single") throw new Error("expected a single result");
      return response.body.singleResult;
    },
    async stock(request: Request) {
      const response = await stock.executeOperation(request);
      if (response.body.kind !== "single") throw new Error("expected a single result");
      return response.body.singleResult;
    },
    async close() {
      await Promise.all([stock.stop(), ours.stop()]);
      await federated.close();
      await Promise.all(servers.map((server) => new Promise((resolve) => server.close(resolve))));
    },
  };
}

export type SideBySide = Awaited<ReturnType<typeof startSideBySide>>;
