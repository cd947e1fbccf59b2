import { randomBytes } from "node:crypto";
import { signedIn } from "@startales/service-kit";
import { sniffMediaType } from "../../subgraphs/content/src/domain/media-type";
import { checkPackPath } from "../../subgraphs/content/src/domain/pack-path";
import { createUrlSigner } from "../../subgraphs/content/src/domain/signed-url";
import { acceptedTypes, uploaderFor } from "../../subgraphs/content/src/domain/upload-rules";

/** What content decides about an upload before it touches storage: the bytes' type, who may upload what, and private links. */

const bytes = (...parts: (string | number[])[]) => Buffer.concat(parts.map((part) => (typeof part === "string" ? Buffer.from(part, "latin1") : Buffer.from(part))));

describe("an upload's media type", () => {
  it("is read from the bytes' signature, whatever the file claims to be", () => {
    const samples: [Buffer, string | null][] = [
      [bytes([0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a], "rest"), "image/png"],
      [bytes([0xff, 0xd8, 0xff, 0xe0], "JFIF"), "image/jpeg"],
      [bytes("GIF89a", [1, 0]), "image/gif"],
      [bytes("GIF87a", [1, 0]), "image/gif"],
      [bytes("RIFF", [0, 0, 0, 0], "WEBPVP8 "), "image/webp"],
      [bytes("RIFF", [0, 0, 0, 0], "WAVEfmt "), "audio/wav"],
      [bytes("OggS", [0]), "audio/ogg"],
      [bytes("ID3", [4, 0]), "audio/mpeg"],
      [bytes([0xff, 0xfb, 0x90, 0x00]), "audio/mpeg"],
      [bytes("glTF", [2, 0, 0, 0]), "model/gltf-binary"],
      [bytes("fLaC", [0, 0, 0, 34]), "audio/flac"],
      [bytes([0x1a, 0x45, 0xdf, 0xa3, 0x9f, 0x42, 0x86, 0x81, 0x01, 0x42, 0x82, 0x84], "webm", [0x42, 0x87]), "audio/webm"],
      [bytes("PK", [3, 4], "rest"), "application/zip"],
      [bytes(' {"ship": "Corvette", "hp": 40}'), "application/json"],
      [bytes("[1, 2, 3]"), "application/json"],
      // JSON must be whole and UTF-8; a scalar is no pack file.
      [bytes('{"ship": '), null],
      [bytes("[", [0xff, 0xfe], "]"), null],
      [bytes('"just a string"'), null],
      // What must never pass for a picture: markup, scripts, SVG (it can run script), other Matroska, an empty archive, nothing.
      [bytes("<html><script>alert(1)</script>"), null],
      [bytes("<svg xmlns='http://www.w3.org/2000/svg'/>"), null],
      [bytes([0x1a, 0x45, 0xdf, 0xa3, 0x9f, 0x42, 0x86, 0x81, 0x01, 0x42, 0x82, 0x88], "matroska"), null],
      [bytes("PK", [5, 6], Buffer.alloc(18).toString("latin1")), null],
      [bytes("RIFF", [0, 0, 0, 0], "AVI "), null],
      [Buffer.alloc(0), null],
    ];
    expect(samples.map(([sample]) => sniffMediaType(sample))).toEqual(samples.map(([, type]) => type));
  });

  it("must be one its kind accepts: an avatar is an image, media may be audio or a model too, a pack file JSON as well", () => {
    expect(acceptedTypes("AVATAR")).toEqual(["image/png", "image/jpeg", "image/gif", "image/webp"]);
    expect(acceptedTypes("MEDIA")).toEqual(expect.arrayContaining(["image/png", "audio/wav", "audio/ogg", "audio/mpeg", "model/gltf-binary"]));
    expect(acceptedTypes("MEDIA")).not.toContain("application/json");
    expect(acceptedTypes("PACK_FILE")).toEqual(expect.arrayContaining([...acceptedTypes("MEDIA"), "application/json"]));
    // An archive is unpacked into a pack (importPackArchive), never kept inside one.
    expect(acceptedTypes("PACK_FILE")).not.toContain("application/zip");
    expect(acceptedTypes("PACK_ARCHIVE")).toEqual(["application/zip"]);
    expect(acceptedTypes("VOICE")).toEqual(expect.arrayContaining(["audio/wav", "audio/ogg", "audio/webm", "audio/flac"]));
    expect(acceptedTypes("VOICE").every((type) => type.startsWith("audio/"))).toBe(true);
  });
});

