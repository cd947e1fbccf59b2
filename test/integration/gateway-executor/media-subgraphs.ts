import { GraphQLError, parse } from "graphql";
import type { SubgraphDefinition } from "./harness";

/*
 * A second supergraph for the differential test, built to reach the federation features the
 * first one does not: an entity interface (Media) implemented in catalog and extended by
 * ratings as an @interfaceObject, a union, @requires on nested fields, @provides, @override
 * (complete, and progressive with a label the gateway never enables), a nullable key, null
 * entities, and subgraph errors with codes and extensions, over five subgraphs (one of them
 * never listening). Values that two subgraphs could both answer differ on purpose, so which
 * one the plan used shows in the answer.
 */

const FEDERATION =
  'extend schema @link(url: "https://specs.apollo.dev/federation/v2.7", import: ["@key", "@external", "@requires", "@provides", "@shareable", "@override", "@interfaceObject"])';

type Dimensions = { weight: number | null; size: number | null };
type Book = { __typename: "Book"; id: string; title: string; pages: number | null; dimensions: Dimensions | null; author: { id: string; name: string } | null };
type Film = { __typename: "Film"; id: string; title: string; minutes: number };

const BOOKS: Book[] = [
  { __typename: "Book", id: "b1", title: "Atlas", pages: 320, dimensions: { weight: 2, size: 3 }, author: { id: "a1", name: "A. Lovelace" } },
  { __typename: "Book", id: "b2", title: "Manual", pages: null, dimensions: null, author: null },
  { __typename: "Book", id: "b3", title: "Lexicon", pages: 900, dimensions: { weight: 5, size: null }, author: { id: "a9", name: "Nobody" } },
];
// Catalog's minutes: shipping overrides them (its own are the real ones).
const FILMS: Film[] = [
  { __typename: "Film", id: "f1", title: "Metropolis", minutes: 999 },
  { __typename: "Film", id: "f2", title: "Nosferatu", minutes: 999 },
];
const MEDIA = [...BOOKS, ...FILMS];
const byId = (id: string) => MEDIA.find((medium) => medium.id === id) ?? null;

const SCORES: Record<string, number> = { b1: 4.5, b3: 2, f1: 5 };
const REVIEWERS: Record<string, ({ id: string | null } | null)[]> = { b1: [{ id: "a1" }, { id: "a2" }], b2: [], b3: [{ id: "a3" }, { id: null }], f1: [{ id: "a1" }] };
const PEOPLE: Record<string, { id: string; name: string; email: string }> = {
  a1: { id: "a1", name: "Ada Lovelace", email: "ada@example.test" },
  a2: { id: "a2", name: "Grace Hopper", email: "grace@example.test" },
};
const MINUTES: Record<string, number> = { f1: 153, f2: 94 };

export const MEDIA_SUBGRAPHS: Record<string, SubgraphDefinition> = {
  catalog: {
    typeDefs: parse(`${FEDERATION}
      type Query {
        media: [Media!]!
        medium(id: ID!): Media
        books: [Book!]!
        feed: [FeedItem]!
        notice: Notice!
      }
      interface Media @key(fields: "id") { id: ID! title: String! }
      type Book implements Media @key(fields: "id") {
        id: ID!
        title: String!
        pages: Int
        dimensions: Dimensions
        author: Person @provides(fields: "name")
      }
      type Film implements Media @key(fields: "id") { id: ID! title: String! minutes: Int }
      type Dimensions @shareable { weight: Int size: Int }
      type Person @key(fields: "id") { id: ID name: String @external }
      union FeedItem = Book | Film | Notice
      type Notice { text: String! }`),
    resolvers: {
      Query: {
        media: () => MEDIA,
        medium: (_: unknown, { id }: { id: string }) => byId(id),
        books: () => BOOKS,
        feed: () => [BOOKS[0], { text: "Closed on Sunday" }, null, FILMS[0]],
        notice: () => ({ text: null }),
      },
      Media: { __resolveReference: ({ id }: { id: string }) => byId(id), __resolveType: (medium: { __typename: string }) => medium.__typename },
      Book: { __resolveReference: ({ id }: { id: string }) => BOOKS.find((book) => book.id === id) ?? null },
      Film: { __resolveReference: ({ id }: { id: string }) => FILMS.find((film) => film.id === id) ?? null },
      FeedItem: { __resolveType: (item: { __typename?: string }) => item.__typename ?? "Notice" },
    },
  },
  ratings: {
    typeDefs: parse(`${FEDERATION}
      type Query { topRated: [Media!]! }
      type Media @key(fields: "id") @interfaceObject { id: ID! score: Float reviewers: [Person]! }
      type Person @key(fields: "id", resolvable: false) { id: ID }`),
    resolvers: {
      Query: { topRated: () => [{ id: "f1" }, { id: "b1" }] },
      Media: {
        // f2 is unknown here: a null entity, whose non-null reviewers then null its parent.
        __resolveReference: ({ id }: { id: string }) => (id === "f2" ? null : { id }),
        score: ({ id }: { id: string }) => {
          if (id === "b2") throw new GraphQLError("ratings withheld", { extensions: { code: "FORBIDDEN", reason: "embargo" } });
          return SCORES[id] ?? null;
        },
        reviewers: ({ id }: { id: string }) => REVIEWERS[id] ?? [],
      },
    },
  },
  people: {
    typeDefs: parse(`${FEDERATION}
      type Query { person(id: ID!): Person }
      type Person @key(fields: "id") { id: ID name: String @shareable email: String }`),
    resolvers: {
      Query: { person: (_: unknown, { id }: { id: string }) => PEOPLE[id] ?? null },
      Person: {
        // a3, a9 and the null id are nobody: null entities.
        __resolveReference: ({ id }: { id: string | null }) => (id ? (PEOPLE[id] ?? null) : null),
        email: (person: { id: string; email: string }) => {
          if (person.id === "a2") throw new GraphQLError("email is private", { extensions: { code: "PRIVATE", owner: "a2" } });
          return person.email;
        },
      },
    },
  },
  shipping: {
    typeDefs: parse(`${FEDERATION}
      type Book @key(fields: "id") {
        id: ID!
        dimensions: Dimensions @external
        shippingCost: Int @requires(fields: "dimensions { weight size }")
        pages: Int @override(from: "catalog", label: "pages-from-shipping")
      }
      type Film @key(fields: "id") { id: ID! minutes: Int @override(from: "catalog") }
      type Dimensions @shareable { weight: Int size: Int }`),
    resolvers: {
      Book: {
        __resolveReference: (reference: { id: string; dimensions?: Dimensions | null }) => reference,
        shippingCost: ({ dimensions }: { dimensions?: Dimensions | null }) => (dimensions?.weight == null ? null : dimensions.weight * 10 + (dimensions.size ?? 0)),
        // Never asked: the label is off unless the gateway enables it.
        pages: () => -1,
      },
      Film: { __resolveReference: ({ id }: { id: string }) => ({ id, minutes: MINUTES[id] ?? null }) },
    },
  },
};

/** Composed into the supergraph at a port nothing listens on. */
export const UNREACHABLE_SUBGRAPHS: Record<string, SubgraphDefinition> = {
  archive: {
    typeDefs: parse(`${FEDERATION}
      type Query { archived: [Book!] }
      type Book @key(fields: "id") { id: ID! archivedAt: String }`),
    resolvers: {},
  },
};
