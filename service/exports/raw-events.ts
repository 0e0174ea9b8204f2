// Braze-style raw event stream export (seeds: Braze export, Raw Event Stream Export): the app's
// events in a window as two zipped CSV files, events and event properties, streamed a page at a
// time into "appboy-event-data/app_groups/APP_GROUP_ID/YYYY-mm-dd-HH-MM-events.csv.zip" and
// "…-event_properties.csv.zip".
import { once } from "node:events";
import { PassThrough, Readable } from "node:stream";
import type { ContainerClient } from "@azure/storage-blob";
import { stringify } from "csv-stringify/sync";
import { ZipFile } from "yazl";
import { identifiersOfRecord } from "../../domain/index.ts";
import type { Events } from "../repositories/events.ts";
import type { SubjectFilterBuilder } from "./subject-filter.mts";
import type { TrackedCopy } from "./copies.ts";

const PAGE = 10_000;

/** Braze's names for the events the SDK sends; custom events keep their own names. */
export const RAW_EVENT_NAMES: Record<string, string> = {
  session_start: "$session_started",
  session_end: "$session_ended",
  purchase: "$iap",
  push_opened: "$push_opened",
  uninstall: "$uninstalled",
};

/** Both CSV files' chunks, produced together from one pass over the events. */
function* csvPages(source: Events, appId: number, from: number, to: number, names: readonly string[] | undefined, onRows: (n: number) => void, filter: SubjectFilterBuilder): Generator<[string, string]> {
  const wanted = names && names.length > 0 ? new Set(names) : undefined;
  yield [
    stringify([["id", "time", "event_name", "external_user_id", "install_id", "notification_id", "product_id", "price", "currency"]]),
    stringify([["event_id", "key", "value"]]),
  ];
  let rows = 0;
  for (const batch of source.withUsersById(appId, from, to, PAGE)) {
    const events: unknown[][] = [];
    const properties: unknown[][] = [];
    for (const event of batch) {
      const name = event.type === "custom" ? event.name! : RAW_EVENT_NAMES[event.type]!;
      if (wanted && !wanted.has(name)) continue;
      events.push([event.id, new Date(event.occurred_at).toISOString(), name, event.user_id ?? "", event.install_id, event.notification_id ?? "", event.product_id ?? "", event.amount ?? "", event.currency ?? ""]);
      filter.add(identifiersOfRecord({ external_user_id: event.user_id ?? "", install_id: event.install_id }));
      for (const [key, value] of Object.entries(JSON.parse(event.properties ?? "{}") as Record<string, unknown>)) properties.push([event.id, key, String(value)]);
    }
    rows += events.length;
    onRows(rows);
    yield [stringify(events), stringify(properties)];
  }
}

/** A zip holding one entry, fed as the entry's content arrives, uploaded as it is produced. */
function zipUpload(container: ContainerClient, blobName: string, entryName: string) {
  const zip = new ZipFile();
  const entry = new PassThrough();
  zip.addReadStream(entry, entryName);
  zip.end();
  // Aborted when the other file's upload fails: a zip whose entry was destroyed never ends, and an
  // upload reading it would wait forever.
  const abort = new AbortController();
  const upload = container.getBlockBlobClient(blobName).uploadStream(zip.outputStream as unknown as Readable, 4 * 1024 * 1024, 2, {
    blobHTTPHeaders: { blobContentType: "application/zip" },
    abortSignal: abort.signal,
  });
  // A failed upload tears the zip's streams down with its error. The error is the upload's to report
  // (the run's reason); unheard on the entry it would be an uncaught 'error' event that ends the
  // process. Destroying the entry also wakes a writer waiting for it to drain.
  entry.on("error", () => {});
  zip.outputStream.on("error", () => {});
  upload.catch((error: unknown) => entry.destroy(error as Error));
  return { entry, upload, abort, output: zip.outputStream as unknown as Readable };
}

export async function exportRawEvents(
  source: Events,
  appId: number,
  appGroupId: string,
  window: { from: number; to: number },
  eventNames: readonly string[] | undefined,
  container: ContainerClient,
  prefix: string,
  progress: (rows: number) => void,
  /** Tracks the pair of files as one exported copy (copies.ts): the event properties go with their events. */
  track: (eventsBlob: string, propertiesBlob: string) => TrackedCopy,
): Promise<{ rows: number; files: string[] }> {
  const stamp = new Date(window.from).toISOString().slice(0, 16).replace("T", "-").replace(":", "-");
  const base = `${prefix}appboy-event-data/app_groups/${appGroupId}/${stamp}`;
  const files = [`${base}-events.csv.zip`, `${base}-event_properties.csv.zip`];
  const copy = track(files[0]!, files[1]!);
  const events = zipUpload(container, files[0]!, `${stamp}-events.csv`);
  const properties = zipUpload(container, files[1]!, `${stamp}-event_properties.csv`);
  let rows = 0;
  // Waiting for 'drain' rejects when the stream is destroyed instead (the upload failed).
  const write = async (stream: PassThrough, chunk: string) => {
    if (stream.destroyed) throw stream.errored ?? new Error("the upload stopped");
    if (!stream.write(chunk)) await once(stream, "drain");
  };
  try {
    for (const [eventChunk, propertyChunk] of csvPages(source, appId, window.from, window.to, eventNames, (n) => {
      rows = n;
      progress(n);
    }, copy.filter)) {
      await write(events.entry, eventChunk);
      await write(properties.entry, propertyChunk);
    }
    events.entry.end();
    properties.entry.end();
    await Promise.all([events.upload, properties.upload]);
    copy.written();
  } catch (error) {
    // One file may have been committed: the copy stays tracked, as "may hold anyone".
    for (const file of [events, properties]) {
      file.entry.destroy(error as Error);
      file.output.destroy(error as Error);
      file.abort.abort(error);
    }
    const uploads = await Promise.allSettled([events.upload, properties.upload]);
    // The storage's own reason (a refused SAS, an unreachable host) says more than a stream's.
    const refused = uploads.find((u): u is PromiseRejectedResult => u.status === "rejected");
    throw refused?.reason ?? error;
  }
  return { rows, files };
}
