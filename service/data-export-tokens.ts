// CloudKit-style data export tokens in the store (seeds: CloudKit broadcast-metrics export): the value
// is random, shown once and stored as a SHA-256 hash; a token is for one app, one bundle id and one
// dataset, until it expires.
import { randomBytes, randomUUID } from "node:crypto";
import type { DataExportDataset, DataExportTokenRequest, DataExportTokenResult } from "../domain/index.ts";
import { hashToken as hash } from "./auth.ts";
import type { Repositories } from "./repositories/index.ts";
import type { DataExportTokenRow } from "./repositories/data-export-tokens.ts";
import type { AppKey } from "./store.ts";

/** What a CloudKit route knows of the token presented. */
export interface PresentedToken {
  id: string;
  appId: number;
  bundleId: string;
  dataset: DataExportDataset;
}

const view = (row: DataExportTokenRow): DataExportTokenResult => ({
  id: row.id,
  name: row.name,
  ...(row.description ? { description: row.description } : {}),
  bundle_id: row.bundle_id,
  dataset: row.dataset,
  expires_at: new Date(row.expires_at).toISOString(),
  created_at: new Date(row.created_at).toISOString(),
});

export class DataExportTokenService {
  constructor(private readonly repositories: Pick<Repositories, "apps" | "dataExportTokens">) {}

  /** A new token; its value is in this answer only. */
  create(key: AppKey, request: DataExportTokenRequest): DataExportTokenResult {
    const token = `dxt_${randomBytes(32).toString("base64url")}`;
    const id = randomUUID();
    this.repositories.dataExportTokens.insert({
      id,
      app_id: this.repositories.apps.id(key),
      token_hash: hash(token),
      name: request.name,
      description: request.description ?? null,
      bundle_id: request.bundle_id,
      dataset: request.dataset,
      expires_at: Date.parse(request.expires_at),
    });
    return { ...this.get(key, id)!, token };
  }

  /** The app's token by id, unless it expired (an expired token is as good as gone). */
  get(key: AppKey, id: string): DataExportTokenResult | undefined {
    const row = this.repositories.dataExportTokens.findInApp(this.repositories.apps.id(key), id, Date.now());
    return row ? view(row) : undefined;
  }

  revoke(key: AppKey, id: string): boolean {
    return this.repositories.dataExportTokens.revoke(this.repositories.apps.id(key), id, Date.now());
  }

  /** The unexpired token with this value, if any (lookup by hash). */
  presented(value: string | undefined): PresentedToken | undefined {
    if (!value) return undefined;
    const row = this.repositories.dataExportTokens.findByHash(hash(value), Date.now());
    return row ? { id: row.id, appId: row.app_id, bundleId: row.bundle_id, dataset: row.dataset } : undefined;
  }
}
