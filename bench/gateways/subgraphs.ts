/**
 * The four subgraphs of the public GraphQL gateways benchmark (graphql-hive/graphql-gateways-
 * benchmark: accounts, inventory, products, reviews), written here in Node with the same
 * schema, data and semantics, each on its own loopback port in this one process. They are
 * kept cheap (documents parsed and validated once, plain node:http) so that the gateway in
 * front is what the benchmark measures. Prints `{"subgraphs": {name: url}}` when listening.
 */
import { createServer, type IncomingMessage, type Server, type ServerResponse } from "node:http";
import type { AddressInfo } from "node:net";
import { buildSubgraphSchema } from "@apollo/subgraph";
import { execute, parse, validate, type DocumentNode, type GraphQLSchema } from "graphql";
import { gql } from "graphql-tag";

type User = { id: string; name: string; username: string; birthday: number };
type Product = { upc: string; name: string; price: number; weight: number };
type Review = { id: string; body: string; product: { upc: string } };

const USERS: User[] = [
  ["1", "Uri Goldshtein", "urigo"],
  ["2", "Dotan Simha", "dotansimha"],
  ["3", "Kamil Kisiela", "kamilkisiela"],
  ["4", "Arda Tanrikulu", "ardatan"],
  ["5", "Gil Gardosh", "gilgardosh"],
  ["6", "Laurin Quast", "laurin"],
].map(([id, name, username]) => ({ id: id!, name: name!, username: username!, birthday: 1234567890 }));

const PRODUCTS: Product[] = (
  [
    ["1", "Table", 899, 100],
    ["2", "Couch", 1299, 1000],
    ["3", "Glass", 15, 20],
    ["4", "Chair", 499, 100],
    ["5", "TV", 1299, 1000],
    ["6", "Lamp", 6999, 300],
    ["7", "Grill", 3999, 2000],
    ["8", "Fridge", 100000, 6000],
    ["9", "Sofa", 9999, 800],
  ] as const
).map(([upc, name, price, weight]) => ({ upc, name, price, weight }));

const IN_STOCK: Record<string, boolean> = { 1: true, 2: false, 3: false, 4: false, 5: true, 6: true, 7: true, 8: false, 9: true };

const LOREM = "Lorem ipsum dolor sit amet, consectetur adipiscing elit, sed do eiusmod tempor incididunt ut labore et dolore magna aliqua. Ut enim ad minim veniam, quis nostrud exercitation ullamco laboris nisi ut aliquip ex ea commodo consequat. Duis aute irure dolor in reprehenderit in voluptate velit esse cillum dolore eu fugiat nulla pariatur. Excepteur sint occaecat cupidatat non proident, sunt in culpa qui officia deserunt mollit anim id est laborum.";
const SED = "Sed ut perspiciatis unde omnis iste natus error sit voluptatem accusantium doloremque laudantium, totam rem aperiam, eaque ipsa quae ab illo inventore veritatis et quasi architecto beatae vitae dicta sunt explicabo. Nemo enim ipsam voluptatem quia voluptas sit aspernatur aut odit aut fugi";
const QUIA = "sed quia consequuntur magni dolores eos qui ratione voluptatem sequi nesciunt. Neque porro quisquam est, qui dolorem ipsum quia dolor sit amet, consectetur, adipisci velit, sed quia non numquam eius modi tempora incidunt ut labore et dolore magnam aliquam quaerat voluptatem.";
const MINIMA = "Ut enim ad minima veniam, quis nostrum exercitationem ullam corporis suscipit laboriosam, nisi ut aliquid ex ea commodi consequatur? Quis autem";
const VERO = "At vero eos et accusamus et iusto odio dignissimos ducimus qui blanditiis praesentium voluptatum deleniti atque corrupti quos dolores et quas molestias excepturi sint occaecati cupiditate non provident, similique sunt in culpa qui officia deserunt mollitia animi, id est laborum et dolorum fuga. Et harum quidem rerum facilis est et expedita distinctio. Nam libero tempore, cum soluta nobis est eligendi optio cumque nihil impedit quo minus id quod maxime placeat facere possimus, omnis voluptas assumenda est, omnis dolor repellendus. Temporibus autem quibusdam et aut officiis debitis aut rerum necessitatibus saepe eveniet ut et voluptates repudiandae sint et molestiae non recusandae. Itaque earum rerum hic tenetur a sapiente delectus, ut aut reiciendis voluptatibus maiores alias consequatur aut perferendis doloribus asperiores repellat.";
const REVIEWS: Review[] = (
  [
    ["1", LOREM, "1"],
    ["2", SED, "1"],
    ["3", QUIA, "1"],
    ["4", MINIMA, "1"],
    ["5", LOREM, "2"],
    ["6", SED, "2"],
    ["7", QUIA, "2"],
    ["8", MINIMA, "2"],
    ["9", MINIMA, "3"],
    ["10", MINIMA, "4"],
    ["11", VERO, "4"],
  ] as const
).map(([id, body, upc]) => ({ id, body, product: { upc } }));

