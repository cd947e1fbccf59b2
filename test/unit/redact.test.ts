import { redactText } from "../../packages/service-kit/src/redact";

describe("the redactor every log line passes through", () => {
  it.each([
    ["an email", "login failed for Alice.Smith+tag@example.co.uk today", "login failed for [email] today"],
    ["a JWT", "token eyJhbGciOiJFZERTQSJ9.eyJzdWIiOiIxMjMifQ.c2lnbmF0dXJlLWJ5dGVz seen", "token [token] seen"],
    ["an API key", "key stk_ab12cd34_ZXhhbXBsZS1zZWNyZXQtdmFsdWU used", "key [api-key] used"],
    ["a bearer header", "authorization: Bearer abc.def-ghi_jkl", "authorization: Bearer [redacted]"],
    ["a refresh token", '"rt":"Qk9ZXnS2m3v8f2yP0aH7cJ1eR4tU6wL9xB5dG3kN8sM"', '"rt":"[secret]"'],
    ["an IPv4 client", "from 203.0.113.7:51234", "from [ip]:51234"],
    ["a full IPv6", "from 2001:0db8:0000:0000:0000:ff00:0042:8329", "from [ip]"],
    ["a compressed IPv6", "from 2001:db8::1 and fe80::", "from [ip] and [ip]"],
  ])("replaces %s", (_kind, input, output) => {
    expect(redactText(input)).toBe(output);
  });

  it.each([
    ["a request id", "requestId 3f2504e0-4f89-11d3-9a0c-0305e82c3301"],
    ["a timestamp", '"time":"2026-11-25T09:30:00.000Z" at 09:30:00'],
    ["loopback addresses", "listening on http://127.0.0.1:4000 and [::1]:4001 and 0.0.0.0"],
    ["ordinary words and numbers", "campaign Orion Rising tick 1024 took 12.5 ms, version 2.14.4"],
  ])("keeps %s", (_kind, input) => {
    expect(redactText(input)).toBe(input);
  });
});
