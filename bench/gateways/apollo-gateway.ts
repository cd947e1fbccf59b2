/**
 * Stock @apollo/gateway inside Apollo Server with default settings: the baseline of
 * bench/gateway.ts. Usage: apollo-gateway.ts <supergraph file>; prints {"url": …}.
 */
import { readFileSync } from "node:fs";
import { ApolloGateway } from "@apollo/gateway";
import { ApolloServer } from "@apollo/server";
import type { GatewayInterface } from "@apollo/server-gateway-interface";
import { startStandaloneServer } from "@apollo/server/standalone";

async function main(): Promise<void> {
  const gateway = new ApolloGateway({ supergraphSdl: readFileSync(process.argv[2]!, "utf8") });
  const server = new ApolloServer({ gateway: gateway as unknown as GatewayInterface });
  const { url } = await startStandaloneServer(server, { listen: { host: "127.0.0.1", port: Number(process.env.PORT ?? 0) } });
  console.log(JSON.stringify({ url }));
}

void main();
