import { buildSchema, parse, type OperationDefinitionNode } from "graphql";
import { signedIn } from "@startales/service-kit";
import { LiveFieldError, liveFieldsFromSupergraph } from "../../gateway/src/subscriptions/live-fields";
import { prepareLiveOperation } from "../../gateway/src/subscriptions/live-operation";

const sdl = (field: string) => `
  directive @live(topic: String!, resolve: String!, producers: [String!], authorize: String, types: [String!]) on FIELD_DEFINITION
  directive @authenticated on FIELD_DEFINITION
  type Note { id: ID! title: String! }
  type Query { note(id: ID!): Note archivedNote(folder: ID!, id: ID!): Note folder(id: ID!): ID }
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

describe("@live producers", () => {
  const field = (producers: string) => `noteAdded(folder: ID!): Note! @live(topic: "folder:{folder}", resolve: "note(id: $eventId)", producers: [${producers}])`;

  it("resolves a producer's events through its own field, with the subscriber's selection under their response key", () => {
    const source = sdl(field('"archive: archivedNote(folder: $folder, id: $eventId)"'));
    const fields = liveFieldsFromSupergraph(source);
    const document = parse("subscription($f: ID!) { added: noteAdded(folder: $f) { title } }");
    const operation = prepareLiveOperation(buildSchema(source), document, document.definitions[0] as OperationDefinitionNode, fields, { f: "7" }, signedIn("u-1", ["PLAYER"]));
    expect([...operation.resolveBy.keys()]).toEqual(["archive"]);
    const archive = operation.resolveBy.get("archive")!;
    expect(archive.query).toContain("added: archivedNote(folder: $f, id: $__eventId) {\n    title\n  }");
    expect(archive.variables).toEqual({ f: "7" });
    expect(operation.resolve.query).toContain("added: note(id: $__eventId)");
  });

  it("refuses at start-up an entry without its producer, a field the supergraph does not have, or one of another type", () => {
    expect(() => liveFieldsFromSupergraph(sdl(field('"archivedNote(folder: $folder, id: $eventId)"')))).toThrow("must start with the producer's name");
    expect(() => liveFieldsFromSupergraph(sdl(field('"archive: lostNote(id: $eventId)"')))).toThrow("Query.lostNote, which the supergraph does not have");
    expect(() => liveFieldsFromSupergraph(sdl(field('"archive: folder(id: $eventId)"')))).toThrow("Query.folder returns ID, not Note");
    expect(() => liveFieldsFromSupergraph(sdl(field('"archive: archivedNote(folder: $shelf, id: $eventId)"')))).toThrow("archivedNote uses $shelf");
    expect(() => liveFieldsFromSupergraph(sdl(field('"a: note(id: $eventId)", "a: archivedNote(folder: $folder, id: $eventId)"')))).toThrow("producer a is named twice");
  });
});
