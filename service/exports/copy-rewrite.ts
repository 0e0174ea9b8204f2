// Rewrites one exported blob without some of its records, streaming: download, decode (JSON lines
// plain, gzipped or in a zip; CSV in a zip), drop records, encode the same way, stage the result as
// new blocks, and commit them over the blob only if something was dropped and the blob has not
// changed since it was read (If-Match). Kept records stay byte for byte. The commit marks the blob
// with the request that rewrote it, so a rewrite retried after a crash reports what it did.
import { once } from "node:events";
import { createInterface } from "node:readline";
import { PassThrough, pipeline, Readable } from "node:stream";
import { createGunzip, createGzip } from "node:zlib";
import type { BlockBlobClient } from "@azure/storage-blob";
import { parse as parseCsv } from "csv-parse";
import yauzl from "yauzl";
import { ZipFile } from "yazl";
import type { CopyFormat } from "../repositories/export-copies.ts";

/** Metadata a rewrite leaves on the blob: `<request id> <records removed>`. */
const REWRITTEN_BY = "pushplanerewrittenby";
/** Metadata holding when the export first wrote the blob: retention counts from then, not from a rewrite. */
export const EXPORTED_AT = "pushplaneexportedat";

const BLOCK_BYTES = 4 * 1024 * 1024;
const BLOCKS_IN_FLIGHT = 4;
/** The blob SDK's own block id length (48 characters before base64): all of a blob's block ids must be as long. */
const BLOCK_ID_CHARS = 48;

/** One record: its text as stored (kept as is), and its fields, parsed only when asked. */
export interface CopyRecord {
  readonly text: string;
  fields(): unknown;
}

/** `remaining` is null when this marker's rewrite had been committed before (the count is not known again). */
export type RewriteResult = { gone: true } | { gone: false; removed: number; remaining: number | null };

/** A readable over a zip's one entry (exports write one entry a zip), with the entry's name. */
async function zipEntry(bytes: Buffer): Promise<{ name: string; stream: Readable }> {
  const zip = await new Promise<yauzl.ZipFile>((resolve, reject) => yauzl.fromBuffer(bytes, { lazyEntries: true }, (error, file) => (error ? reject(error) : resolve(file))));
  const entry = await new Promise<yauzl.Entry>((resolve, reject) => {
    zip.once("entry", resolve);
    zip.once("error", reject);
    zip.once("end", () => reject(new Error("the zip holds no entry")));
    zip.readEntry();
  });
  const stream = await new Promise<Readable>((resolve, reject) => zip.openReadStream(entry, (error, readable) => (error ? reject(error) : resolve(readable))));
  return { name: entry.fileName, stream };
}

async function toBuffer(stream: Readable): Promise<Buffer> {
  const chunks: Buffer[] = [];
  for await (const chunk of stream) chunks.push(chunk as Buffer);
  return Buffer.concat(chunks);
}

/** The blob's records as text, decoded per format. */
async function decode(format: CopyFormat, body: Readable): Promise<{ text: Readable; entryName?: string }> {
  if (format === "jsonl") return { text: body };
  if (format === "jsonl.gz") return { text: pipeline(body, createGunzip(), () => {}) };
  const { name, stream } = await zipEntry(await toBuffer(body));
  return { text: stream, entryName: name };
}

/** Where kept records are written, and the encoded bytes that come out. */
function encoder(format: CopyFormat, entryName: string | undefined): { input: PassThrough; output: Readable } {
  if (format === "jsonl") {
    const through = new PassThrough();
    return { input: through, output: through };
  }
  if (format === "jsonl.gz") {
    const gzip = createGzip();
    return { input: gzip as unknown as PassThrough, output: gzip };
  }
  const zip = new ZipFile();
  const input = new PassThrough();
  zip.addReadStream(input, entryName ?? "export");
  zip.end();
  return { input, output: zip.outputStream as unknown as Readable };
}

/** The records of decoded text: a JSON object a line, or CSV rows keyed by the header (the header itself is always kept). */
async function* records(format: CopyFormat, text: Readable, writeHeader: (text: string) => Promise<void>): AsyncGenerator<CopyRecord> {
  if (format !== "csv.zip") {
    for await (const line of createInterface({ input: text, crlfDelay: Infinity })) {
      if (line === "") continue;
      yield { text: `${line}\n`, fields: () => JSON.parse(line) as unknown };
    }
    return;
  }
  let header: string[] | undefined;
  for await (const row of text.pipe(parseCsv({ raw: true, relax_column_count: true })) as AsyncIterable<{ record: string[]; raw: string }>) {
    if (!header) {
      header = row.record;
      await writeHeader(row.raw);
      continue;
    }
    const names = header;
    yield { text: row.raw, fields: () => Object.fromEntries(names.map((name, i) => [name, row.record[i] ?? ""])) };
  }
}

