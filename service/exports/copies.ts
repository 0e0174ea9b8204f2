// Exported copies of people's data: every export blob that holds devices, users or events is
// tracked with a keyed subject filter while it is written (subject-filter.ts), and an erasure
// reaches each blob whose filter may hold the subject: rewritten without the subject's records
// through a grant that allows read and write, deleted through one that allows only delete, or
// left pending (and retried) while none of the service's grants reaches it, with the date by which
// the container's retention removes it.
import type { ContainerClient } from "@azure/storage-blob";
import { asJsonText, identifiersOfRecord, parseSasPermissions, type DsrIdentifier, type ExportBlobOutcome } from "../../domain/index.ts";
import { redactSecrets, redactUrl, type Outbound } from "../outbound.ts";
import type { CopyFormat, ExportCopyRow, GrantKind } from "../repositories/export-copies.ts";
import type { Repositories } from "../repositories/index.ts";
import type { SecretBox } from "../secret-box.ts";
import { rewriteBlob, type RecordFilter } from "./copy-rewrite.ts";
import { SubjectFilterBuilder, mayHold } from "./subject-filter.mts";

const DAY = 86_400_000;

/** Where an export writes: the grant it writes with (a SAS URL or a connection string) and the container's URL without secrets. */
export interface CopyDestination {
  kind: GrantKind;
  grant: string;
  containerUrl: string;
}

/** A blob being written: add each record's identifiers to `filter`, then `written()` (or with a filter built elsewhere) or `failed()`. */
export interface TrackedCopy {
  readonly filter: SubjectFilterBuilder;
  written(built?: Uint8Array): void;
  failed(): void;
}

/** A grant the service holds for a container, and what it allows. */
interface Grant {
  client: ContainerClient;
  rewrite: boolean;
  delete: boolean;
  /** Why it cannot be used (expired), when it cannot. */
  unusable: string | null;
}

/** The key of an outcome in a receipt: a copy is done once its outcome is final. */
export const outcomeKey = (outcome: Pick<ExportBlobOutcome, "container" | "blobs">) => `${outcome.container} ${outcome.blobs[0]}`;

/** Outcomes after which the erasure does not come back to the blob. */
export const isFinal = (outcome: ExportBlobOutcome) => outcome.action !== "pending";

export class ExportedCopies {
  /** The key the subject filters hash with (derived from the service's secret key). */
  readonly filterKey: string;

  constructor(
    private readonly repositories: Repositories,
    private readonly box: SecretBox,
    private readonly outbound: Outbound,
  ) {
    this.filterKey = box.sign("export-subject-filter", "v1");
  }

  /** Starts tracking a blob an export is about to write (recorded first, so a crash mid-write leaves it tracked as "may hold anyone"). */
  track(appId: number, destination: CopyDestination, blobName: string, format: CopyFormat, companionBlob: string | null = null): TrackedCopy {
    const { exportCopies } = this.repositories;
    const id = exportCopies.begin({
      app_id: appId,
      container_url: destination.containerUrl,
      blob_name: blobName,
      companion_blob: companionBlob,
      format,
      grant_kind: destination.kind,
      grant_sealed: this.box.seal(destination.grant),
    });
    const filter = new SubjectFilterBuilder(this.filterKey);
    return { filter, written: (built) => exportCopies.setFilter(id, built ?? filter.build()), failed: () => exportCopies.abandon(id) };
  }

  /** The app's copies whose filter may hold any of the identifiers. */
  candidates(appId: number, identifiers: readonly DsrIdentifier[]): ExportCopyRow[] {
    return this.repositories.exportCopies.ofApp(appId).filter((copy) => mayHold(copy.filter, this.filterKey, identifiers));
  }

  /**
   * Erases the subject's records from each candidate copy not `done` yet, one outcome per copy
   * (`onOutcome` as each ends, so a crash repeats only what had not ended); answers the outcomes.
   */
  async erase(
    appId: number,
    identifiers: readonly DsrIdentifier[],
    marker: string,
    done: ReadonlySet<string>,
    onOutcome: (outcome: ExportBlobOutcome) => void,
    now = Date.now(),
  ): Promise<ExportBlobOutcome[]> {
    const copies = this.candidates(appId, identifiers).filter((copy) => !done.has(outcomeKey({ container: copy.container_url, blobs: [copy.blob_name] })));
    const outcomes: ExportBlobOutcome[] = [];
    // A few blobs at a time: each is a download and an upload.
    const queue = [...copies];
    const worker = async () => {
      for (let copy = queue.shift(); copy; copy = queue.shift()) {
        const outcome = await this.eraseFrom(copy, identifiers, marker, now);
        outcomes.push(outcome);
        onOutcome(outcome);
      }
    };
    await Promise.all(Array.from({ length: Math.min(4, copies.length) }, worker));
    return outcomes;
  }

