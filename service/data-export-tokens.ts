// CloudKit-style data export tokens in the store (seeds: CloudKit broadcast-metrics export): the value
// is random, shown once and stored as a SHA-256 hash; a token is for one app, one bundle id and one
// dataset, until it expires.
import { randomBytes, randomUUID } from "node:crypto";
import type { DataExportDataset, DataExportTokenRequest, DataExportTokenResult } from "../domain/index.ts";
import { hashToken as hash } from "./auth.ts";
import type { AppKey, Store } from "./store.ts";

interface TokenRow {
  id: string;
  app_id: number;
  name: string;
  description: string | null;
  bundle_id: string;
  dataset: DataExportDataset;
  expires_at: number;
  created_at: number;
}

/** What a CloudKit route knows of the token presented. */
export interface PresentedToken {
  id: string;
  appId: number;
  bundleId: string;
  dataset: DataExportDataset;
}

const view = (row: TokenRow): DataExportTokenResult => ({
  id: row.id,
  name: row.name,
  ...(row.description ? { description: row.description } : {}),
  bundle_id: row.bundle_id,
  dataset: row.dataset,
  expires_at: new Date(row.expires_at).toISOString(),
  created_at: new Date(row.created_at).toISOString(),
});

export class DataExportTokens {
  constructor(private readonly store: Store) {}

  /** A new token; its value is in this answer only. */
  create(key: AppKey, request: DataExportTokenRequest): DataExportTokenResult {
    const token = `dxt_${randomBytes(32).toString("base64url")}`;
    const id = randomUUID();
    this.store.db
      .prepare("INSERT INTO data_export_tokens (id, app_id, token_hash, name, description, bundle_id, dataset, expires_at, created_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)")
      .run(id, this.store.appId(key), hash(token), request.name, request.description ?? null, request.bundle_id, request.dataset, Date.parse(request.expires_at), Date.now());
    return { ...this.get(key, id)!, token };
  }

  /** The app's token by id, unless it expired (an expired token is as good as gone). */
  get(key: AppKey, id: string): DataExportTokenResult | undefined {
    const row = this.store.db.prepare("SELECT * FROM data_export_tokens WHERE id = ? AND app_id = ? AND expires_at > ?").get(id, this.store.appId(key), Date.now()) as TokenRow | undefined;
    return row ? view(row) : undefined;
  }

  revoke(key: AppKey, id: string): boolean {
    return Number(this.store.db.prepare("DELETE FROM data_export_tokens WHERE id = ? AND app_id = ? AND expires_at > ?").run(id, this.store.appId(key), Date.now()).changes) > 0;
  }

  /** The unexpired token with this value, if any (lookup by hash). */
  presented(value: string | undefined): PresentedToken | undefined {
    if (!value) return undefined;
    const row = this.store.db.prepare("SELECT * FROM data_export_tokens WHERE token_hash = ? AND expires_at > ?").get(hash(value), Date.now()) as TokenRow | undefined;
    return row ? { id: row.id, appId: row.app_id, bundleId: row.bundle_id, dataset: row.dataset } : undefined;
  }
}