/** Stages the bytes as blocks of the blob, a few at a time; answers their ids in order. */
async function stageBlocks(blob: BlockBlobClient, output: Readable, marker: string): Promise<string[]> {
  const ids: string[] = [];
  const inFlight = new Set<Promise<void>>();
  const stage = async (bytes: Buffer) => {
    const id = Buffer.from(`${marker.padEnd(BLOCK_ID_CHARS - 12, "-").slice(0, BLOCK_ID_CHARS - 12)}${String(ids.length).padStart(12, "0")}`).toString("base64");
    ids.push(id);
    const staged: Promise<void> = blob.stageBlock(id, bytes, bytes.length).then(() => {
      inFlight.delete(staged);
    });
    // Observed here, awaited below: a stage failing while this function has thrown already is not unhandled.
    staged.catch(() => {});
    inFlight.add(staged);
    if (inFlight.size >= BLOCKS_IN_FLIGHT) await Promise.race(inFlight);
  };
  let pending: Buffer[] = [];
  let size = 0;
  for await (const chunk of output) {
    pending.push(chunk as Buffer);
    size += (chunk as Buffer).length;
    if (size >= BLOCK_BYTES) {
      await stage(Buffer.concat(pending));
      pending = [];
      size = 0;
    }
  }
  if (size > 0 || ids.length === 0) await stage(Buffer.concat(pending));
  await Promise.all(inFlight);
  return ids;
}

/**
 * Rewrites the blob keeping the records `keep` accepts. `marker` (the erasure's id) names the
 * staged blocks and the commit; a blob this marker rewrote already answers what it removed then.
 */
export async function rewriteBlob(blob: BlockBlobClient, format: CopyFormat, keep: (record: CopyRecord) => boolean, marker: string, signal?: AbortSignal): Promise<RewriteResult> {
  let download;
  try {
    download = await blob.download(0, undefined, { abortSignal: signal });
  } catch (error) {
    if ((error as { statusCode?: number }).statusCode === 404) return { gone: true };
    throw error;
  }
  const body = download.readableStreamBody as Readable;
  const metadata = download.metadata ?? {};
  const earlier = metadata[REWRITTEN_BY]?.split(" ");
  if (earlier?.[0] === marker) {
    body.destroy();
    return { gone: false, removed: Number(earlier[1]), remaining: null };
  }
  const { text, entryName } = await decode(format, body);
  const out = encoder(format, entryName);
  const staging = stageBlocks(blob, out.output, marker);
  // A failed stage stops the writer instead of leaving it waiting for a drain that never comes.
  staging.catch((error: unknown) => out.input.destroy(error as Error));
  const write = async (chunk: string) => {
    if (out.input.destroyed) throw out.input.errored ?? new Error("the rewrite stopped");
    if (!out.input.write(chunk)) await Promise.race([once(out.input, "drain"), once(out.input, "close")]);
  };
  let removed = 0;
  let remaining = 0;
  try {
    for await (const record of records(format, text, write)) {
      if (keep(record)) {
        remaining++;
        await write(record.text);
      } else removed++;
    }
    out.input.end();
  } catch (error) {
    out.input.destroy(error as Error);
    text.destroy();
    await staging.catch(() => {});
    throw error;
  }
  const blocks = await staging;
  // Nothing dropped: the staged blocks are never committed (the storage service discards them).
  if (removed === 0) return { gone: false, removed, remaining };
  await blob.commitBlockList(blocks, {
    conditions: { ifMatch: download.etag },
    blobHTTPHeaders: { blobContentType: download.contentType, blobContentEncoding: download.contentEncoding },
    metadata: { ...metadata, [EXPORTED_AT]: metadata[EXPORTED_AT] ?? (download.lastModified ?? new Date()).toISOString(), [REWRITTEN_BY]: `${marker} ${removed}` },
    abortSignal: signal,
  });
  return { gone: false, removed, remaining };
}