describe("who may upload", () => {
  const user = "8d3c0f4e-53b1-4d3e-9d7c-2b1f3c4a5e6f";
  const code = (run: () => unknown) => {
    try {
      run();
      return "ok";
    } catch (error) {
      return (error as { extensions?: { code?: string } }).extensions?.code;
    }
  };

  it("is every player for their own avatar, recordings and packs' files and archives, counted against their quota", () => {
    for (const kind of ["AVATAR", "VOICE", "PACK_FILE", "PACK_ARCHIVE"] as const) expect(uploaderFor(signedIn(user, ["PLAYER"]), kind)).toMatchObject({ ownerId: user, quotaApplies: true });
  });

  it("is admins and services for media: a service's belongs to no one and counts against no quota", () => {
    expect(uploaderFor(signedIn(user, ["SERVICE"]), "MEDIA")).toMatchObject({ ownerId: null, quotaApplies: false });
    expect(uploaderFor(signedIn(user, ["ADMIN"]), "MEDIA")).toMatchObject({ ownerId: user, quotaApplies: false });
    expect(code(() => uploaderFor(signedIn(user, ["PLAYER", "GAME_MASTER"]), "MEDIA"))).toBe("FORBIDDEN");
  });

  it("is never an analyst, a read-only API key or nobody", () => {
    expect(code(() => uploaderFor(signedIn(user, ["ANALYST"]), "AVATAR"))).toBe("FORBIDDEN");
    expect(code(() => uploaderFor(signedIn(user, ["PLAYER"], { credential: "api_key", scopes: ["read"] }), "AVATAR"))).toBe("FORBIDDEN");
    expect(code(() => uploaderFor({ kind: "anonymous" }, "AVATAR"))).toBe("UNAUTHENTICATED");
  });
});

describe("a private asset's link", () => {
  const sha = "a".repeat(64);
  const signer = createUrlSigner(randomBytes(32).toString("hex"));
  const query = (link: string) => new URLSearchParams(link);

  it("works for its blob until it expires", () => {
    const now = Date.now();
    const link = signer.sign(sha, new Date(now + 60_000));
    expect(signer.verify(sha, query(link), now)).toBe(Math.floor((now + 60_000) / 1000) * 1000);
    expect(signer.verify(sha, query(link), now + 61_000)).toBeNull();
  });

  it("opens no other blob, and cannot be extended, forged or signed with another secret", () => {
    const link = signer.sign(sha, new Date(Date.now() + 60_000));
    expect(signer.verify("b".repeat(64), query(link))).toBeNull();
    const later = query(link);
    later.set("expires", String(Number(later.get("expires")) + 3600));
    expect(signer.verify(sha, later)).toBeNull();
    const forged = query(link);
    forged.set("signature", randomBytes(32).toString("base64url"));
    expect(signer.verify(sha, forged)).toBeNull();
    expect(createUrlSigner(randomBytes(32).toString("hex")).verify(sha, query(link))).toBeNull();
    expect(signer.verify(sha, new URLSearchParams(""))).toBeNull();
    expect(signer.verify(sha, query("expires=abc&signature=x"))).toBeNull();
  });
});

describe("a file's path in a content pack", () => {
  it("is relative, `/`-separated and plain, so nothing escapes the pack when it is unpacked", () => {
    for (const path of ["ships/corvette.glb", "lang/en.json", "a/b/c/d/e/f/g/h.png", "README_1.txt", "v1.2/data-set_3.json"]) expect({ path, problem: checkPackPath(path) }).toEqual({ path, problem: null });
    const refused = ["../escape.json", "ships/../../etc/passwd", "/abs.json", "a//b.json", "", "./a.json", "a/./b.json", "a\\b.json", ".hidden", "-flag.json", "a/b/c/d/e/f/g/h/i.png", "C:/x.png", "ships/corvette.png\u0000", "x".repeat(101), `${"a/".repeat(200)}b`];
    for (const path of refused) expect({ path, refused: checkPackPath(path) !== null }).toEqual({ path, refused: true });
  });
});
