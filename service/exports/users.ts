// Braze-style user exports (seeds: Braze export): a user object per external id, built from the
// store — the user's devices, push tokens, custom attributes, custom events, purchases and app
// usage. Users by ids answers at once; users by segment (an audience) writes NDJSON part files,
// zipped or gzipped, under segment-export/SEGMENT_ID/YYYY-MM-dd/OBJECT_PREFIX/.
import { createGzip } from "node:zlib";
import { Readable } from "node:stream";
import type { ContainerClient } from "@azure/storage-blob";
import { ZipFile } from "yazl";
import { identifiersOfRecord } from "../../domain/index.ts";
import type { DeviceStore } from "../devices.ts";
import type { CopyFormat } from "../repositories/export-copies.ts";
import type { TrackedCopy } from "./copies.ts";
import type { Repositories } from "../repositories/index.ts";

export { USER_EXPORT_FIELDS, type UserExportField } from "../../domain/index.ts";
import type { UserExportField } from "../../domain/index.ts";

/** Where a user object's parts come from: the user's devices and their events. */
export type UserExportRepositories = Pick<Repositories, "deviceReads" | "events">;

/** Builds export objects for the given external ids of one app (ids with no device are left out). */
export function exportUsers(
  repositories: UserExportRepositories,
  devices: DeviceStore,
  appId: number,
  appName: string,
  userIds: readonly string[],
  fields?: readonly UserExportField[],
): Record<string, unknown>[] {
  if (userIds.length === 0) return [];
  const slots = [...devices.slots(appId)];
  const deviceRows = repositories.deviceReads.ofUsers(appId, userIds);
  const eventRows = repositories.events.activityOfUsers(appId, userIds);
  const iso = (ms: unknown) => new Date(Number(ms)).toISOString();
  const users = new Map<string, Record<string, unknown>>();
  for (const row of deviceRows) {
    const id = String(row.user_id);
    let user = users.get(id);
    if (!user) {
      user = { external_id: id, custom_attributes: {}, custom_events: [], purchases: [], devices: [], push_tokens: [], apps: [] };
      users.set(id, user);
    }
    const custom = user.custom_attributes as Record<string, unknown>;
    for (const [name, slot] of slots) {
      const value = row[slot.column];
      if (value == null || name in custom) continue;
      custom[name] = slot.type === "boolean" ? value === 1 : slot.type === "date_time" ? iso(value) : value;
    }
    (user.devices as unknown[]).push({ install_id: row.install_id, model: row.model ?? undefined, os: row.os_version ?? undefined, carrier: row.carrier_country ?? undefined });
    if (row.push_token) (user.push_tokens as unknown[]).push({ app: appName, platform: row.push_channel, token: row.push_token });
  }
  for (const row of eventRows) {
    const user = users.get(String(row.user_id));
    if (!user) continue;
    const entry = { name: row.name, first: iso(row.first), last: iso(row.last), count: row.count };
    if (row.type === "custom") (user.custom_events as unknown[]).push(entry);
    else if (row.type === "purchase") (user.purchases as unknown[]).push(entry);
    else (user.apps as unknown[]).push({ name: appName, sessions: row.count, first_used: entry.first, last_used: entry.last });
  }
  const chosen = fields && fields.length > 0 ? new Set<string>(["external_id", ...fields]) : undefined;
  return [...users.values()].map((user) => (chosen ? Object.fromEntries(Object.entries(user).filter(([k]) => chosen.has(k))) : user));
}

export type ArchiveFormat = "zip" | "gzip";

/** Packs one NDJSON part into a zip (one entry) or gzip buffer. */
async function pack(name: string, ndjson: string, format: ArchiveFormat): Promise<Buffer> {
  const chunks: Buffer[] = [];
  if (format === "gzip") {
    const gzip = createGzip();
    Readable.from([ndjson]).pipe(gzip);
    for await (const chunk of gzip) chunks.push(chunk as Buffer);
  } else {
    const zip = new ZipFile();
    zip.addBuffer(Buffer.from(ndjson, "utf8"), name);
    zip.end();
    for await (const chunk of zip.outputStream) chunks.push(chunk as Buffer);
  }
  return Buffer.concat(chunks);
}

const USERS_PER_PART = 5_000;

/**
 * Writes the users of a segment (the audience's members' external ids, in pages) as part files.
 * Memory holds one part at a time.
 */
export async function exportSegmentUsers(
  repositories: UserExportRepositories,
  devices: DeviceStore,
  appId: number,
  appName: string,
  memberUserIds: () => Iterable<string[]>,
  container: ContainerClient,
  prefix: string,
  format: ArchiveFormat,
  fields: readonly UserExportField[] | undefined,
  progress: (written: number) => void,
  /** Tracks each part as an exported copy (copies.ts). */
  track: (blobName: string, format: CopyFormat) => TrackedCopy,
): Promise<{ users: number; files: string[] }> {
  const files: string[] = [];
  let users = 0;
  for (const page of memberUserIds()) {
    for (let i = 0; i < page.length; i += USERS_PER_PART) {
      const batch = exportUsers(repositories, devices, appId, appName, page.slice(i, i + USERS_PER_PART), fields);
      const part = `part-${String(files.length).padStart(5, "0")}.json`;
      const name = `${prefix}${part}${format === "zip" ? ".zip" : ".gz"}`;
      const body = await pack(part, batch.map((u) => JSON.stringify(u)).join("\n") + (batch.length > 0 ? "\n" : ""), format);
      const copy = track(name, format === "zip" ? "jsonl.zip" : "jsonl.gz");
      for (const user of batch) copy.filter.add(identifiersOfRecord(user));
      try {
        await container.getBlockBlobClient(name).uploadData(body, { blobHTTPHeaders: { blobContentType: format === "zip" ? "application/zip" : "application/gzip" } });
      } catch (error) {
        copy.failed();
        throw error;
      }
      copy.written();
      files.push(name);
      users += batch.length;
      progress(users);
    }
  }
  return { users, files };
}
