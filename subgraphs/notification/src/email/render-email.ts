import { unsubscribeLine, type EmailContent, type EmailLocale } from "./email-templates";

export type RenderedEmail = { subject: string; text: string; html: string };

const ENTITIES: Record<string, string> = { "&": "&amp;", "<": "&lt;", ">": "&gt;", '"': "&quot;", "'": "&#39;" };
/** Every value reaches the HTML through here: text and attributes alike. */
export const escapeHtml = (value: string) => value.replace(/[&<>"']/g, (c) => ENTITIES[c]!);

/** A subject is a header: a line break in a campaign's name must not start another one. */
const oneLine = (value: string) => value.replace(/[\r\n]+/g, " ").trim();

/**
 * A mail's content as text and as HTML, from the same blocks: what one says the other says.
 * `unsubscribeUrl` (mails a player may stop) adds the footer line naming it.
 */
export function renderEmail(content: EmailContent, options: { locale: EmailLocale; unsubscribeUrl?: string | null }): RenderedEmail {
  const text: string[] = [];
  const html: string[] = [];
  for (const block of content.blocks) {
    switch (block.kind) {
      case "paragraph":
        text.push(block.text);
        html.push(`<p>${escapeHtml(block.text).replace(/\n/g, "<br>")}</p>`);
        break;
      case "action":
        text.push(`${block.label}: ${block.href}`);
        html.push(`<p><a href="${escapeHtml(block.href)}" style="font-weight:bold">${escapeHtml(block.label)}</a></p>`);
        break;
      case "note":
        text.push(block.text);
        html.push(`<p style="color:#666;font-size:90%">${escapeHtml(block.text)}</p>`);
        break;
    }
  }
  if (options.unsubscribeUrl) {
    const line = unsubscribeLine(options.locale);
    text.push(`--\n${line} ${options.unsubscribeUrl}`);
    html.push(`<hr><p style="color:#666;font-size:80%">${escapeHtml(line)} <a href="${escapeHtml(options.unsubscribeUrl)}">${escapeHtml(options.unsubscribeUrl)}</a></p>`);
  }
  const subject = oneLine(content.subject);
  return {
    subject,
    text: `${text.join("\n\n")}\n`,
    html: `<!doctype html><html lang="${options.locale}"><head><meta charset="utf-8"><title>${escapeHtml(subject)}</title></head><body>${html.join("")}</body></html>`,
  };
}
