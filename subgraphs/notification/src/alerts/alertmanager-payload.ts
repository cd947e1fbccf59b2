import { z } from "zod";

/**
 * Bounds of what the receiver reads. Alertmanager's `max_alerts` (the example sets 20) keeps
 * real payloads far below them; they exist so that a caller with the token cannot make one
 * request cost unbounded memory or an unbounded notification.
 */
export const ALERT_BODY_LIMIT_BYTES = 1024 * 1024;
export const MAX_ALERTS = 200;
const MAX_LABELS = 64;
const MAX_NAME = 256;
const MAX_LABEL_VALUE = 2_048;
const MAX_ANNOTATION = 8_192;
const MAX_URL = 2_048;

const labels = z
  .record(z.string().max(MAX_NAME, `names must be at most ${MAX_NAME} characters`), z.string().max(MAX_LABEL_VALUE, `values must be at most ${MAX_LABEL_VALUE} characters`))
  .refine((value) => Object.keys(value).length <= MAX_LABELS, `must have at most ${MAX_LABELS} entries`);
const annotations = z
  .record(z.string().max(MAX_NAME, `names must be at most ${MAX_NAME} characters`), z.string().max(MAX_ANNOTATION, `values must be at most ${MAX_ANNOTATION} characters`))
  .refine((value) => Object.keys(value).length <= MAX_LABELS, `must have at most ${MAX_LABELS} entries`);
const status = z.enum(["firing", "resolved"], { error: "must be firing or resolved" });
// Go's RFC 3339 with nanoseconds; a firing alert's endsAt is the zero time (0001-01-01T00:00:00Z).
const timestamp = z.iso.datetime({ offset: true, error: "must be an RFC 3339 time" });
// Empty when Alertmanager has no --web.external-url or a rule has no source.
const link = z.string().max(MAX_URL, `must be at most ${MAX_URL} characters`);

const alert = z.object({
  status,
  labels,
  annotations: annotations.default({}),
  startsAt: timestamp,
  endsAt: timestamp.optional(),
  generatorURL: link.default(""),
  fingerprint: z.string().min(1, "must not be empty").max(128, "must be at most 128 characters"),
});

/** Alertmanager's webhook payload, version 4 (https://prometheus.io/docs/alerting/latest/configuration/#webhook_config). */
export const alertmanagerPayload = z.object({
  version: z.literal("4", { error: 'must be "4" (Alertmanager\'s webhook payload version)' }),
  receiver: z.string().max(MAX_NAME, `must be at most ${MAX_NAME} characters`).default(""),
  status,
  groupKey: z.string().min(1, "must not be empty").max(MAX_URL, `must be at most ${MAX_URL} characters`),
  truncatedAlerts: z.number().int().min(0).default(0),
  groupLabels: labels.default({}),
  commonLabels: labels.default({}),
  commonAnnotations: annotations.default({}),
  externalURL: link.default(""),
  alerts: z.array(alert).min(1, "must have at least one alert").max(MAX_ALERTS, `must have at most ${MAX_ALERTS} alerts (set max_alerts in the webhook_config)`),
});
export type AlertmanagerPayload = z.infer<typeof alertmanagerPayload>;
