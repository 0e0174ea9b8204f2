// Checks a container SAS URL before any work is queued on it: that the outbound policy allows where
// it points, that it is signed, has not expired, and allows what the work needs. What only the
// storage service can tell (the container exists, the signature is valid) surfaces as the run's
// failure reason.
import { parseSasPermissions, SAS_PERMISSION_NAMES, type SasPermission } from "../../domain/index.ts";
import { ApiError } from "../errors.ts";
import type { Outbound } from "../outbound.ts";

export function checkSasUrl(outbound: Outbound, field: string, text: string, needs: readonly SasPermission[], now = Date.now()): URL {
  const url = outbound.checkUrl(field, text);
  const params = url.searchParams;
  if (!params.get("sig")) throw new ApiError("BadRequest", `${field}: the URL carries no SAS signature (sig)`);
  const expiry = params.get("se");
  // A service SAS names its expiry (se), or a stored access policy (si) that holds it.
  if (!expiry && !params.get("si")) throw new ApiError("BadRequest", `${field}: the SAS names no expiry (se) nor stored access policy (si)`);
  if (expiry && Number.isNaN(Date.parse(expiry))) throw new ApiError("BadRequest", `${field}: the SAS expiry (se) '${expiry.slice(0, 40)}' is not a date`);
  if (expiry && Date.parse(expiry) <= now) throw new ApiError("BadRequest", `${field}: the SAS expired at ${expiry}`);
  const granted = parseSasPermissions(params.get("sp") ?? "") ?? [];
  const missing = needs.filter((p) => !granted.includes(p));
  if (missing.length > 0) {
    const purpose = needs.includes("d") ? "enforcing retention" : "writing exports";
    throw new ApiError("BadRequest", `${field}: the SAS allows '${params.get("sp") ?? ""}' but ${purpose} needs ${missing.map((p) => `${SAS_PERMISSION_NAMES[p]} (${p})`).join(" and ")}`);
  }
  return url;
}
