import { Role, Scope, createCampaignReadAccess, signedIn, type CampaignAccess } from "@startales/service-kit";

const forwarded = { identity: "signed", requestId: "r" };
const member = (id: string): CampaignAccess => ({ kind: "member", id, status: "RUNNING", role: "PLAYER" });

/** Campaign's answers, and what it was asked. */
function campaign(answer: (id: string) => CampaignAccess) {
  const asked: string[][] = [];
  return { asked, access: async (_forwarded: unknown, ids: readonly string[]) => (asked.push([...ids]), ids.map(answer)) };
}

/** Campaigns' membership versions as the relay's publications would set them; null: Redis away. */
function versions(initial: Record<string, string | null> = {}) {
  const current = new Map(Object.entries(initial));
  return { set: (id: string, version: string | null) => current.set(id, version), membership: async (id: string) => (current.has(id) ? current.get(id)! : "1-0") };
}

describe("campaign read access kept per caller and membership version", () => {
  const alice = signedIn("11111111-1111-4111-8111-111111111111", [Role.PLAYER]);

  it("asks campaign once within the TTL, and only for the campaigns it does not know", async () => {
    const client = campaign(member);
    const read = createCampaignReadAccess(client, versions(), { ttlMs: 60_000, maxEntries: 100 });
    expect(await read(alice, forwarded, ["a"])).toEqual([member("a")]);
    expect(await read(alice, forwarded, ["a", "b"])).toEqual([member("a"), member("b")]);
    expect(await read(alice, forwarded, ["b", "a"])).toEqual([member("b"), member("a")]);
    expect(client.asked).toEqual([["a"], ["b"]]);
  });

  it("keeps callers apart: another user, or the same user with other roles or scopes, is asked for", async () => {
    const client = campaign(member);
    const read = createCampaignReadAccess(client, versions(), { ttlMs: 60_000, maxEntries: 100 });
    await read(alice, forwarded, ["a"]);
    await read(signedIn("22222222-2222-4222-8222-222222222222", [Role.PLAYER]), forwarded, ["a"]);
    await read(signedIn(alice.userId, [Role.PLAYER, Role.ADMIN]), forwarded, ["a"]);
    await read(signedIn(alice.userId, [Role.PLAYER], { credential: "api_key", scopes: [Scope.READ] }), forwarded, ["a"]);
    expect(client.asked).toEqual([["a"], ["a"], ["a"], ["a"]]);
  });

  it("does not keep 'no such campaign', and asks again once the TTL has passed", async () => {
    const client = campaign((id) => (id === "new" ? { kind: "missing" } : member(id)));
    const read = createCampaignReadAccess(client, versions(), { ttlMs: 0, maxEntries: 100 });
    await read(alice, forwarded, ["new", "a"]);
    await read(alice, forwarded, ["new", "a"]);
    expect(client.asked).toEqual([["new", "a"], ["new", "a"]]);
    const kept = createCampaignReadAccess(client, versions(), { ttlMs: 60_000, maxEntries: 100 });
    await kept(alice, forwarded, ["new", "a"]);
    await kept(alice, forwarded, ["new", "a"]);
    expect(client.asked.slice(2)).toEqual([["new", "a"], ["new"]]);
  });

  it("asks again at once when the campaign's membership version moves (a join, a leave, a kick)", async () => {
    const client = campaign(member);
    const known = versions({ a: "5-0" });
    const read = createCampaignReadAccess(client, known, { ttlMs: 60_000, maxEntries: 100 });
    await read(alice, forwarded, ["a"]);
    await read(alice, forwarded, ["a"]);
    known.set("a", "6-0");
    await read(alice, forwarded, ["a"]);
    expect(client.asked).toEqual([["a"], ["a"]]);
  });

  it("asks campaign every time while no version is known (Redis away): never guesses", async () => {
    const client = campaign(member);
    const read = createCampaignReadAccess(client, versions({ a: null }), { ttlMs: 60_000, maxEntries: 100 });
    await read(alice, forwarded, ["a"]);
    await read(alice, forwarded, ["a"]);
    expect(client.asked).toEqual([["a"], ["a"]]);
  });

  it("asks campaign, and keeps its answer, when the request asks to revalidate (a live subscriber re-checked)", async () => {
    const client = campaign(member);
    const read = createCampaignReadAccess(client, versions(), { ttlMs: 60_000, maxEntries: 100 });
    await read(alice, forwarded, ["a"]);
    await read(alice, { ...forwarded, revalidate: true }, ["a"]);
    await read(alice, forwarded, ["a"]);
    expect(client.asked).toEqual([["a"], ["a"]]);
  });

  it("passes campaign's failure on and keeps nothing from it", async () => {
    let down = true;
    const client = { access: async (_f: unknown, ids: readonly string[]) => (down ? Promise.reject(new Error("unavailable")) : ids.map(member)) };
    const read = createCampaignReadAccess(client, versions(), { ttlMs: 60_000, maxEntries: 100 });
    await expect(read(alice, forwarded, ["a"])).rejects.toThrow("unavailable");
    down = false;
    expect(await read(alice, forwarded, ["a"])).toEqual([member("a")]);
  });
});
