import type { AddressInfo } from "node:net";
import { simpleParser } from "mailparser";
import { SMTPServer } from "smtp-server";

/** A mail the server accepted, parsed as a mail client would. */
export type ReceivedMail = {
  to: string;
  from: string;
  subject: string;
  text: string;
  html: string;
  /** Each header's value as sent (unfolded), by lowercase name: mailparser's own parse of List-* headers hides their text. */
  headers: Record<string, string>;
};

export type FakeSmtp = {
  /** smtp://127.0.0.1:<port>, for SMTP_URL. */
  url: string;
  /** Accepted mails, in the order they arrived. */
  mails: ReceivedMail[];
  /** RCPT TO commands per recipient, accepted or refused (a test that expects no attempt checks it did not grow). */
  attempts: Map<string, number>;
  /** Refuses the address for good: 550 to every RCPT TO. */
  reject(address: string): void;
  /** Answers the address's next `times` RCPT TO with 451 (try again later), then accepts. */
  deferTimes(address: string, times: number): void;
  mailsTo(address: string): ReceivedMail[];
  attemptsTo(address: string): number;
  /** Resolves once `count` mails reached `address`. */
  waitFor(address: string, count: number, timeoutMs?: number): Promise<ReceivedMail[]>;
  stop(): Promise<void>;
};

const key = (address: string) => address.trim().toLowerCase();

/**
 * A real SMTP server on loopback (smtp-server), no TLS and no authentication, every message
 * parsed with mailparser and recorded; per-address refusals, permanent (5xx) or for a while
 * (4xx), at RCPT TO, where a real server says an address does not exist or is over quota.
 */
export async function startFakeSmtp(): Promise<FakeSmtp> {
  const mails: ReceivedMail[] = [];
  const attempts = new Map<string, number>();
  const rejected = new Set<string>();
  const deferrals = new Map<string, number>();
  const waiters = new Set<() => void>();
  const smtpError = (message: string, responseCode: number) => Object.assign(new Error(message), { responseCode });

  const server = new SMTPServer({
    secure: false,
    disabledCommands: ["STARTTLS", "AUTH"],
    authOptional: true,
    logger: false,
    onRcptTo(address, _session, callback) {
      const to = key(address.address);
      attempts.set(to, (attempts.get(to) ?? 0) + 1);
      if (rejected.has(to)) return callback(smtpError("5.1.1 No such user here", 550));
      const deferred = deferrals.get(to) ?? 0;
      if (deferred > 0) {
        deferrals.set(to, deferred - 1);
        return callback(smtpError("4.2.1 Mailbox busy, try again later", 451));
      }
      callback();
    },
    onData(stream, session, callback) {
      simpleParser(stream)
        .then((parsed) => {
          for (const recipient of session.envelope.rcptTo) {
            mails.push({
              to: key(recipient.address),
              from: parsed.from?.text ?? "",
              subject: parsed.subject ?? "",
              text: parsed.text ?? "",
              html: typeof parsed.html === "string" ? parsed.html : "",
              headers: Object.fromEntries(parsed.headerLines.map(({ key: name, line }) => [name, line.slice(line.indexOf(":") + 1).replace(/\r?\n[ \t]+/g, " ").trim()])),
            });
          }
          for (const wake of waiters) wake();
          callback();
        })
        .catch((error: Error) => callback(error));
    },
  });
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  const { port } = server.server.address() as AddressInfo;

  const mailsTo = (address: string) => mails.filter((mail) => mail.to === key(address));
  return {
    url: `smtp://127.0.0.1:${port}`,
    mails,
    attempts,
    reject: (address) => rejected.add(key(address)),
    deferTimes: (address, times) => deferrals.set(key(address), times),
    mailsTo,
    attemptsTo: (address) => attempts.get(key(address)) ?? 0,
    waitFor(address, count, timeoutMs = 15_000) {
      return new Promise((resolve, reject) => {
        const check = () => {
          const found = mailsTo(address);
          if (found.length < count) return;
          clearTimeout(timer);
          waiters.delete(check);
          resolve(found);
        };
        const timer = setTimeout(() => {
          waiters.delete(check);
          reject(new Error(`${mailsTo(address).length} of ${count} mails reached ${address} within ${timeoutMs} ms`));
        }, timeoutMs);
        waiters.add(check);
        check();
      });
    },
    stop: () => new Promise<void>((resolve) => server.close(() => resolve())),
  };
}
