// Push credentials at rest: the secret field sealed by the SecretBox, only ever answered masked.
import {
  maskSecret,
  PUSH_CONFIG_SECRET_FIELD,
  secretFingerprint,
  type PushConfig,
  type PushConfigResult,
} from "../domain/index.ts";
import type { Repositories } from "./repositories/index.ts";
import type { PushConfigRow } from "./repositories/push-configs.ts";
import type { SecretBox } from "./secret-box.ts";
import type { AppKey } from "./store.ts";

export class PushConfigStore {
  constructor(
    private readonly repositories: Pick<Repositories, "apps" | "pushConfigs">,
    private readonly box: SecretBox,
  ) {}

  set(key: AppKey, config: PushConfig): PushConfigResult {
    const secretField = PUSH_CONFIG_SECRET_FIELD[config.type];
    const secret = (config as Record<string, string>)[secretField]!;
    const publicFields = Object.fromEntries(Object.entries(config).filter(([field]) => field !== secretField && field !== "type"));
    this.repositories.pushConfigs.put(this.repositories.apps.id(key), {
      type: config.type,
      public_fields: JSON.stringify(publicFields),
      secret_ciphertext: this.box.seal(secret),
      secret_fingerprint: secretFingerprint(secret),
    });
    return this.get(key)!;
  }

  private row(key: AppKey): PushConfigRow | undefined {
    return this.repositories.pushConfigs.find(this.repositories.apps.id(key));
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
    return this.repositories.pushConfigs.delete(this.repositories.apps.id(key));
  }
}
