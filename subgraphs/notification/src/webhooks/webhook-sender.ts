import { lookup as dnsLookup, type LookupAddress, type LookupOptions } from "node:dns";
import http from "node:http";
import https from "node:https";
import { checkWebhookAddress, type AddressRules } from "./webhook-address";

/** What one POST came to: an answer (any status), or none (timeout, refused address, network). */
export type SendResult = { status: number; snippet: string } | { status: null; error: string };

/** Operators see why a receiver refused; a whole error page is not kept. */
export const SNIPPET_CHARS = 256;

export type WebhookSender = { post(url: string, headers: Record<string, string>, body: string): Promise<SendResult>; close(): void };

/**
 * POSTs to webhooks: no redirect is followed (a 3xx is an answer like any other: a redirect
 * could lead past the address check), the whole request is bounded by `timeoutMs`, and every
 * address a host resolves to is checked at connect time (webhook-address.ts), since DNS may
 * have been repointed since the URL was given.
 */
export function createWebhookSender(options: { timeoutMs: number; rules: AddressRules; userAgent?: string }): WebhookSender {
  const lookup = (hostname: string, lookupOptions: LookupOptions, callback: (error: NodeJS.ErrnoException | null, address: string | LookupAddress[], family?: number) => void) =>
    dnsLookup(hostname, { ...lookupOptions, all: true }, (error, addresses) => {
      if (error) return callback(error, "");
      const refused = addresses.map((a) => checkWebhookAddress(a.address, options.rules)).find((why) => why !== null);
      if (refused) return callback(Object.assign(new Error(`webhook host ${hostname} ${refused}`), { code: "EREFUSED_ADDRESS" }), "");
      if (lookupOptions.all) return callback(null, addresses);
      callback(null, addresses[0]!.address, addresses[0]!.family);
    });
  const agents = { "https:": new https.Agent({ keepAlive: true, maxSockets: 16, lookup }), "http:": new http.Agent({ keepAlive: true, maxSockets: 16, lookup }) };

  const post = (target: string, headers: Record<string, string>, body: string) =>
    new Promise<SendResult>((resolve) => {
      const url = new URL(target);
      const transport = url.protocol === "https:" ? https : http;
      const agent = agents[url.protocol as keyof typeof agents];
      // A literal IP skips the agent's lookup: it is checked here instead.
      const host = url.hostname.replace(/^\[|\]$/g, "");
      const literalRefused = /^[\d.]+$|:/.test(host) ? checkWebhookAddress(host, options.rules) : null;
      if (literalRefused) return resolve({ status: null, error: `REFUSED_ADDRESS: ${literalRefused}` });
      let settled = false;
      const settle = (result: SendResult) => {
        if (settled) return;
        settled = true;
        clearTimeout(timer);
        resolve(result);
      };
      const request = transport.request(
        url,
        {
          method: "POST",
          agent,
          headers: { "content-type": "application/json", "user-agent": options.userAgent ?? "Startales-Webhooks/1", "content-length": Buffer.byteLength(body), ...headers },
        },
        (res) => {
          let snippet = "";
          res.setEncoding("utf8");
          res.on("data", (chunk: string) => {
            if (snippet.length < SNIPPET_CHARS) snippet += chunk.slice(0, SNIPPET_CHARS - snippet.length);
          });
          res.on("end", () => settle({ status: res.statusCode ?? 0, snippet }));
          res.on("error", (error) => settle({ status: null, error: error.message }));
        },
      );
      const timer = setTimeout(() => {
        request.destroy();
        settle({ status: null, error: `TIMEOUT: no answer within ${options.timeoutMs} ms` });
      }, options.timeoutMs);
      request.on("error", (error: NodeJS.ErrnoException) => settle({ status: null, error: error.code === "EREFUSED_ADDRESS" ? `REFUSED_ADDRESS: ${error.message}` : error.code ?? error.message }));
      request.end(body);
    });

  return {
    post,
    close() {
      agents["https:"].destroy();
      agents["http:"].destroy();
    },
  };
}