  private async eraseFrom(copy: ExportCopyRow, identifiers: readonly DsrIdentifier[], marker: string, now: number): Promise<ExportBlobOutcome> {
    const policy = this.repositories.retentionPolicies.find(copy.app_id, copy.container_url);
    const retentionUntil = policy ? copy.written_at + policy.retention_days * DAY : null;
    const blobs = [copy.blob_name, ...(copy.companion_blob ? [copy.companion_blob] : [])];
    const outcome = (action: ExportBlobOutcome["action"], linesRemoved: number, reason: string | null = null): ExportBlobOutcome => ({
      container: copy.container_url,
      blobs,
      action: action === "pending" && retentionUntil !== null && retentionUntil <= now ? "left_to_retention" : action,
      lines_removed: linesRemoved,
      retention_until: retentionUntil === null ? null : new Date(retentionUntil).toISOString(),
      reason,
    });
    const grants = this.grantsFor(copy, policy?.sas_sealed ?? null, now);
    const writer = grants.find((grant) => grant.unusable === null && grant.rewrite);
    const deleter = grants.find((grant) => grant.unusable === null && grant.delete);
    if (!writer && !deleter) {
      const why = grants.map((grant) => grant.unusable).find((reason) => reason !== null);
      return outcome("pending", 0, why ?? `no grant the service holds for this container allows read and write (r, w) or delete (d): the StorageContainer resource grants them (run pulumi up)`);
    }
    try {
      if (!writer) {
        for (const name of blobs) await deleter!.client.deleteBlob(name, { deleteSnapshots: "include" }).catch(ignoreMissing);
        this.repositories.exportCopies.forget(copy.container_url, copy.blob_name);
        return outcome("deleted", 0, "the service's grants allow deleting this blob but not reading and rewriting it");
      }
      const removed = await this.rewrite(writer.client, copy, identifiers, marker);
      if (removed === null) {
        this.repositories.exportCopies.forget(copy.container_url, copy.blob_name);
        return outcome("gone", 0);
      }
      return outcome(removed === 0 ? "unchanged" : "rewritten", removed);
    } catch (error) {
      return outcome("pending", 0, describe(error, copy.container_url));
    }
  }

  /** Rewrites the copy (and its companion) without the subject's records; answers how many went (null: the blob is gone). */
  private async rewrite(client: ContainerClient, copy: ExportCopyRow, identifiers: readonly DsrIdentifier[], marker: string): Promise<number | null> {
    const subjects = subjectFilter(identifiers);
    // A raw event export's event properties go with the events removed from the events file.
    const removedEvents = new Set<string>();
    const main = await rewriteBlob(
      client.getBlockBlobClient(copy.blob_name),
      copy.format,
      {
        mayName: subjects.mayName,
        drops: (fields) => {
          if (!subjects.drops(fields)) return false;
          if (typeof fields.id === "string") removedEvents.add(fields.id);
          return true;
        },
      },
      marker,
    );
    if (main.gone) return null;
    if (copy.companion_blob && removedEvents.size > 0) {
      await rewriteBlob(client.getBlockBlobClient(copy.companion_blob), copy.format, { mayName: () => true, drops: (fields) => removedEvents.has(String(fields.event_id)) }, marker);
    }
    return main.removed;
  }

  /** The container's grants the service holds: its retention grant (renewed by the StorageContainer resource), then the one the export wrote with. */
  private grantsFor(copy: ExportCopyRow, retentionSealed: string | null, now: number): Grant[] {
    const grants: Grant[] = [];
    const fromSas = (sasUrl: string): Grant => {
      const url = new URL(sasUrl);
      const allowed = parseSasPermissions(url.searchParams.get("sp") ?? "") ?? [];
      const expiry = url.searchParams.get("se");
      return {
        client: this.outbound.containerClient("export grant", sasUrl),
        rewrite: allowed.includes("r") && allowed.includes("w"),
        delete: allowed.includes("d"),
        unusable: expiry && Date.parse(expiry) <= now ? `the service's grant for this container expired at ${expiry} (run pulumi up to renew it)` : null,
      };
    };
    if (retentionSealed) grants.push(fromSas(this.box.open(retentionSealed)));
    const own = this.box.open(copy.grant_sealed);
    if (copy.grant_kind === "sas") grants.push(fromSas(own));
    else {
      const container = decodeURIComponent(new URL(copy.container_url).pathname.split("/").filter(Boolean).at(-1)!);
      grants.push({ client: this.outbound.blobServiceFromConnectionString("connection_string", own).getContainerClient(container), rewrite: true, delete: true, unusable: null });
    }
    return grants;
  }
}

/** The subject's records: a byte search for any of its values first, its fields only where the bytes name one. */
function subjectFilter(identifiers: readonly DsrIdentifier[]): RecordFilter {
  const wanted = new Set(identifiers.map(({ type, value }) => `${type}\n${value}`));
  // Each value as JSON and CSV write it (either escape only lengthens a value, never splits it);
  // install ids compare in any case.
  const needles = [
    ...new Set(
      identifiers.flatMap(({ type, value }) =>
        [asJsonText(value), value.replaceAll('"', '""')].flatMap((form) => (type === "install_id" ? [form, form.toLowerCase(), form.toUpperCase()] : [form])),
      ),
    ),
  ].map((needle) => Buffer.from(needle));
  return {
    mayName: (bytes) => needles.some((needle) => bytes.includes(needle)),
    drops: (fields) => identifiersOfRecord(fields).some(({ type, value }) => wanted.has(`${type}\n${value}`)),
  };
}

const ignoreMissing = (error: unknown) => {
  if ((error as { statusCode?: number }).statusCode !== 404) throw error;
};

/** Why a blob could not be reached, without any secret. */
function describe(error: unknown, container: string): string {
  const e = error as { statusCode?: number; code?: string; message?: string; cause?: { code?: string } };
  if (e.statusCode === 403) return `the storage service refused the grant for ${container} (${e.code ?? "403"}): expired or revoked? (run pulumi up to renew it)`;
  if (e.statusCode === 412) return `the blob changed while it was being rewritten; rewritten again on the next attempt`;
  const network = e.code ?? e.cause?.code;
  if (network && /^E[A-Z]+$|REQUEST_SEND_ERROR/.test(network)) return `could not reach the storage service for ${redactUrl(container)} (${network})`;
  return `rewriting a blob in ${container} failed: ${redactSecrets((e.message ?? String(error)).split("\n")[0]!)}`;
}
