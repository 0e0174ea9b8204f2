// A Braze series as a file (the braze_series_export job kind): JSON lines — each point as the
// series' route answers it — or CSV with a header, nested values flattened into dotted columns
// (a campaign's `messages.android_push.sent`; its one-element arrays taken as their element).
import { stringify } from "csv-stringify/sync";
import type { SERIES_EXPORT_FORMATS } from "../../domain/index.ts";

type Format = (typeof SERIES_EXPORT_FORMATS)[number];

/** A point's leaves under dotted names, in the order they appear. */
function flatten(value: unknown, prefix: string, into: Map<string, unknown>): void {
  if (Array.isArray(value) && value.length === 1) return flatten(value[0], prefix, into);
  if (value !== null && typeof value === "object" && !Array.isArray(value)) {
    for (const [name, inner] of Object.entries(value)) flatten(inner, prefix ? `${prefix}.${name}` : name, into);
    return;
  }
  into.set(prefix, Array.isArray(value) ? JSON.stringify(value) : value);
}

/** The file's body and content type. */
export function seriesFile(points: readonly object[], format: Format): { body: string; contentType: string } {
  if (format === "jsonl") return { body: points.map((point) => `${JSON.stringify(point)}\n`).join(""), contentType: "application/x-ndjson" };
  const rows = points.map((point) => {
    const leaves = new Map<string, unknown>();
    flatten(point, "", leaves);
    return leaves;
  });
  // Columns: every name any point has, first seen first (a campaign's message types can differ by day only in name order).
  const columns = [...new Set(rows.flatMap((row) => [...row.keys()]))];
  const body = stringify([columns, ...rows.map((row) => columns.map((column) => row.get(column) ?? ""))]);
  return { body, contentType: "text/csv; charset=utf-8" };
}
