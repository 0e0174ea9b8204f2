// Encrypts secrets the service must keep (push credentials, export SAS URLs) with AES-256-GCM under
// a key kept outside the database: PUSHPLANE_SECRET_KEY (32 bytes, base64), or a key file created
// with mode 0600 in the data directory.
import { createCipheriv, createDecipheriv, createHmac, randomBytes, timingSafeEqual } from "node:crypto";
import { existsSync, readFileSync, writeFileSync } from "node:fs";
import { join } from "node:path";

function loadKey(dataDir: string): Buffer {
  const fromEnv = process.env.PUSHPLANE_SECRET_KEY;
  if (fromEnv) {
    const key = Buffer.from(fromEnv, "base64");
    if (key.length !== 32) throw new Error("PUSHPLANE_SECRET_KEY must be 32 bytes, base64-encoded");
    return key;
  }
  const file = join(dataDir, "secret.key");
  if (!existsSync(file)) {
    try {
      writeFileSync(file, randomBytes(32).toString("base64"), { mode: 0o600, flag: "wx" });
    } catch (error) {
      // Another process created it first: use theirs.
      if ((error as NodeJS.ErrnoException).code !== "EEXIST") throw error;
    }
  }
  return Buffer.from(readFileSync(file, "utf8"), "base64");
}

export class SecretBox {
  private readonly key: Buffer;

  constructor(dataDir: string) {
    this.key = loadKey(dataDir);
  }

  seal(plaintext: string): string {
    const iv = randomBytes(12);
    const cipher = createCipheriv("aes-256-gcm", this.key, iv);
    const ciphertext = Buffer.concat([cipher.update(plaintext, "utf8"), cipher.final()]);
    return Buffer.concat([iv, cipher.getAuthTag(), ciphertext]).toString("base64");
  }

  /** An HMAC of `text` for signed URLs (a purpose prefix keeps signatures of different uses apart). */
  sign(purpose: string, text: string): string {
    return createHmac("sha256", this.key).update(`${purpose}\n${text}`).digest("base64url");
  }

  verify(purpose: string, text: string, signature: string): boolean {
    const expected = Buffer.from(this.sign(purpose, text));
    const given = Buffer.from(signature);
    return expected.length === given.length && timingSafeEqual(expected, given);
  }

  open(sealed: string): string {
    const raw = Buffer.from(sealed, "base64");
    const decipher = createDecipheriv("aes-256-gcm", this.key, raw.subarray(0, 12));
    decipher.setAuthTag(raw.subarray(12, 28));
    return Buffer.concat([decipher.update(raw.subarray(28)), decipher.final()]).toString("utf8");
  }
}
