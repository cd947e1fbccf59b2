import { parseRevokedSessions } from "@startales/service-kit";

describe("an announcement of ended sign-ins, as the gateway reads it", () => {
  it("is `<user id> <notBefore epoch s> <until epoch ms>`", () => {
    expect(parseRevokedSessions("b51d881c-3e93-411b-b4bc-ecdd345ce4d5 1796650000 1796650900000")).toEqual({
      userId: "b51d881c-3e93-411b-b4bc-ecdd345ce4d5",
      notBefore: 1796650000,
      until: 1796650900000,
    });
  });

  it("is nothing in any other shape", () => {
    for (const message of ["", "user", "user 1", "user x 2", "user 1 y", "user 1 2 3", "user -1 2"]) expect(parseRevokedSessions(message)).toBeNull();
  });
});
