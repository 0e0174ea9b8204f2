// Push credentials at rest: the secret field sealed by the SecretBox, only ever answered masked.
import {
  maskSecret,
  PUSH_CONFIG_SECRET_FIELD,
  secretFingerprint,
  type PushConfig,
  type PushConfigResult,
  type PushConfigType,
} from "../domain/index.ts";
import type { SecretBox } from "./secret-box.ts";
import type { AppKey, Store } from "./store.ts";

export class PushConfigStore {
  constructor(
    private readonly store: Store,
    private readonly box: SecretBox,
  ) {}

  set(key: AppKey, config: PushConfig): PushConfigResult {
    const secretField = PUSH_CONFIG_SECRET_FIELD[config.type];
    const secret = (config as Record<string, string>)[secretField]!;
    const publicFields = Object.fromEntries(Object.entries(config).filter(([field]) => field !== secretField && field !== "type"));
    this.store.db
      .prepare(
        `INSERT INTO push_configs (app_id, type, public_fields, secret_ciphertext, secret_fingerprint, updated_at) VALUES (?, ?, ?, ?, ?, ?)
         ON CONFLICT (app_id) DO UPDATE SET type = excluded.type, public_fields = excluded.public_fields,
           secret_ciphertext = excluded.secret_ciphertext, secret_fingerprint = excluded.secret_fingerprint, updated_at = excluded.updated_at`,
      )
      .run(this.store.appId(key), config.type, JSON.stringify(publicFields), this.box.seal(secret), secretFingerprint(secret), Date.now());
    return this.get(key)!;
  }

  private row(key: AppKey) {
    return this.store.db.prepare("SELECT * FROM push_configs WHERE app_id = ?").get(this.store.appId(key)) as
      | { type: PushConfigType; public_fields: string; secret_ciphertext: string; secret_fingerprint: string }
      | undefined;
  }

  /** The config with its secret masked, or undefined. */
  get(key: AppKey): PushConfigResult | undefined {
    const row = this.row(key);
    if (!row) return undefined;
    const secretField = PUSH_CONFIG_SECRET_FIELD[row.type];
    return {
      type: row.type,
      ...(JSON.parse(row.public_fields) as Record<string, string>),
      [secretField]: maskSecret(this.box.open(row.secret_ciphertext)),
      secret_fingerprint: row.secret_fingerprint,
    };
  }

  /** The plaintext config, for a sender that must authenticate to the push service. */
  credentials(key: AppKey): PushConfig | undefined {
    const row = this.row(key);
    if (!row) return undefined;
    return { type: row.type, ...(JSON.parse(row.public_fields) as object), [PUSH_CONFIG_SECRET_FIELD[row.type]]: this.box.open(row.secret_ciphertext) } as PushConfig;
  }

  delete(key: AppKey): boolean {
    return Number(this.store.db.prepare("DELETE FROM push_configs WHERE app_id = ?").run(this.store.appId(key)).changes) > 0;
  }
}
