// Checks a container SAS URL before any work is queued on it: that it is one, that it has not
// expired, and that it allows what the export needs. What only the storage service can tell (the
// container exists, the signature is valid) surfaces as the run's failure reason.
import { AnonymousCredential, ContainerClient } from "@azure/storage-blob";
import { parseSasPermissions, SAS_PERMISSION_NAMES, type SasPermission } from "../../domain/index.ts";
import { ApiError } from "../errors.ts";

export function checkSasUrl(field: string, text: string, needs: readonly SasPermission[], now = Date.now()): URL {
  let url: URL;
  try {
    url = new URL(text);
  } catch {
    throw new ApiError("BadRequest", `${field}: not a URL; expected a container SAS URL such as https://account.blob.core.windows.net/container?sv=…&sig=…`);
  }
  const params = url.searchParams;
  if (!params.get("sig")) throw new ApiError("BadRequest", `${field}: the URL carries no SAS signature (sig)`);
  const expiry = params.get("se");
  if (expiry && Date.parse(expiry) <= now) throw new ApiError("BadRequest", `${field}: the SAS expired at ${expiry}`);
  const granted = parseSasPermissions(params.get("sp") ?? "") ?? [];
  const missing = needs.filter((p) => !granted.includes(p));
  if (missing.length > 0) {
    const purpose = needs.includes("d") ? "enforcing retention" : "writing exports";
    throw new ApiError("BadRequest", `${field}: the SAS allows '${params.get("sp") ?? ""}' but ${purpose} needs ${missing.map((p) => `${SAS_PERMISSION_NAMES[p]} (${p})`).join(" and ")}`);
  }
  return url;
}

/** A container client that fails fast: bounded retries and per-try timeouts, so a run never hangs. */
export function containerClient(url: URL): ContainerClient {
  return new ContainerClient(url.toString(), new AnonymousCredential(), {
    retryOptions: { maxTries: 3, tryTimeoutInMs: 60_000, retryDelayInMs: 200, maxRetryDelayInMs: 2_000 },
  });
}

/** The URL without its query: safe to log or show. */
export const redactSas = (url: URL): string => `${url.origin}${url.pathname}`;
