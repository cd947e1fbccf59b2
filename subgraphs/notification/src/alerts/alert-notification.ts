import { createHash } from "node:crypto";
import { MAX_DATA_BYTES } from "../domain/input";
import type { AlertmanagerPayload } from "./alertmanager-payload";

/** What every admin is told about one payload, and the key that makes it once per admin. */
export type AlertNotification = { title: string; body: string; data: Record<string, string | number | string[]>; sourceKey: string };

const MAX_TITLE = 120;
const MAX_BODY = 2_000;
const MAX_NAMES_IN_DATA = 10;

const cut = (text: string, max: number) => (text.length <= max ? text : `${text.slice(0, max - 1)}…`);

/**
 * The idempotency key of a payload: its group, its status and each alert's (fingerprint,
 * status, startsAt). Alertmanager sends a group again every `repeat_interval` and whenever
 * the group changes; a repeat has the same set (only endsAt moves), so it is the same key and
 * notifies no one twice, while an alert joining, resolving or firing anew (a new startsAt)
 * is a new key. Sorted, so the order Alertmanager lists alerts in does not matter.
 */
export function alertSourceKey(payload: AlertmanagerPayload): string {
  const alerts = payload.alerts.map((alert) => [alert.fingerprint, alert.status, alert.startsAt].join("\u0000")).sort();
  const digest = createHash("sha256").update(JSON.stringify([payload.groupKey, payload.status, alerts])).digest("base64url");
  return `alert:${digest}`;
}

/**
 * One notification per payload (an alert group at a status): "[FIRING] HighErrorRate (2)", the
 * summary and description its alerts share (else the first alert's), and in `data` what an
 * admin's client links to: the group, the alerts' names and fingerprints, Alertmanager's and
 * the rule's URLs, the runbook. `data` is kept within the 4 KB every notification's is.
 */
export function alertNotification(payload: AlertmanagerPayload): AlertNotification {
  const names = [...new Set(payload.alerts.map((alert) => alert.labels.alertname ?? "").filter(Boolean))];
  const name = payload.commonLabels.alertname ?? payload.groupLabels.alertname ?? (names.length > 0 ? names.join(", ") : "alerts");
  const firing = payload.alerts.filter((alert) => alert.status === "firing").length;
  const resolved = payload.alerts.length - firing;
  // A firing group counts what still fires (a group's resolved alerts ride along with it).
  const count = payload.status === "firing" ? firing : payload.alerts.length;
  const title = `[${payload.status.toUpperCase()}] ${name} (${count})`;

  const first = payload.alerts[0]!;
  const annotation = (key: string) => payload.commonAnnotations[key] ?? first.annotations[key];
  const text = [annotation("summary"), annotation("description")].filter((part): part is string => Boolean(part?.trim()));
  const body = text.length > 0 ? text.join("\n\n") : `${count} ${payload.status} alert${count === 1 ? "" : "s"}: ${names.join(", ") || name}`;

  const data: AlertNotification["data"] = {
    source: "alertmanager",
    groupKey: payload.groupKey,
    status: payload.status,
    alertNames: names.slice(0, MAX_NAMES_IN_DATA).map((alertName) => cut(alertName, 128)),
    firing,
    resolved,
    fingerprints: payload.alerts.map((alert) => alert.fingerprint).sort(),
  };
  if (payload.externalURL) data.externalURL = payload.externalURL;
  if (first.generatorURL) data.generatorURL = first.generatorURL;
  const runbook = annotation("runbook_url");
  if (runbook) data.runbookURL = runbook;
  return { title: cut(title, MAX_TITLE), body: cut(body, MAX_BODY), data: fitted(data), sourceKey: alertSourceKey(payload) };
}

/** Drops fingerprints, then shortens the longest strings, until the JSON fits MAX_DATA_BYTES. */
function fitted(data: AlertNotification["data"]): AlertNotification["data"] {
  const size = () => Buffer.byteLength(JSON.stringify(data));
  const fingerprints = data.fingerprints as string[];
  while (size() > MAX_DATA_BYTES && fingerprints.length > 0) fingerprints.pop();
  for (const key of ["runbookURL", "generatorURL", "externalURL", "groupKey"]) {
    if (size() <= MAX_DATA_BYTES) break;
    if (typeof data[key] === "string") data[key] = cut(data[key], 256);
  }
  return data;
}
