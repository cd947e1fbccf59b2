import type { ACCOUNT_MAIL_KINDS } from "@startales/service-kit";

export type AccountMailKind = (typeof ACCOUNT_MAIL_KINDS)[number];

/**
 * A mail's content as one source, rendered both as HTML and as text (render-email.ts): a
 * subject and blocks, never markup, so every value a player or a game master chose (a
 * campaign's name, a display name) is escaped once, in one place.
 */
export type EmailBlock = { kind: "paragraph"; text: string } | { kind: "action"; label: string; href: string } | { kind: "note"; text: string };
export type EmailContent = { subject: string; blocks: EmailBlock[] };

export const EMAIL_LOCALES = ["en", "fr"] as const;
export type EmailLocale = (typeof EMAIL_LOCALES)[number];

/** The best of our locales for identity's (a BCP 47 tag such as `fr-CA`); English otherwise. */
export function emailLocale(tag: string | null | undefined): EmailLocale {
  const language = (tag ?? "").toLowerCase().split(/[-_]/)[0];
  return (EMAIL_LOCALES as readonly string[]).includes(language ?? "") ? (language as EmailLocale) : "en";
}

/** What identity tells about an account mail (ACCOUNT_MAIL_PATH). */
export type AccountMailParams = { displayName: string; link: string | null; expiresAt: Date | null };
export type CampaignTemplate = "CAMPAIGN_STARTED" | "CAMPAIGN_PAUSED" | "CAMPAIGN_RESUMED" | "CAMPAIGN_ENDED";
export type DigestItem = { title: string; body: string };

type Wording = {
  greeting: (name: string) => string;
  /** The footer line of mails a player may stop (the link itself is the List-Unsubscribe one). */
  unsubscribe: string;
  ignore: string;
  expires: (at: Date) => string;
  account: Record<AccountMailKind, { subject: string; text: string; action?: string }>;
  campaign: Record<CampaignTemplate, { subject: (campaign: string) => string; text: string }>;
  openGame: string;
  digest: { subject: (count: number) => string; intro: (count: number) => string };
};

const dateIn = (locale: EmailLocale, at: Date) =>
  new Intl.DateTimeFormat(locale === "fr" ? "fr-FR" : "en-GB", { dateStyle: "long", timeStyle: "short", timeZone: "UTC" }).format(at) + " UTC";

const WORDING: Record<EmailLocale, Wording> = {
  en: {
    greeting: (name) => `Hello ${name},`,
    unsubscribe: "You receive this mail because of your notification preferences. Unsubscribe from these mails:",
    ignore: "If you did not ask for this, you can ignore this mail.",
    expires: (at) => `This link works until ${dateIn("en", at)}.`,
    account: {
      VERIFY_EMAIL: { subject: "Confirm your email address", text: "Confirm your address to finish setting up your Startales account.", action: "Confirm my address" },
      RESET_PASSWORD: { subject: "Reset your password", text: "Someone asked to reset the password of your Startales account.", action: "Choose a new password" },
      CONFIRM_EMAIL_CHANGE: { subject: "Confirm your new email address", text: "Confirm this address to make it the one of your Startales account.", action: "Confirm this address" },
      EMAIL_CHANGE_NOTICE: { subject: "Your email address is changing", text: "A change of your Startales account's email address was asked. If it was not you, reset your password now." },
      PASSWORD_CHANGED_NOTICE: { subject: "Your password was changed", text: "The password of your Startales account was just changed. If it was not you, reset your password now." },
    },
    // The wording of TEMPLATES (domain/templates.ts), which the inbox shows.
    campaign: {
      CAMPAIGN_STARTED: { subject: (c) => `${c} has started`, text: "The galaxy is live: your civilization awaits its first orders." },
      CAMPAIGN_PAUSED: { subject: (c) => `${c} is paused`, text: "The game master paused the campaign; nothing moves until it resumes." },
      CAMPAIGN_RESUMED: { subject: (c) => `${c} has resumed`, text: "Time flows again in the galaxy." },
      CAMPAIGN_ENDED: { subject: (c) => `${c} has ended`, text: "The campaign is over: see how your civilization fared." },
    },
    openGame: "Open Startales",
    digest: {
      subject: (n) => `Your day in Startales: ${n} notification${n === 1 ? "" : "s"}`,
      intro: (n) => `Here is what happened today (${n} notification${n === 1 ? "" : "s"}):`,
    },
  },
  fr: {
    greeting: (name) => `Bonjour ${name},`,
    unsubscribe: "Vous recevez ce courriel selon vos préférences de notification. Se désabonner de ces courriels :",
    ignore: "Si vous n'en êtes pas à l'origine, ignorez ce courriel.",
    expires: (at) => `Ce lien est valable jusqu'au ${dateIn("fr", at)}.`,
    account: {
      VERIFY_EMAIL: { subject: "Confirmez votre adresse e-mail", text: "Confirmez votre adresse pour terminer la création de votre compte Startales.", action: "Confirmer mon adresse" },
      RESET_PASSWORD: { subject: "Réinitialisez votre mot de passe", text: "Quelqu'un a demandé à réinitialiser le mot de passe de votre compte Startales.", action: "Choisir un nouveau mot de passe" },
      CONFIRM_EMAIL_CHANGE: { subject: "Confirmez votre nouvelle adresse e-mail", text: "Confirmez cette adresse pour qu'elle devienne celle de votre compte Startales.", action: "Confirmer cette adresse" },
      EMAIL_CHANGE_NOTICE: { subject: "Votre adresse e-mail va changer", text: "Un changement de l'adresse e-mail de votre compte Startales a été demandé. Si ce n'est pas vous, réinitialisez votre mot de passe." },
      PASSWORD_CHANGED_NOTICE: { subject: "Votre mot de passe a été modifié", text: "Le mot de passe de votre compte Startales vient d'être modifié. Si ce n'est pas vous, réinitialisez votre mot de passe." },
    },
    campaign: {
      CAMPAIGN_STARTED: { subject: (c) => `${c} a commencé`, text: "La galaxie s'éveille : votre civilisation attend ses premiers ordres." },
      CAMPAIGN_PAUSED: { subject: (c) => `${c} est en pause`, text: "Le maître du jeu a mis la campagne en pause ; rien ne bouge jusqu'à sa reprise." },
      CAMPAIGN_RESUMED: { subject: (c) => `${c} a repris`, text: "Le temps s'écoule de nouveau dans la galaxie." },
      CAMPAIGN_ENDED: { subject: (c) => `${c} est terminée`, text: "La campagne est finie : voyez comment s'en est sortie votre civilisation." },
    },
    openGame: "Ouvrir Startales",
    digest: {
      subject: (n) => `Votre journée dans Startales : ${n} notification${n === 1 ? "" : "s"}`,
      intro: (n) => `Voici ce qui s'est passé aujourd'hui (${n} notification${n === 1 ? "" : "s"}) :`,
    },
  },
};