const FEDERATION = 'extend schema @link(url: "https://specs.apollo.dev/federation/v2.3", import: ["@key", "@external", "@requires", "@provides", "@shareable"])';

export const SUBGRAPHS: Record<string, { typeDefs: DocumentNode; resolvers: object }> = {
  accounts: {
    typeDefs: gql`
      ${FEDERATION}
      type Query { me: User user(id: ID!): User users: [User] }
      type User @key(fields: "id") { id: ID! name: String username: String @shareable birthday: Int }
    `,
    resolvers: {
      Query: { me: () => USERS[0], user: (_: unknown, { id }: { id: string }) => USERS.find((u) => u.id === id) ?? null, users: () => USERS },
      User: { __resolveReference: ({ id }: { id: string }) => USERS.find((u) => u.id === id) ?? null },
    },
  },
  inventory: {
    typeDefs: gql`
      ${FEDERATION}
      type Product @key(fields: "upc") {
        upc: String!
        weight: Int @external
        price: Int @external
        inStock: Boolean
        shippingEstimate: Int @requires(fields: "price weight")
      }
    `,
    resolvers: {
      Product: {
        __resolveReference: (reference: { upc: string; price?: number; weight?: number }) => ({ ...reference, inStock: IN_STOCK[reference.upc] ?? null }),
        // As in the original: free over 1000, else half the weight.
        shippingEstimate: ({ price, weight }: { price?: number | null; weight?: number | null }) =>
          price == null ? null : price > 1000 ? 0 : weight == null ? null : Math.trunc(weight / 2),
      },
    },
  },
  products: {
    typeDefs: gql`
      ${FEDERATION}
      type Query { topProducts(first: Int = 5): [Product] }
      type Product @key(fields: "upc") { upc: String! name: String price: Int weight: Int }
    `,
    resolvers: {
      Query: { topProducts: (_: unknown, { first }: { first?: number | null }) => PRODUCTS.slice(0, first ?? 5) },
      Product: { __resolveReference: ({ upc }: { upc: string }) => PRODUCTS.find((p) => p.upc === upc) ?? null },
    },
  },
  reviews: {
    typeDefs: gql`
      ${FEDERATION}
      type Review @key(fields: "id") { id: ID! body: String product: Product author: User @provides(fields: "username") }
      type User @key(fields: "id") { id: ID! username: String @external reviews: [Review] }
      type Product @key(fields: "upc") { upc: String! reviews: [Review] }
    `,
    resolvers: {
      Review: {
        __resolveReference: ({ id }: { id: string }) => REVIEWS.find((r) => r.id === id) ?? null,
        // As in the original: every review's author is user 1, with the username provided.
        author: () => ({ id: "1", username: "urigo" }),
      },
      User: {
        __resolveReference: ({ id }: { id: string }) => ({ id, username: "user" }),
        reviews: () => REVIEWS.slice(0, 2),
      },
      Product: {
        __resolveReference: ({ upc }: { upc: string }) => ({ upc }),
        reviews: ({ upc }: { upc: string }) => REVIEWS.filter((r) => r.product.upc === upc),
      },
    },
  },
};

function serve(schema: GraphQLSchema): (req: IncomingMessage, res: ServerResponse) => void {
  const documents = new Map<string, DocumentNode>();
  return (req, res) => {
    const chunks: Buffer[] = [];
    req.on("data", (chunk: Buffer) => chunks.push(chunk));
    req.on("end", () => {
      void (async () => {
        const body = JSON.parse(Buffer.concat(chunks).toString()) as { query: string; variables?: Record<string, unknown>; operationName?: string };
        let document = documents.get(body.query);
        if (!document) {
          document = parse(body.query);
          const errors = validate(schema, document);
          if (errors.length) {
            res.writeHead(400, { "content-type": "application/json" }).end(JSON.stringify({ errors }));
            return;
          }
          documents.set(body.query, document);
        }
        const result = await execute({ schema, document, variableValues: body.variables, operationName: body.operationName });
        const text = JSON.stringify(result);
        res.writeHead(200, { "content-type": "application/json", "content-length": Buffer.byteLength(text) }).end(text);
      })();
    });
  };
}

/** Serves every subgraph on its own loopback port; the URLs by name, and how to stop them. */
export async function serveSubgraphs(): Promise<{ urls: Record<string, string>; close(): Promise<void> }> {
  const urls: Record<string, string> = {};
  const servers: Server[] = [];
  for (const [name, { typeDefs, resolvers }] of Object.entries(SUBGRAPHS)) {
    const server = createServer({ keepAliveTimeout: 60_000 }, serve(buildSubgraphSchema({ typeDefs, resolvers: resolvers as never })));
    await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
    servers.push(server);
    urls[name] = `http://127.0.0.1:${(server.address() as AddressInfo).port}/graphql`;
  }
  return {
    urls,
    close: async () => {
      for (const server of servers) server.closeAllConnections();
      await Promise.all(servers.map((server) => new Promise((resolve) => server.close(resolve))));
    },
  };
}

if (require.main === module) void serveSubgraphs().then(({ urls }) => console.log(JSON.stringify({ subgraphs: urls })));
