import { createHash } from "node:crypto";
import { request } from "node:http";
import { performance } from "node:perf_hooks";

/** tus 1.0's `Upload-Metadata`: `key base64(value)` pairs. */
export const tusMetadata = (values: Record<string, string>) =>
  Object.entries(values)
    .map(([key, value]) => `${key} ${Buffer.from(value).toString("base64")}`)
    .join(",");

/** A PATCH whose connection is cut once `sent` bytes of `part` are written, as a phone losing its network does. */
function cutPatch(location: string, headers: Record<string, string>, offset: number, part: Buffer, sent: number): Promise<void> {
  return new Promise((resolve) => {
    const req = request(location, {
      method: "PATCH",
      headers: { ...headers, "tus-resumable": "1.0.0", "upload-offset": String(offset), "content-type": "application/offset+octet-stream", "content-length": String(part.length) },
    });
    req.on("error", () => resolve());
    req.on("response", (res) => {
      res.resume();
      resolve();
    });
    req.write(part.subarray(0, sent), () => setTimeout(() => req.destroy(), 100));
  });
}

/** `body`: the last answer's, which holds the stored asset (`{ asset }`). */
export type ResumableResult = { seconds: number; mibPerS: number; parts: number; resumedAt: number | null; status: number; body: string };

/**
 * One file through `/content/uploads` (tus) in parts of `partBytes`: when `cutAt` is given, the
 * PATCH that would cross that offset is cut midway, the client asks (HEAD) where to resume and
 * sends the rest, as tus-js-client does. Timed from the first request to the final answer.
 * Used by bench:content and by the tests' content packs story.
 */
export async function resumableUpload(origin: string, headers: Record<string, string>, file: Buffer, options: { partBytes: number; cutAt?: number; kind: string }): Promise<ResumableResult> {
  const started = performance.now();
  const begun = await fetch(`${origin}/content/uploads`, {
    method: "POST",
    headers: { ...headers, "tus-resumable": "1.0.0", "upload-length": String(file.length), "upload-metadata": tusMetadata({ kind: options.kind, sha256: createHash("sha256").update(file).digest("hex") }) },
  });
  const location = begun.headers.get("location");
  if (begun.status !== 201 || !location) throw new Error(`a resumable upload was not begun: ${begun.status} ${await begun.text()}`);
  let offset = 0;
  let parts = 0;
  let resumedAt: number | null = null;
  let status = 0;
  let body = "";
  let cut = options.cutAt === undefined;
  while (offset < file.length) {
    const part = file.subarray(offset, Math.min(file.length, offset + options.partBytes));
    if (!cut && offset + part.length > options.cutAt!) {
      cut = true;
      await cutPatch(location, headers, offset, part, Math.max(1, options.cutAt! - offset));
      const head = await fetch(location, { method: "HEAD", headers: { ...headers, "tus-resumable": "1.0.0" } });
      offset = Number(head.headers.get("upload-offset"));
      resumedAt = offset;
      continue;
    }
    const answer = await fetch(location, {
      method: "PATCH",
      headers: { ...headers, "tus-resumable": "1.0.0", "upload-offset": String(offset), "content-type": "application/offset+octet-stream" },
      body: part,
    });
    parts++;
    status = answer.status;
    if (answer.status !== 204 && answer.status !== 201) throw new Error(`a part at ${offset} was answered ${answer.status}: ${await answer.text()}`);
    offset = Number(answer.headers.get("upload-offset") ?? offset + part.length);
    body = await answer.text();
  }
  const seconds = (performance.now() - started) / 1000;
  return { seconds, mibPerS: file.length / (1024 * 1024) / seconds, parts, resumedAt, status, body };
}
