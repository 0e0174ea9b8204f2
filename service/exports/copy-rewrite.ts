// Rewrites one exported blob without some of its records, streaming: download, decode (JSON lines
// plain, gzipped or in a zip; CSV in a zip), drop records, encode the same way, stage the result as
// new blocks, and commit them over the blob only if something was dropped and the blob has not
// changed since it was read (If-Match). Kept records stay byte for byte. JSON lines pass through in
// whole chunks unless a chunk holds one of the values sought (a byte search), so a 100,000-line blob
// costs little more than its download and upload. The commit marks the blob with the request that
// rewrote it, so a rewrite retried after a crash reports what it did.
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
/** A rewritten blob up to this size is put in one request; a larger one is staged in blocks as it is produced. */
const SINGLE_PUT_BYTES = 64 * 1024 * 1024;
const BLOCKS_IN_FLIGHT = 4;
/** The blob SDK's own block id length (48 characters before base64): all of a blob's block ids must be as long. */
const BLOCK_ID_CHARS = 48;

/** What a rewrite drops: records whose text may name a value (`mayName`, a byte search) and whose fields `drops` accepts. */
export interface RecordFilter {
  mayName(bytes: Buffer): boolean;
  /** Fields of a JSON line, or of a CSV row keyed by its header. */
  drops(fields: Record<string, unknown>): boolean;
}

export type RewriteResult = { gone: true } | { gone: false; removed: number };

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

type Write = (bytes: Buffer | string) => Promise<void>;

/**
 * JSON lines: whole chunks pass through unless they hold a value sought; a chunk that does is split
 * into lines and each line that names a value is parsed and judged. Answers the records dropped.
 */
async function filterJsonLines(text: Readable, filter: RecordFilter, write: Write): Promise<number> {
  let removed = 0;
  let carry: Buffer = Buffer.alloc(0);
  const judge = async (bytes: Buffer) => {
    if (!filter.mayName(bytes)) return write(bytes);
    let keptFrom = 0;
    for (let start = 0; start < bytes.length; ) {
      const newline = bytes.indexOf(10, start);
      const end = newline < 0 ? bytes.length : newline + 1;
      const line = bytes.subarray(start, end);
      const text = line.toString("utf8").trim();
      if (text !== "" && filter.mayName(line) && filter.drops(JSON.parse(text) as Record<string, unknown>)) {
        if (start > keptFrom) await write(bytes.subarray(keptFrom, start));
        keptFrom = end;
        removed++;
      }
      start = end;
    }
    if (keptFrom < bytes.length) await write(bytes.subarray(keptFrom));
  };
  for await (const chunk of text) {
    const data = carry.length > 0 ? Buffer.concat([carry, chunk as Buffer]) : (chunk as Buffer);
    const end = data.lastIndexOf(10);
    if (end < 0) {
      carry = data;
      continue;
    }
    carry = data.subarray(end + 1);
    await judge(data.subarray(0, end + 1));
  }
  if (carry.length > 0) await judge(carry);
  return removed;
}

/** CSV rows keyed by the header (kept, like every row not dropped, as its raw text: a quoted field may span lines). */
async function filterCsv(text: Readable, filter: RecordFilter, write: Write): Promise<number> {
  let removed = 0;
  let header: string[] | undefined;
  for await (const row of text.pipe(parseCsv({ raw: true, relax_column_count: true })) as AsyncIterable<{ record: string[]; raw: string }>) {
    if (!header) header = row.record;
    else if (filter.mayName(Buffer.from(row.raw)) && filter.drops(Object.fromEntries(header.map((name, i) => [name, row.record[i] ?? ""])))) {
      removed++;
      continue;
    }
    await write(row.raw);
  }
  return removed;
}

/** The rewritten bytes: whole (one request puts them) or staged as blocks of the blob, in order. */
type Output = { whole: Buffer } | { blocks: string[] };

/**
 * Collects the bytes; past SINGLE_PUT_BYTES they are staged as blocks of the blob, a few at a time
 * (memory stays bounded). Below it, one put is cheaper than blocks and a commit.
 */
async function collect(blob: BlockBlobClient, output: Readable, marker: string): Promise<Output> {
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
  let staging = false;
  for await (const chunk of output) {
    pending.push(chunk as Buffer);
    size += (chunk as Buffer).length;
    if (!staging && size < SINGLE_PUT_BYTES) continue;
    staging = true;
    while (size >= BLOCK_BYTES) {
      const all = Buffer.concat(pending);
      await stage(all.subarray(0, BLOCK_BYTES));
      pending = [all.subarray(BLOCK_BYTES)];
      size = pending[0]!.length;
    }
  }
  if (!staging) return { whole: Buffer.concat(pending) };
  if (size > 0) await stage(Buffer.concat(pending));
  await Promise.all(inFlight);
  return { blocks: ids };
}

/**
 * Rewrites the blob keeping the records `keep` accepts. `marker` (the erasure's id) names the
 * staged blocks and the commit; a blob this marker rewrote already answers what it removed then.
 */
export async function rewriteBlob(blob: BlockBlobClient, format: CopyFormat, filter: RecordFilter, marker: string, signal?: AbortSignal): Promise<RewriteResult> {
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
    return { gone: false, removed: Number(earlier[1]) };
  }
  const { text, entryName } = await decode(format, body);
  const out = encoder(format, entryName);
  const staging = collect(blob, out.output, marker);
  // A failed stage stops the writer instead of leaving it waiting for a drain that never comes.
  staging.catch((error: unknown) => out.input.destroy(error as Error));
  const write: Write = async (bytes) => {
    if (out.input.destroyed) throw out.input.errored ?? new Error("the rewrite stopped");
    // once() rejects on 'error' too: a failed stage destroys the input with its error.
    if (!out.input.write(bytes)) await once(out.input, "drain");
  };
  let removed: number;
  try {
    removed = await (format === "csv.zip" ? filterCsv : filterJsonLines)(text, filter, write);
    out.input.end();
  } catch (error) {
    out.input.destroy(error as Error);
    text.destroy();
    await staging.catch(() => {});
    throw error;
  }
  const output = await staging;
  // Nothing dropped: nothing is written (staged blocks are never committed; the storage service discards them).
  if (removed === 0) return { gone: false, removed };
  const options = {
    conditions: { ifMatch: download.etag },
    blobHTTPHeaders: { blobContentType: download.contentType, blobContentEncoding: download.contentEncoding },
    metadata: { ...metadata, [EXPORTED_AT]: metadata[EXPORTED_AT] ?? (download.lastModified ?? new Date()).toISOString(), [REWRITTEN_BY]: `${marker} ${removed}` },
    abortSignal: signal,
  };
  if ("whole" in output) await blob.upload(output.whole, output.whole.length, options);
  else await blob.commitBlockList(output.blocks, options);
  return { gone: false, removed };
}
