// CloudKit-style data export tokens at rest: hashed values, each for one app, bundle id and dataset until it expires.
import type { DataExportDataset } from "../../domain/index.ts";
import type { Store } from "../store.ts";

export interface DataExportTokenRow {
  id: string;
  app_id: number;
  name: string;
  description: string | null;
  bundle_id: string;
  dataset: DataExportDataset;
  expires_at: number;
  created_at: number;
}

export class DataExportTokens {
  constructor(private readonly store: Store) {}

  /** Records a token, created now; only the hash of its value is stored. */
  insert(token: Omit<DataExportTokenRow, "created_at"> & { token_hash: string }): void {
    this.store.db
      .prepare("INSERT INTO data_export_tokens (id, app_id, token_hash, name, description, bundle_id, dataset, expires_at, created_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)")
      .run(token.id, token.app_id, token.token_hash, token.name, token.description, token.bundle_id, token.dataset, token.expires_at, Date.now());
  }

  /** The app's token by id, unless it expired by `now`. */
  findInApp(appId: number, id: string, now: number): DataExportTokenRow | undefined {
    return this.store.db.prepare("SELECT * FROM data_export_tokens WHERE id = ? AND app_id = ? AND expires_at > ?").get(id, appId, now) as DataExportTokenRow | undefined;
  }

  /** Deletes the app's token by id, unless it expired by `now`; answers whether it did. */
  revoke(appId: number, id: string, now: number): boolean {
    return Number(this.store.db.prepare("DELETE FROM data_export_tokens WHERE id = ? AND app_id = ? AND expires_at > ?").run(id, appId, now).changes) > 0;
  }

  /** The token with this hash, unless it expired by `now`. */
  findByHash(tokenHash: string, now: number): DataExportTokenRow | undefined {
    return this.store.db.prepare("SELECT * FROM data_export_tokens WHERE token_hash = ? AND expires_at > ?").get(tokenHash, now) as DataExportTokenRow | undefined;
  }
}
