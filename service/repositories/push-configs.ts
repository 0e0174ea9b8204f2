// Push credentials at rest, one per app: the public fields as JSON, the secret field sealed, with its fingerprint.
import type { PushConfigType } from "../../domain/index.ts";
import type { Store } from "../store.ts";

export interface PushConfigRow {
  type: PushConfigType;
  public_fields: string;
  secret_ciphertext: string;
  secret_fingerprint: string;
}

export class PushConfigs {
  constructor(private readonly store: Store) {}

  /** Stores the app's config, replacing any it had. */
  put(appId: number, config: PushConfigRow): void {
    this.store.db
      .prepare(
        `INSERT INTO push_configs (app_id, type, public_fields, secret_ciphertext, secret_fingerprint, updated_at) VALUES (?, ?, ?, ?, ?, ?)
         ON CONFLICT (app_id) DO UPDATE SET type = excluded.type, public_fields = excluded.public_fields,
           secret_ciphertext = excluded.secret_ciphertext, secret_fingerprint = excluded.secret_fingerprint, updated_at = excluded.updated_at`,
      )
      .run(appId, config.type, config.public_fields, config.secret_ciphertext, config.secret_fingerprint, Date.now());
  }

  find(appId: number): PushConfigRow | undefined {
    return this.store.db.prepare("SELECT * FROM push_configs WHERE app_id = ?").get(appId) as PushConfigRow | undefined;
  }

  delete(appId: number): boolean {
    return Number(this.store.db.prepare("DELETE FROM push_configs WHERE app_id = ?").run(appId).changes) > 0;
  }
}
