import { join } from "node:path";
import { z } from "zod";
import { ConfigError, baseConfigShape, booleanFlag, parseConfig, port, positiveInt, secret, url } from "@startales/service-kit";

export const gatewayConfigSchema = z.object({
  ...baseConfigShape,
  PORT: port(4000),
  SUPERGRAPH_PATH: z.string().min(1).default(join(__dirname, "..", "..", "supergraph.graphql")),
  REDIS_URL: url("redis://127.0.0.1:6379"),
  IDENTITY_JWKS_URL: url("http://127.0.0.1:4001/.well-known/jwks.json"),
  JWT_ISSUER: z.string().min(1).default("startales-identity"),
  JWT_AUDIENCE: z.string().min(1).default("startales"),
  /** Signs the identity the gateway passes to subgraphs; the subgraphs hold the same secret. */
  GATEWAY_SIGNING_SECRET: secret(),
  BODY_LIMIT_BYTES: positiveInt(1_000_000),
  SUBGRAPH_TIMEOUT_MS: positiveInt(10_000),
  /** Keep-alive sockets per subgraph origin. */
  SUBGRAPH_CONNECTIONS: positiveInt(64),
  INTROSPECTION: booleanFlag(true),
});

export type GatewayConfig = z.infer<typeof gatewayConfigSchema> & {
  /** From SUBGRAPH_<NAME>_URL: replaces the routing_url composed into the supergraph. */
  subgraphUrls: Record<string, string>;
};

const SUBGRAPH_URL_VARIABLE = /^SUBGRAPH_([A-Z0-9_]+)_URL$/;

export function loadGatewayConfig(env: NodeJS.ProcessEnv = process.env): GatewayConfig {
  const config = parseConfig(gatewayConfigSchema, env);
  const subgraphUrls: Record<string, string> = {};
  const issues: { variable: string; message: string }[] = [];
  for (const [key, value] of Object.entries(env)) {
    const name = SUBGRAPH_URL_VARIABLE.exec(key)?.[1];
    if (!name || value === undefined) continue;
    if (isHttpUrl(value)) subgraphUrls[name.toLowerCase()] = value;
    else issues.push({ variable: key, message: "must be a URL (http:// or https://)" });
  }
  if (issues.length) throw new ConfigError(issues);
  return { ...config, subgraphUrls };
}

const isHttpUrl = (value: string) => URL.canParse(value) && ["http:", "https:"].includes(new URL(value).protocol);
