import { X509Certificate } from "node:crypto";
import { Gauge } from "prom-client";
import type { Metrics } from "./metrics";

const NAME = "tls_certificate_expiry_timestamp_seconds";

/**
 * `tls_certificate_expiry_timestamp_seconds`: when the certificate this process serves TLS
 * with stops being valid (its leaf's notAfter, Unix seconds). Declared by every process,
 * with a sample only in those that serve TLS themselves, so an alert on it needs no
 * knowledge of which ones do. Certificates are read at start: a renewed one counts after a
 * restart, as it is served.
 */
export function exportCertificateExpiry(metrics: Metrics, certificate?: Buffer): void {
  let gauge = metrics.registry.getSingleMetric(NAME) as Gauge | undefined;
  if (!gauge) {
    gauge = new Gauge({ name: NAME, help: "When the TLS certificate this process serves expires (notAfter of its leaf), in Unix seconds", registers: [metrics.registry] });
    // A gauge without labels starts at 0, which would read as expired in 1970.
    gauge.remove();
  }
  if (certificate) gauge.set(Date.parse(new X509Certificate(certificate).validTo) / 1000);
}
