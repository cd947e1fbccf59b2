import type { TextRequest } from "../domain/requests";
import { seedOf } from "../domain/requests";
import { pick, seededRandom } from "./rng";

/**
 * The offline narrator: a small grammar expanded with a generator seeded from the request,
 * so the same request always gets the same text and the game runs with no vendor at all.
 * Player text is never echoed verbatim (it only picks a topic word), so it cannot inject.
 */
const G: Record<string, readonly string[]> = {
  place: ["the observation deck", "the cargo bay", "the bridge", "a crowded spaceport bar", "the airlock", "the orbital market", "the engine room"],
  light: ["amber warning lights", "the cold glow of a gas giant", "flickering holo-signs", "the slow pulse of a dying star", "the blue haze of the drive core"],
  sound: ["the hum of the reactor", "distant docking clamps", "a low murmur of voices", "the tick of cooling hull plates", "static on an open channel"],
  mood: ["uneasy", "expectant", "weary", "electric", "hushed", "defiant"],
  feel: ["a chill runs along your spine", "the air tastes of ozone", "the deck trembles underfoot", "time seems to slow", "every eye turns toward you"],
  omen: ["a signal no one can trace", "a fleet massing at the border", "rumours of a derelict ship", "prices spiking on every exchange", "a treaty about to break"],
  close: ["What will you do?", "The choice is yours.", "The galaxy waits for your answer.", "Somewhere, a clock starts ticking.", "Nothing will be the same after this."],
  greet: ["Well now.", "Listen close.", "Ha!", "Careful, friend.", "So it's you.", "Stars above."],
  attitude: ["I have heard stranger requests", "that is a dangerous question", "you are braver than you look", "not many ask me that", "I may know something"],
  offer: ["Bring me proof and we can talk terms.", "Meet me at the outer ring at shift change.", "Pay in credits, not promises.", "Keep your voice down in here.", "Ask the quartermaster, then come back."],
  warn: ["The Syndicate watches this station.", "Patrols doubled since the last jump.", "Trust no one wearing a guild pin.", "The last crew who tried never came back."],
};

const STOP = new Set(["the", "and", "you", "your", "for", "with", "what", "that", "this", "are", "was", "have", "about", "from", "will", "can", "tell", "please", "there", "where", "when", "they", "them"]);

/** One plain word of the player's text to mention (letters only, 4-16 long), or null. */
function topicOf(text: string, random: () => number): string | null {
  const words = text.toLowerCase().match(/[a-z]{4,16}/g)?.filter((w) => !STOP.has(w)) ?? [];
  return words.length ? pick(random, words) : null;
}

const capital = (s: string) => s.charAt(0).toUpperCase() + s.slice(1);

export function narrate(request: TextRequest): string {
  const random = seededRandom(seedOf(`${request.style}\0${request.speaker ?? ""}\0${request.context ?? ""}\0${request.prompt}`));
  const g = (name: string) => pick(random, G[name]!);
  const topic = topicOf(request.prompt, random);
  if (request.style === "DIALOGUE") {
    const speaker = (request.speaker ?? "The stranger").replace(/[^\p{L}\p{N} '.-]/gu, "").slice(0, 60) || "The stranger";
    const about = topic ? ` about ${topic}` : "";
    return `${speaker}: "${g("greet")} You ask${about}? ${capital(g("attitude"))}. ${g("warn")} ${g("offer")}"`;
  }
  const about = topic ? ` Talk of ${topic} drifts through the room, tangled with ${g("omen")}.` : ` Word spreads of ${g("omen")}.`;
  const text = `Under ${g("light")}, the crowd in ${g("place")} waits, ${g("mood")}, while ${g("sound")} fills the silence.${about} ${capital(g("feel"))}. ${g("close")}`;
  return text.slice(0, request.maxTokens * 6);
}

/** The text split into stream chunks (words with their spacing), as a vendor would stream it. */
export function chunksOf(text: string): string[] {
  return text.match(/\S+\s*/g) ?? [text];
}
