import { buildSchema, parse, type OperationDefinitionNode } from "graphql";
import { signedIn } from "@startales/service-kit";
import { LiveFieldError, liveFieldsFromSupergraph } from "../../gateway/src/subscriptions/live-fields";
import { prepareLiveOperation } from "../../gateway/src/subscriptions/live-operation";

const sdl = (field: string) => `
  directive @live(topic: String!, resolve: String!, authorize: String, types: [String!]) on FIELD_DEFINITION
  directive @authenticated on FIELD_DEFINITION
  type Note { id: ID! title: String! }
  type Query { note(id: ID!): Note }
  type Subscription { ${field} }
`;

describe("@live topics", () => {
  it("fills {viewerId} with the subscriber's own id, so two subscribers of one operation read two feeds", () => {
    const source = sdl('noteAdded: Note! @authenticated @live(topic: "inbox:{viewerId}", resolve: "note(id: $aggregateId)")');
    const fields = liveFieldsFromSupergraph(source);
    const schema = buildSchema(source);
    const document = parse("subscription { noteAdded { title } }");
    const operation = document.definitions[0] as OperationDefinitionNode;
    const topicOf = (userId: string) => prepareLiveOperation(schema, document, operation, fields, {}, signedIn(userId, ["PLAYER"])).topic;
    expect([topicOf("u-1"), topicOf("u-2")]).toEqual(["inbox:u-1", "inbox:u-2"]);
    expect(() => prepareLiveOperation(schema, document, operation, fields, {}, { kind: "anonymous" })).toThrow("You must be signed in");
  });

  it("refuses at start-up a personal feed on a field anyone may subscribe to", () => {
    expect(() => liveFieldsFromSupergraph(sdl('noteAdded: Note! @live(topic: "inbox:{viewerId}", resolve: "note(id: $aggregateId)")'))).toThrow(LiveFieldError);
    expect(() => liveFieldsFromSupergraph(sdl('noteAdded: Note! @authenticated @live(topic: "inbox:{someone}", resolve: "note(id: $aggregateId)")'))).toThrow(
      "topic names {someone}, which is not an argument",
    );
  });
});
