import nodemailer from "nodemailer";

/** One mail as it leaves: the rendered content, and the headers of mails a player may stop (RFC 8058). */
export type EmailMessage = { to: string; subject: string; text: string; html: string; headers?: Record<string, string> };

export type EmailOutcome =
  | { kind: "sent"; messageId: string }
  /** The server refused the recipient for good (5xx to RCPT TO): the address is dead until it changes. */
  | { kind: "bounced"; code: string }
  /** Refused for good for another reason (5xx to the message): retrying cannot help, the address may be fine. */
  | { kind: "rejected"; code: string }
  /** 4xx, a connection or a timeout: worth another attempt. */
  | { kind: "retry"; code: string; retryAfterMs: null };

export type EmailClient = { send(message: EmailMessage): Promise<EmailOutcome>; close(): void };

export type EmailSettings = { url: string; from: string; requireTls: boolean; rejectUnauthorized: boolean; poolSize: number; timeoutMs: number };

type SmtpError = Error & { code?: string; responseCode?: number; command?: string };

/** What an SMTP failure means for the recipient and for another attempt. */
export function classifySmtpError(error: SmtpError): Exclude<EmailOutcome, { kind: "sent" }> {
  const status = typeof error.responseCode === "number" ? error.responseCode : null;
  const code = status ? `SMTP_${status}` : `SMTP_${error.code ?? "ERROR"}`;
  // An authentication refusal is the operator's to fix (credentials), not the message's fault.
  if (status !== null && status >= 500 && status < 600 && error.code !== "EAUTH") {
    const recipient = error.code === "EENVELOPE" && /RCPT/i.test(error.command ?? "RCPT");
    return recipient ? { kind: "bounced", code } : { kind: "rejected", code };
  }
  return { kind: "retry", code, retryAfterMs: null };
}

/**
 * Mail through nodemailer's pooled SMTP transport: a campaign's fan-out reuses up to
 * `poolSize` connections (and their TLS) rather than a handshake per mail. smtps:// is TLS
 * from the start; smtp:// upgrades with STARTTLS when offered, and must when `requireTls`.
 * One recipient per mail, so a refusal is that recipient's.
 */
export function createEmailClient(settings: EmailSettings): EmailClient {
  const url = new URL(settings.url);
  const transport = nodemailer.createTransport({
    pool: true,
    maxConnections: settings.poolSize,
    host: url.hostname,
    port: Number(url.port) || (url.protocol === "smtps:" ? 465 : 587),
    secure: url.protocol === "smtps:",
    requireTLS: settings.requireTls,
    tls: { rejectUnauthorized: settings.rejectUnauthorized },
    ...(url.username ? { auth: { user: decodeURIComponent(url.username), pass: decodeURIComponent(url.password) } } : {}),
    connectionTimeout: settings.timeoutMs,
    greetingTimeout: settings.timeoutMs,
    socketTimeout: settings.timeoutMs,
  });
  return {
    async send(message) {
      try {
        const info = await transport.sendMail({ from: settings.from, to: message.to, subject: message.subject, text: message.text, html: message.html, headers: message.headers });
        return { kind: "sent", messageId: String(info.messageId ?? "smtp") };
      } catch (error) {
        return classifySmtpError(error as SmtpError);
      }
    },
    close: () => transport.close(),
  };
}
