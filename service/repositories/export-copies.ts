// Exported copies: the blobs exports wrote that hold people's data, with the grant that wrote them
// (sealed) and each one's subject filter (service/exports/subject-filter.ts).
import type { Store } from "../store.ts";

/** How a copy is written: JSON lines plain, gzipped or as a zip's one entry; CSV in a zip (raw events, with a companion). */
export const COPY_FORMATS = ["jsonl", "jsonl.gz", "jsonl.zip", "csv.zip"] as const;
export type CopyFormat = (typeof COPY_FORMATS)[number];

/** A container SAS URL, or a storage account connection string (continuous export). */
export type GrantKind = "sas" | "connection_string";

export interface ExportCopyRow {
  id: number;
  app_id: number;
  container_url: string;
  blob_name: string;
  /** A raw event export's event properties file: its lines go with the events they belong to. */
  companion_blob: string | null;
  format: CopyFormat;
  grant_kind: GrantKind;
  grant_sealed: string;
  filter: Uint8Array | null;
  written_at: number;
}

export type NewCopy = Omit<ExportCopyRow, "id" | "filter" | "written_at">;

export class ExportCopies {
  constructor(private readonly store: Store) {}

  /** Records a blob as being written (no filter: it may hold anyone until `setFilter`); a blob written again is recorded anew. */
  begin(copy: NewCopy, now = Date.now()): number {
    const row = this.store.db
      .prepare(
        `INSERT INTO export_copies (app_id, container_url, blob_name, companion_blob, format, grant_kind, grant_sealed, filter, written_at)
         VALUES (?, ?, ?, ?, ?, ?, ?, NULL, ?)
         ON CONFLICT (container_url, blob_name) DO UPDATE SET app_id = excluded.app_id, companion_blob = excluded.companion_blob, format = excluded.format,
           grant_kind = excluded.grant_kind, grant_sealed = excluded.grant_sealed, filter = NULL, written_at = excluded.written_at
         RETURNING id`,
      )
      .get(copy.app_id, copy.container_url, copy.blob_name, copy.companion_blob, copy.format, copy.grant_kind, copy.grant_sealed, now) as { id: number };
    return row.id;
  }

  setFilter(id: number, filter: Uint8Array): void {
    this.store.db.prepare("UPDATE export_copies SET filter = ? WHERE id = ?").run(filter, id);
  }

  /** The write failed before the blob was committed: nothing to track. */
  abandon(id: number): void {
    this.store.db.prepare("DELETE FROM export_copies WHERE id = ?").run(id);
  }

  ofApp(appId: number): ExportCopyRow[] {
    return this.store.db.prepare("SELECT * FROM export_copies WHERE app_id = ? ORDER BY id").all(appId) as unknown as ExportCopyRow[];
  }

  /** The blob is gone (retention deleted it, an erasure found it deleted). */
  forget(containerUrl: string, blobName: string): void {
    this.store.db.prepare("DELETE FROM export_copies WHERE container_url = ? AND (blob_name = ? OR companion_blob = ?)").run(containerUrl, blobName, blobName);
  }
}
