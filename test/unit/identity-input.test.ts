import { loginInput, registerInput } from "../../subgraphs/identity/src/domain/input";

const valid = { email: "alice@example.test", password: "correct horse", displayName: "Alice" };

function issuesOf(schema: typeof registerInput | typeof loginInput, value: unknown) {
  const result = schema.safeParse(value);
  if (result.success) throw new Error(`expected ${JSON.stringify(value)} to be rejected`);
  return result.error.issues.map((i) => ({ field: i.path.join("."), message: i.message }));
}

describe("registerInput", () => {
  it("accepts a valid registration, its mail in English unless it says French", () => {
    expect(registerInput.parse(valid)).toEqual({ ...valid, locale: "en" });
    expect(registerInput.parse({ ...valid, locale: null }).locale).toBe("en");
    expect(registerInput.parse({ ...valid, locale: "fr" }).locale).toBe("fr");
  });

  it.each([["de"], ["EN"], [""], ["en-GB"]])("rejects the locale %p", (locale) => {
    expect(issuesOf(registerInput, { ...valid, locale })).toEqual([{ field: "locale", message: "must be one of en, fr" }]);
  });

  it("trims and lower-cases the email", () => {
    expect(registerInput.parse({ ...valid, email: "  Alice.Smith@Example.TEST \n" }).email).toBe("alice.smith@example.test");
  });

  it.each([["alice"], ["alice@"], ["@example.test"], ["alice @example.test"], [""], ["   "]])("rejects the email %p", (email) => {
    expect(issuesOf(registerInput, { ...valid, email })).toEqual([{ field: "email", message: "must be a valid email address" }]);
  });

  it("rejects an email longer than 254 characters", () => {
    const email = `${"a".repeat(64)}@${"b".repeat(190)}.test`;
    expect(email.length).toBeGreaterThan(254);
    expect(issuesOf(registerInput, { ...valid, email })).toContainEqual({ field: "email", message: "must be at most 254 characters" });
  });

  it.each([[8], [256]])("accepts a password of %i characters", (length) => {
    expect(registerInput.safeParse({ ...valid, password: "p".repeat(length) }).success).toBe(true);
  });

  it("rejects a password shorter than 8 characters", () => {
    expect(issuesOf(registerInput, { ...valid, password: "p".repeat(7) })).toEqual([{ field: "password", message: "must be at least 8 characters" }]);
  });

  it("rejects a password longer than 256 characters", () => {
    expect(issuesOf(registerInput, { ...valid, password: "p".repeat(257) })).toEqual([{ field: "password", message: "must be at most 256 characters" }]);
  });

  it("does not trim the password", () => {
    expect(registerInput.parse({ ...valid, password: "  spaced password  " }).password).toBe("  spaced password  ");
  });

  it.each([["Al"], ["Zoë Ångström"], ["Łukasz_99"], ["李小龍"], ["J.R. Smith-Jones"], ["x".repeat(32)], ["player 1"]])(
    "accepts the display name %p",
    (displayName) => {
      expect(registerInput.parse({ ...valid, displayName }).displayName).toBe(displayName);
    },
  );

  // Devanagari vowel signs and Arabic diacritics are combining marks (\p{M}), not \p{L};
  // "Zoe\u0308" is the decomposed (NFD) spelling of "Zoë" that some keyboards send.
  it.each([["अनिल"], ["عليّ"], ["Zoe\u0308"]])("accepts the display name %p written with combining marks", (displayName) => {
    expect(registerInput.safeParse({ ...valid, displayName }).success).toBe(true);
  });

  it("trims the display name before checking its length", () => {
    expect(registerInput.parse({ ...valid, displayName: `   ${"x".repeat(32)}   ` }).displayName).toBe("x".repeat(32));
    expect(issuesOf(registerInput, { ...valid, displayName: "  A  " })).toContainEqual({
      field: "displayName",
      message: "must be at least 2 characters",
    });
  });

  it("rejects a display name longer than 32 characters", () => {
    expect(issuesOf(registerInput, { ...valid, displayName: "x".repeat(33) })).toEqual([
      { field: "displayName", message: "must be at most 32 characters" },
    ]);
  });

  it.each([["<script>"], ["alice@home"], ["drop;table"], ["emoji 🚀"], ["tab\there"], ["quote'"]])(
    "rejects the display name %p",
    (displayName) => {
      expect(issuesOf(registerInput, { ...valid, displayName })).toEqual([
        { field: "displayName", message: "may contain letters, digits, spaces and - _ . only, starting with a letter or digit" },
      ]);
    },
  );

  it("requires every field", () => {
    expect(issuesOf(registerInput, {}).map((i) => i.field)).toEqual(["email", "password", "displayName"]);
  });
});

describe("loginInput", () => {
  it("trims and lower-cases the email", () => {
    expect(loginInput.parse({ email: " Bob@Example.Test ", password: "x" })).toEqual({ email: "bob@example.test", password: "x" });
  });

  it("rejects an invalid email", () => {
    expect(issuesOf(loginInput, { email: "bob", password: "whatever1" })).toEqual([{ field: "email", message: "must be a valid email address" }]);
  });

  it("requires a password but not a minimum length", () => {
    expect(issuesOf(loginInput, { email: "bob@example.test", password: "" })).toEqual([{ field: "password", message: "is required" }]);
    expect(loginInput.safeParse({ email: "bob@example.test", password: "short" }).success).toBe(true);
  });

  it("rejects a password longer than 256 characters", () => {
    expect(issuesOf(loginInput, { email: "bob@example.test", password: "p".repeat(257) }).map((i) => i.field)).toEqual(["password"]);
  });
});
