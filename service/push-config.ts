// Push credentials at rest: the secret field is encrypted with AES-256-GCM under a key kept outside
// the database (PUSHPLANE_SECRET_KEY, or a 0600 key file created in the data directory), and only
// ever answered masked.
import { createCipheriv, createDecipheriv, randomBytes } from "node:crypto";
import { existsSync, readFileSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import {
  maskSecret,
  PUSH_CONFIG_SECRET_FIELD,
  secretFingerprint,
  type PushConfig,
  type PushConfigResult,
  type PushConfigType,
} from "../domain/index.ts";
import type { AppKey, Store } from "./store.ts";

function loadKey(dataDir: string): Buffer {
  const fromEnv = process.env.PUSHPLANE_SECRET_KEY;
  if (fromEnv) {
    const key = Buffer.from(fromEnv, "base64");
    if (key.length !== 32) throw new Error("PUSHPLANE_SECRET_KEY must be 32 bytes, base64-encoded");
    return key;
  }
  const file = join(dataDir, "secret.key");
  if (!existsSync(file)) writeFileSync(file, randomBytes(32).toString("base64"), { mode: 0o600, flag: "wx" });
  return Buffer.from(readFileSync(file, "utf8"), "base64");
}

export class PushConfigStore {
  private readonly key: Buffer;

  constructor(private readonly store: Store) {
    this.key = loadKey(store.dataDir);
  }

  private encrypt(plaintext: string): string {
    const iv = randomBytes(12);
    const cipher = createCipheriv("aes-256-gcm", this.key, iv);
    const ciphertext = Buffer.concat([cipher.update(plaintext, "utf8"), cipher.final()]);
    return Buffer.concat([iv, cipher.getAuthTag(), ciphertext]).toString("base64");
  }

  private decrypt(stored: string): string {
    const raw = Buffer.from(stored, "base64");
    const decipher = createDecipheriv("aes-256-gcm", this.key, raw.subarray(0, 12));
    decipher.setAuthTag(raw.subarray(12, 28));
    return Buffer.concat([decipher.update(raw.subarray(28)), decipher.final()]).toString("utf8");
  }

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
      .run(this.store.appId(key), config.type, JSON.stringify(publicFields), this.encrypt(secret), secretFingerprint(secret), Date.now());
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
      [secretField]: maskSecret(this.decrypt(row.secret_ciphertext)),
      secret_fingerprint: row.secret_fingerprint,
    };
  }

  /** The plaintext config, for a sender that must authenticate to the push service. */
  credentials(key: AppKey): PushConfig | undefined {
    const row = this.row(key);
    if (!row) return undefined;
    return { type: row.type, ...(JSON.parse(row.public_fields) as object), [PUSH_CONFIG_SECRET_FIELD[row.type]]: this.decrypt(row.secret_ciphertext) } as PushConfig;
  }

  delete(key: AppKey): boolean {
    return Number(this.store.db.prepare("DELETE FROM push_configs WHERE app_id = ?").run(this.store.appId(key)).changes) > 0;
  }
}