export const unsubscribeLine = (locale: EmailLocale) => WORDING[locale].unsubscribe;

/** Verification, reset, the change of address and the notices: identity's link, when the kind has one. */
export function accountMail(kind: AccountMailKind, locale: EmailLocale, params: AccountMailParams): EmailContent {
  const w = WORDING[locale];
  const text = w.account[kind];
  const blocks: EmailBlock[] = [
    { kind: "paragraph", text: w.greeting(params.displayName) },
    { kind: "paragraph", text: text.text },
  ];
  if (text.action && params.link) blocks.push({ kind: "action", label: text.action, href: params.link });
  if (params.expiresAt) blocks.push({ kind: "note", text: w.expires(params.expiresAt) });
  if (text.action) blocks.push({ kind: "note", text: w.ignore });
  return { subject: text.subject, blocks };
}

/** A campaign's lifecycle (CAMPAIGN_STARTED…), named by its game master. */
export function campaignMail(template: CampaignTemplate, locale: EmailLocale, params: { campaignName: string; link: string }): EmailContent {
  const w = WORDING[locale];
  const text = w.campaign[template];
  const subject = text.subject(params.campaignName);
  return {
    subject,
    blocks: [
      // The subject again: some clients show the body alone, and it is what the game master named.
      { kind: "paragraph", text: subject },
      { kind: "paragraph", text: text.text },
      { kind: "action", label: w.openGame, href: params.link },
    ],
  };
}

/** Any other notification (the operators' alerts, announcements): its own title and body, the frame localised. */
export function notificationMail(locale: EmailLocale, params: { title: string; body: string; link: string }): EmailContent {
  return {
    subject: params.title,
    blocks: [
      ...params.body.split(/\n{2,}/).map((text): EmailBlock => ({ kind: "paragraph", text })),
      { kind: "action", label: WORDING[locale].openGame, href: params.link },
    ],
  };
}

/** The day's notifications in one mail (digest/daily-digest.ts sends it at the player's digest time). */
/** `count`: how many the digest holds when it lists only the first of them (items). */
export function dailyDigestMail(locale: EmailLocale, params: { displayName: string; items: DigestItem[]; count?: number; link: string }): EmailContent {
  const w = WORDING[locale];
  return {
    subject: w.digest.subject(params.count ?? params.items.length),
    blocks: [
      { kind: "paragraph", text: w.greeting(params.displayName) },
      { kind: "paragraph", text: w.digest.intro(params.count ?? params.items.length) },
      ...params.items.flatMap((item): EmailBlock[] => [
        { kind: "paragraph", text: item.title },
        { kind: "note", text: item.body },
      ]),
      { kind: "action", label: w.openGame, href: params.link },
    ],
  };
}
