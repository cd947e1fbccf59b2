import { ZodObject, type z } from "zod";
import { eventEnvelopeSchema, type EventEnvelope } from "./envelope";
import { TOPIC_FAMILIES, type FamilyName, type TopicFamily } from "./families";
import { topicFamily } from "./topics";

type Families = typeof TOPIC_FAMILIES;
type EventsOf<F extends FamilyName> = Families[F]["events"];

/** Every event type of every family, and the family that carries it (types are unique across families). */
export type EventType = { [F in FamilyName]: keyof EventsOf<F> & string }[FamilyName];
type FamilyOfType<T extends EventType> = { [F in FamilyName]: T extends keyof EventsOf<F> ? F : never }[FamilyName];
/** The `data` of an event type, as its schema declares it. */
export type EventData<T extends EventType> = z.infer<EventsOf<FamilyOfType<T>>[T & keyof EventsOf<FamilyOfType<T>>] & z.ZodType>;

/** An event that does not meet its contract: a bug in its producer (or a consumer reading the wrong feed). */
export class ContractViolation extends Error {
  constructor(
    message: string,
    readonly topic: string,
    readonly type: string,
  ) {
    super(message);
    this.name = "ContractViolation";
  }
}

/**
 * What consumers read with: the same schemas, but a field they do not know is let through.
 * Producers are strict (a typo fails their tests); a consumer still running the previous
 * version while a producer adds a field must not refuse its events.
 */
const lenient = new Map<z.ZodType, z.ZodType>();
const lenientOf = (schema: z.ZodType): z.ZodType => {
  let found = lenient.get(schema);
  if (!found) {
    found = schema instanceof ZodObject ? schema.loose() : schema;
    lenient.set(schema, found);
  }
  return found;
};

const familyByType = new Map<string, { name: FamilyName; family: TopicFamily }>();
for (const [name, family] of Object.entries(TOPIC_FAMILIES) as [FamilyName, TopicFamily][]) {
  for (const type of Object.keys(family.events)) {
    if (familyByType.has(type)) throw new Error(`event type ${type} is declared by two families`);
    familyByType.set(type, { name, family });
  }
}

/** The contract of a topic's family, or null for a topic no family declares. */
export function familyOfTopic(topic: string): (TopicFamily & { name: FamilyName }) | null {
  const name = topicFamily(topic);
  const family = (TOPIC_FAMILIES as Record<string, TopicFamily>)[name];
  return family ? { ...family, name: name as FamilyName } : null;
}

function schemaFor(topic: string, type: string): z.ZodType {
  const family = familyOfTopic(topic);
  if (!family) throw new ContractViolation(`no contract declares topic ${topic}`, topic, type);
  const schema = family.events[type];
  if (!schema) throw new ContractViolation(`${type} is not an event of ${family.name} topics`, topic, type);
  return schema;
}

/**
 * What a consumer reads an event with: its topic's contract, or, for an event written before
 * its type moved to a topic of its own (simulation's events were on `campaign:<id>` until
 * `world:<id>`), the type's contract when the envelope names that type's writer as its
 * producer. Streams keep those events for a while after the move; they are still sound.
 */
function readableSchemaFor(topic: string, type: string, producer: string | undefined): z.ZodType {
  const own = familyOfTopic(topic)?.events[type];
  if (own) return own;
  const moved = familyByType.get(type);
  if (moved && producer !== undefined && moved.family.writer === producer) return moved.family.events[type]!;
  return schemaFor(topic, type);
}

function describe(error: z.ZodError): string {
  return error.issues.map((issue) => `${issue.path.join(".") || "data"}: ${issue.message}`).join("; ");
}

/**
 * The data of a `type` event on `topic`, checked against its contract: what a producer
 * writes. Throws ContractViolation when the topic does not carry the type or the data does
 * not match, so the transaction that would record it fails instead of publishing it.
 */
export function eventData<T extends EventType>(topic: string, type: T, data: EventData<T>): EventData<T> {
  return checkEventData(topic, type, data) as EventData<T>;
}

/** eventData() for a producer whose types are only known at run time (the engine's events). */
export function checkEventData(topic: string, type: string, data: unknown): unknown {
  const result = schemaFor(topic, type).safeParse(data);
  if (!result.success) throw new ContractViolation(`${type} on ${topic} breaks its contract: ${describe(result.error)}`, topic, type);
  return result.data;
}

/** An envelope whose `data` met its type's contract, with its stream position when it has one. */
export type ParsedEvent = EventEnvelope & { streamId?: string };

/**
 * A received envelope (parsed JSON) checked against the envelope schema and its type's data
 * contract (fields it does not know are let through): what a consumer reads. Returns the error's description instead of throwing, as a
 * consumer decides what an unreadable event costs (dead letter, a log line).
 */
export function parseEvent(value: unknown): { ok: true; event: ParsedEvent } | { ok: false; error: string } {
  const envelope = eventEnvelopeSchema.safeParse(value);
  if (!envelope.success) return { ok: false, error: `not an event envelope: ${describe(envelope.error)}` };
  const { topic, type, producer } = envelope.data;
  try {
    const data = lenientOf(readableSchemaFor(topic, type, producer)).safeParse(envelope.data.data);
    if (!data.success) return { ok: false, error: `${type} on ${topic} breaks its contract: ${describe(data.error)}` };
    return { ok: true, event: { ...envelope.data, data: data.data } };
  } catch (error) {
    return { ok: false, error: (error as Error).message };
  }
}

/** The family and contract of an event type (for the catalogue and for tests). */
export const contractOf = (type: string) => familyByType.get(type) ?? null;
