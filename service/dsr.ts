// Data-subject requests (GDPR; seeds: "Export Push Data", "How To Delete End-User Data"): the
// seeds' manual procedure (export every device, search it, delete per device, audience and
// notification) as one durable request. An erasure removes, in one transaction, the subject's
// devices with their properties, events and deliveries; rewrites notifications that name the
// subject; deletes audiences whose definition names it (a definition cannot be rewritten without
// changing whom it selects) and rewrites those whose description alone does. Then it reaches the
// exported copies (exports/copies.ts): each export blob that may hold the subject is rewritten
// without the subject's records, retried while unreachable. It completes once that is done and the
// device-change images that still held the subject's rows have been taken in and dropped. The
// identifiers are held sealed while the request is open; afterwards only keyed hashes remain.
import { randomUUID } from "node:crypto";
import { asJsonText, dsrReceiptSchema, type UsersByIdJobOptions, eraseValues, type AccessDocument, type DsrRecheck, identifiersOf, LIMITS, namesAnyValue, type DsrReceipt, type DsrRequestBody, type DsrResult, type DsrSubject, type ExportBlobOutcome } from "../domain/index.ts";
import type { DeviceStore } from "./devices.ts";
import { ApiError } from "./errors.ts";
import { isFinal, outcomeKey, type ExportedCopies } from "./exports/copies.ts";
import { checkSasUrl } from "./exports/sas.ts";
import { exportUsers } from "./exports/users.ts";
import { redactSecrets, redactUrl, type Outbound } from "./outbound.ts";
import type { Repositories } from "./repositories/index.ts";
import type { DsrRequestRow } from "./repositories/dsr-requests.ts";
import type { SubjectDevice } from "./repositories/subject-data.ts";
import type { Runner } from "./runner.ts";
import type { SecretBox } from "./secret-box.ts";
import type { SqlWorkers } from "./sql-worker.ts";
import type { AppKey, Store } from "./store.ts";

const RUN = "dsr.run";
const DAY = 86_400_000;
/** How soon an erasure looks again whether the images holding the subject's rows are gone and the log can be truncated. */
const RECHECK_MS = 250;
/** How soon an erasure tries export blobs it could not reach again, by default. */
const BLOB_RETRY_MS = 15 * 60_000;

export interface DsrOptions {
  /** How soon an erasure tries export blobs it could not reach again; default 15 minutes. */
  blobRetryMs?: number | undefined;
}

/** The store part's outcome: the receipt, and the subject with the install ids of the devices it had. */
interface StoreErasure {
  receipt: DsrReceipt;
  subject: DsrSubject;
}

interface RunPayload {
  id: string;
  owner: string;
  app: string;
}

const iso = (ms: number | null) => (ms === null ? null : new Date(ms).toISOString());

/** The install ids the subject's devices had, and the text that names the subject: every identifier and those install ids. */
/**
 * What the erasure matches: the subject's identifiers as given and its devices' install ids (matched
 * as tokens in free text), and the user ids its devices carried, whichever identifier found them —
 * used only where a user id stands alone (a users-by-id job's list), never matched in free text,
 * where a short id ("42") would take unrelated audiences and notifications with it.
 */
function valuesOf(subject: DsrSubject, installIds: readonly string[], found: readonly SubjectDevice[]): { allInstallIds: string[]; userIds: string[]; values: string[] } {
  const allInstallIds = [...new Set([...installIds, ...found.map((device) => device.install_id)])];
  const userIds = [...new Set([subject.user_id, ...found.map((device) => device.user_id)].filter((id): id is string => typeof id === "string" && id !== ""))];
  return { allInstallIds, userIds, values: [...new Set([...identifiersOf(subject).map(({ value }) => value), ...allInstallIds])] };
}

export class DataSubjectRequests {
  constructor(
    private readonly store: Store,
    private readonly repositories: Repositories,
    private readonly devices: DeviceStore,
    private readonly box: SecretBox,
    private readonly runner: Runner,
    private readonly workers: SqlWorkers,
    private readonly copies: ExportedCopies,
    private readonly outbound: Outbound,
    private readonly options: DsrOptions = {},
  ) {
    runner.register<RunPayload>(RUN, { run: (payload) => this.run(payload), maxAttempts: 10 });
  }

  /** A keyed hash of one identifier: what receipts show, and what the policy pack compares. */
  hashOf(type: string, value: string): string {
    return `hmac-sha256:${this.box.sign("dsr-subject", `${type}\n${value}`)}`;
  }

  create(key: AppKey, body: DsrRequestBody): DsrResult {
    // An access request's container must take the document: checked before anything is recorded.
    if (body.kind === "access") checkSasUrl(this.outbound, "blob_container_sas_uri", body.blob_container_sas_uri!, ["c", "w"]);
    const id = this.store.transaction(() => this.insert(key, body));
    return this.get(key, id)!;
  }

  /** Records a request and queues its run (inside the caller's transaction); answers its id. */
  private insert(key: AppKey, body: DsrRequestBody): string {
    const appId = this.store.appId(key);
    const id = randomUUID();
    const now = Date.now();
    const hashes = identifiersOf(body.subject).map(({ type, value }) => ({ type, hash: this.hashOf(type, value) }));
    this.repositories.dsrRequests.insert({
      id,
      app_id: appId,
      kind: body.kind,
      subject_hashes: JSON.stringify(hashes),
      subject_sealed: this.box.seal(JSON.stringify(body.subject)),
      received_at: now,
      due_at: now + LIMITS.dsrAnswerDays.value * DAY,
      sas_sealed: body.kind === "access" ? this.box.seal(body.blob_container_sas_uri!) : null,
    });
    this.runner.enqueue(RUN, id, { appId, payload: { id, owner: key.owner, app: key.app } satisfies RunPayload });
    return id;
  }

  /**
   * App Center's `DELETE …/push/devices/{install_id}` (seeds: "How To Delete End-User Data"): an
   * erasure of that install id, its store part done before the answer (so the device is gone when
   * the caller looks), the rest (images, log) by the request's own run. False: no such device.
   */
  eraseDevice(key: AppKey, installId: string): boolean {
    const appId = this.store.appId(key);
    return this.store.transaction(() => {
      if (this.repositories.subjectData.devicesOf(appId, { userId: undefined, installIds: [installId], properties: [] }).length === 0) return false;
      const subject: DsrSubject = { install_ids: [installId] };
      const id = this.insert(key, { kind: "erasure", subject });
      this.repositories.dsrRequests.start(id, Date.now());
      this.recordErasure(id, appId, this.eraseFromStore(key, appId, subject));
      return true;
    });
  }

  get(key: AppKey, id: string): DsrResult | undefined {
    const row = this.repositories.dsrRequests.find(this.store.appId(key), id);
    return row ? toResult(row) : undefined;
  }

  /** The app's newest requests, at most `top`. */
  list(key: AppKey, top: number): DsrResult[] {
    return this.repositories.dsrRequests.list(this.store.appId(key), top).map(toResult);
  }

  /**
   * Whether an erased subject has come back (a new device with its user id, say): the devices that
   * hold any of its identifiers now. The caller names the subject again (the service keeps only
   * keyed hashes); a subject whose hashes are not the request's is refused, so this answers only
   * about the subject the request erased. Undefined: no such request.
   */
  async recheck(key: AppKey, id: string, subject: DsrSubject): Promise<DsrRecheck | undefined> {
    const appId = this.store.appId(key);
    const row = this.repositories.dsrRequests.find(appId, id);
    if (!row) return undefined;
    // Only an erased subject is checked again: anything else would answer about whoever is named.
    if (row.kind !== "erasure" || row.state !== "Completed") throw new ApiError("Conflict", `data-subject request '${id}' is ${row.kind === "erasure" ? row.state : "an access request"}: only a completed erasure's subject is checked again`);
    const given = identifiersOf(subject).map(({ type, value }) => `${type} ${this.hashOf(type, value)}`).sort();
    const held = (JSON.parse(row.subject_hashes) as { type: string; hash: string }[]).map(({ type, hash }) => `${type} ${hash}`).sort();
    if (given.join("\n") !== held.join("\n")) throw new ApiError("BadRequest", `subject: not the subject of data-subject request '${id}' (its keyed hashes differ)`);
    const { found } = this.devicesOfSubject(appId, subject, await this.candidatesOf(appId, subject));
    return { request_id: id, devices: found.length, checked_at: new Date().toISOString() };
  }

  /** Cancels a request that has not started; answers the request as it now is (undefined: no such request). */
  cancel(key: AppKey, id: string): { cancelled: boolean; request: DsrResult } | undefined {
    const appId = this.store.appId(key);
    const cancelled = this.store.transaction(() => {
      const done = this.repositories.dsrRequests.cancel(appId, id, Date.now());
      if (done) this.runner.cancel(RUN, id);
      return done;
    });
    const request = this.get(key, id);
    return request ? { cancelled, request } : undefined;
  }

  private async run({ id, owner, app }: RunPayload): Promise<void> {
    const key = { owner, app };
    const { dsrRequests, deviceChanges, exportRuns } = this.repositories;
    const appId = this.store.appId(key);
    let row = dsrRequests.find(appId, id);
    if (!row || row.state === "Completed" || row.state === "Failed" || row.state === "Cancelled") return;
    if (row.state === "Pending" && !dsrRequests.start(id, Date.now())) return;
    row = dsrRequests.find(appId, id)!;
    if (row.kind === "access") return this.answerAccess(key, row);
    const again = (delayMs: number) => this.runner.enqueue(RUN, id, { appId, payload: { id, owner, app }, runAt: Date.now() + delayMs });
    // The store part, once: a retry after a crash finds its receipt and goes on.
    if (row.receipt === null) {
      const subject = JSON.parse(this.box.open(row.subject_sealed!)) as DsrSubject;
      await this.eraseStoreData(key, subject, (erasure) => this.recordErasure(id, appId, erasure));
      row = dsrRequests.find(appId, id)!;
    }
    // The cheap waits come before the blob pass, which reads every copy's filter: a request that
    // waits is looked at again every RECHECK_MS. The images of the removed devices' rows go once
    // the count moves have taken them in. Exports that were writing when the store part committed
    // may have read the subject's data: their blobs are tracked once written, and reached then.
    if (row.erased_seq !== null && deviceChanges.anyThrough(appId, row.erased_seq)) return again(RECHECK_MS);
    if (row.erased_at !== null && exportRuns.inProgressCreatedBy(appId, row.erased_at)) return again(RECHECK_MS);
    const receipt = dsrReceiptSchema.parse(JSON.parse(row.receipt!));
    const pending = await this.eraseCopies(row.id, appId, JSON.parse(this.box.open(row.subject_sealed!)) as DsrSubject, receipt);
    if (pending.length > 0) {
      // Unreachable blobs are tried again until reached or removed by retention; one no retention
      // will remove, still unreachable when the answer is due, fails the request, saying which.
      const unbounded = pending.filter((outcome) => outcome.retention_until === null);
      if (unbounded.length > 0 && Date.now() > row.due_at) {
        dsrRequests.finish(id, { error: `${unbounded.length} export blob(s) could not be reached by the due date, and no retention removes them: ${unbounded.map((o) => `${o.container}/${o.blobs[0]} (${o.reason})`).join("; ")}` }, Date.now());
        return;
      }
      return again(this.options.blobRetryMs ?? BLOB_RETRY_MS);
    }
    // Then the log is checkpointed and truncated, so no earlier page version holds the rows (the
    // file's own deleted space is zeroed: secure_delete).
    if (!this.store.truncateLog()) return again(RECHECK_MS);
    dsrRequests.finish(id, { completed: true }, Date.now());
  }

  /**
   * An access request: the document of everything the store holds for the subject, read in one
   * transaction, written to the container; the receipt says where. A container that refuses it
   * ends the request Failed with the storage's reason (the request can be made again).
   */
  private async answerAccess(key: AppKey, row: DsrRequestRow): Promise<void> {
    const subject = JSON.parse(this.box.open(row.subject_sealed!)) as DsrSubject;
    const sasUrl = this.box.open(row.sas_sealed!);
    const appId = this.store.appId(key);
    const candidates = await this.candidatesOf(appId, subject);
    const document = this.store.transaction(() => this.accessDocument(key, appId, row, subject, candidates));
    const blob = `dsr-access/${row.id}.json`;
    const body = JSON.stringify(document, null, 2);
    try {
      await this.outbound.containerClient("blob_container_sas_uri", sasUrl).getBlockBlobClient(blob).upload(body, Buffer.byteLength(body), { blobHTTPHeaders: { blobContentType: "application/json" } });
    } catch (error) {
      const e = error as { statusCode?: number; code?: string; message?: string };
      const reason = e.statusCode === 403 ? "the storage service refused the SAS (expired, revoked, or without create and write permission)" : redactSecrets(e.code ?? (e.message ?? String(error)).split("\n")[0]!);
      this.repositories.dsrRequests.finish(row.id, { error: `the access document could not be written to ${redactUrl(sasUrl)}: ${reason}` }, Date.now());
      return;
    }
    const receipt: DsrReceipt = {
      devices: { found: document.devices.length, removed: 0 },
      events: { removed: 0 },
      notification_deliveries: { removed: 0 },
      notifications_rewritten: [],
      audiences_deleted: [],
      audiences_rewritten: [],
      export_jobs_rewritten: [],
      export_jobs_deleted: [],
      export_blobs: [],
      document: { container: redactUrl(sasUrl), blob },
      note: document.devices.length === 0 && document.audiences.length === 0 && document.notifications.length === 0 ? "the store holds nothing of this subject: the document lists nothing" : null,
    };
    this.store.transaction(() => {
      this.repositories.dsrRequests.updateReceipt(row.id, receipt);
      this.repositories.dsrRequests.finish(row.id, { completed: true }, Date.now());
    });
  }

  /** Everything the store holds for the subject (inside the caller's transaction). */
  accessDocument(key: AppKey, appId: number, row: Pick<DsrRequestRow, "id" | "subject_hashes">, subject: DsrSubject, candidates: readonly number[]): AccessDocument {
    const { subjectData, deviceReads } = this.repositories;
    const { found, installIds } = this.devicesOfSubject(appId, subject, candidates);
    const devices = deviceReads.exportLinesOf(appId, this.devices.slots(appId), found.map((device) => device.id)).map((line) => JSON.parse(line) as Record<string, unknown>);
    const { allInstallIds, values } = valuesOf(subject, installIds, found);
    const deliveries = subjectData.deliveriesOf(found.map((device) => device.id));
    const naming = this.notificationsNaming(appId, values);
    const notifications = subjectData.notificationsById(appId, [...new Set([...deliveries.map((d) => d.notification_id), ...naming.map((n) => n.id)])]);
    const userIds = [...new Set(devices.map((device) => device.user_id).filter((userId): userId is string => typeof userId === "string"))];
    return {
      request_id: row.id,
      generated_at: new Date().toISOString(),
      subject: JSON.parse(row.subject_hashes) as AccessDocument["subject"],
      devices,
      events: subjectData.eventsOf(appId, allInstallIds).map((event) => ({
        ...event,
        occurred_at: new Date(event.occurred_at).toISOString(),
        properties: event.properties === null ? null : (JSON.parse(event.properties) as Record<string, unknown>),
      })),
      notifications: notifications.map((notification) => ({
        id: notification.id,
        name: notification.name,
        content: JSON.parse(notification.content) as unknown,
        target: notification.target === null ? null : (JSON.parse(notification.target) as unknown),
        deliveries: deliveries.filter((d) => d.notification_id === notification.id).map(({ install_id, outcome }) => ({ install_id, outcome })),
      })),
      audiences: subjectData
        .audiencesNaming(key, values)
        .filter((audience) => namesAnyValue(`${audience.definition}\n${audience.description ?? ""}`, values))
        .sort((a, b) => a.name.localeCompare(b.name)),
      braze_users: exportUsers(this.repositories, this.devices, appId, `${key.owner}/${key.app}`, userIds),
    };
  }

  /** Erases the subject from the exported copies not reached yet; each outcome joins the receipt as it ends. Answers the copies still pending. */
  private async eraseCopies(id: string, appId: number, subject: DsrSubject, receipt: DsrReceipt): Promise<ExportBlobOutcome[]> {
    const done = new Set(receipt.export_blobs.filter(isFinal).map(outcomeKey));
    await this.copies.erase(appId, identifiersOf(subject), id, done, (outcome) => {
      receipt.export_blobs = [...receipt.export_blobs.filter((earlier) => outcomeKey(earlier) !== outcomeKey(outcome)), outcome];
      this.repositories.dsrRequests.updateReceipt(id, receipt);
    });
    return receipt.export_blobs.filter((outcome) => !isFinal(outcome));
  }

  /** Records the store part's outcome (inside the caller's transaction). */
  private recordErasure(id: string, appId: number, { receipt, subject }: StoreErasure): void {
    this.repositories.dsrRequests.recordErasure(id, {
      receipt: { ...receipt, note: receipt.note ?? this.nothingFoundNote(id, appId, receipt, subject) },
      erasedSeq: this.repositories.apps.lastDeviceChange(appId),
      subjectSealed: this.box.seal(JSON.stringify(subject)),
      at: Date.now(),
    });
  }

  /** When the store held nothing of the subject: why (an earlier erasure of it, or none). */
  private nothingFoundNote(id: string, appId: number, receipt: DsrReceipt, subject: DsrSubject): string | null {
    const touched =
      receipt.devices.found +
      receipt.events.removed +
      receipt.notification_deliveries.removed +
      receipt.notifications_rewritten.length +
      receipt.audiences_deleted.length +
      receipt.audiences_rewritten.length +
      receipt.export_jobs_rewritten.length +
      receipt.export_jobs_deleted.length;
    if (touched > 0) return null;
    const earlier = identifiersOf(subject).flatMap(({ type, value }) => this.repositories.dsrRequests.erasuresOf(appId, this.hashOf(type, value), id));
    if (earlier.length === 0) return "the store held nothing of this subject (no device, event, notification or audience named it)";
    const latest = earlier.reduce((a, b) => (a.finished_at >= b.finished_at ? a : b));
    return `the store held nothing of this subject: erasure ${latest.id} erased it on ${iso(latest.finished_at)}; nothing was found since`;
  }

  /**
   * Of these user ids, the ones a completed erasure in the app removed (the request that did, by
   * keyed hash): a users-by-id export job may not name them again, or `up` would undo the erasure.
   */
  erasedUserIds(key: AppKey, userIds: readonly string[]): { userId: string; requestId: string }[] {
    const appId = this.store.appId(key);
    return [...new Set(userIds)].flatMap((userId) => {
      const [latest] = this.repositories.dsrRequests.erasuresOf(appId, this.hashOf("user_id", userId), "");
      return latest ? [{ userId, requestId: latest.id }] : [];
    });
  }

  /**
   * The store part of an erasure: devices holding one of the values are found by a scan on a worker
   * thread first; then one transaction checks each candidate again, erases, and `record`s the outcome.
   */
  async eraseStoreData(key: AppKey, subject: DsrSubject, record: (erasure: StoreErasure) => void = () => {}): Promise<DsrReceipt> {
    const appId = this.store.appId(key);
    const candidates = await this.candidatesOf(appId, subject);
    return this.store.transaction(() => {
      const erasure = this.eraseFromStore(key, appId, subject, candidates);
      record(erasure);
      return erasure.receipt;
    });
  }

  /** The app's notifications whose name, content or target names one of the values: the store finds candidates by substring, a token match decides. */
  private notificationsNaming(appId: number, values: readonly string[]) {
    return this.repositories.subjectData
      .notificationsNaming(appId, values.map(asJsonText))
      .filter((notification) => namesAnyValue(notification.name, values) || namesAnyValue(`${notification.content}\n${notification.target ?? ""}`, values, asJsonText));
  }

  /** Devices holding one of the subject's custom property values: a scan of the app's attribute rows, on a worker thread. */
  private async candidatesOf(appId: number, subject: DsrSubject): Promise<number[]> {
    const properties = this.propertiesOf(appId, subject);
    if (properties.length === 0) return [];
    const scans = await this.workers.run(properties.map(({ column, value }) => this.repositories.subjectData.devicesWithValueQuery(appId, column, value)));
    return [...new Set(scans.flat().map((device) => device.id))];
  }

  /** The subject's devices now (by user id, install ids, and the candidates that still hold a value), and its install ids as given. */
  private devicesOfSubject(appId: number, subject: DsrSubject, candidates: readonly number[]): { found: SubjectDevice[]; installIds: string[] } {
    const installIds = (subject.install_ids ?? []).map((installId) => installId.toLowerCase());
    const found = this.repositories.subjectData.devicesOf(appId, { userId: subject.user_id, installIds, properties: this.propertiesOf(appId, subject) }, candidates);
    return { found, installIds };
  }

  /** The subject's custom property values by the app's column for each (a property the app never saw has none). */
  private propertiesOf(appId: number, subject: DsrSubject): { column: string; value: string }[] {
    const slots = this.devices.slots(appId);
    return Object.entries(subject.custom_properties ?? {}).flatMap(([name, value]) => {
      const slot = slots.get(name);
      return slot ? [{ column: slot.column, value }] : [];
    });
  }

  /**
   * A users-by-id export job names people by user id: the subject's ids are taken out of each job
   * (and of its runs' recorded options); a job left naming no one is deleted. Joins the erasure's transaction.
   */
  private eraseFromUsersByIdJobs(appId: number, userIds: readonly string[]): { rewritten: string[]; deleted: string[] } {
    const { exportJobs, exportRuns } = this.repositories;
    const rewritten: string[] = [];
    const deleted: string[] = [];
    if (userIds.length === 0) return { rewritten, deleted };
    for (const job of exportJobs.ofKind(appId, "users_by_id_export")) {
      const options = withoutUserIds(job.options, userIds);
      if (!options) continue;
      if (options.external_ids.length === 0) {
        exportJobs.delete(appId, job.id);
        deleted.push(job.id);
      } else {
        exportJobs.setOptions(job.id, JSON.stringify(options));
        rewritten.push(job.id);
      }
    }
    for (const run of exportRuns.optionsOfKind(appId, "users_by_id_export")) {
      const options = withoutUserIds(run.options, userIds);
      if (options) exportRuns.setOptions(run.id, JSON.stringify(options));
    }
    return { rewritten, deleted };
  }

  private eraseFromStore(key: AppKey, appId: number, subject: DsrSubject, candidates: readonly number[] = []): StoreErasure {
    const { subjectData, audiences } = this.repositories;
    const { found, installIds } = this.devicesOfSubject(appId, subject, candidates);
    const { allInstallIds, userIds, values } = valuesOf(subject, installIds, found);
    // The subject's own user id (not the user ids of the devices found: erasing a device leaves its user's other days).
    const events = subjectData.deleteEvents(appId, allInstallIds, subject.user_id === undefined ? [] : [subject.user_id]);
    const deliveries = subjectData.deleteDeliveries(found.map((device) => device.id));
    const removed = this.devices.removeDevices(key, found.map((device) => device.id));

    const notifications = this.notificationsNaming(appId, values);
    for (const notification of notifications) {
      subjectData.rewriteNotification(notification.id, {
        name: eraseValues(notification.name, values),
        content: eraseValues(notification.content, values, asJsonText),
        target: notification.target === null ? null : eraseValues(notification.target, values, asJsonText),
      });
    }
    const deleted: string[] = [];
    const rewritten: string[] = [];
    for (const audience of subjectData.audiencesNaming(key, values)) {
      if (namesAnyValue(audience.definition, values)) {
        audiences.delete(key, audience.name);
        deleted.push(audience.name);
      } else if (namesAnyValue(audience.description ?? "", values)) {
        subjectData.rewriteAudienceDescription(key, audience.name, eraseValues(audience.description ?? "", values));
        rewritten.push(audience.name);
      }
    }
    const jobs = this.eraseFromUsersByIdJobs(appId, userIds);
    return {
      receipt: {
        devices: { found: found.length, removed },
        events: { removed: events },
        notification_deliveries: { removed: deliveries },
        notifications_rewritten: notifications.map((notification) => notification.id).sort(),
        audiences_deleted: deleted.sort(),
        audiences_rewritten: rewritten.sort(),
        export_jobs_rewritten: jobs.rewritten.sort(),
        export_jobs_deleted: jobs.deleted.sort(),
        export_blobs: [],
        document: null,
        note: null,
      },
      // Exported copies are matched on the install ids the subject's devices had, too.
      subject: { ...subject, ...(allInstallIds.length > 0 ? { install_ids: allInstallIds } : {}) },
    };
  }
}

/** Takes user ids out of a users-by-id job's (or run's) options; undefined when the options name none of them. */
function withoutUserIds(options: string, userIds: readonly string[]): UsersByIdJobOptions | undefined {
  const parsed = JSON.parse(options) as UsersByIdJobOptions;
  if (!parsed.external_ids?.some((id) => userIds.includes(id))) return undefined;
  return { ...parsed, external_ids: parsed.external_ids.filter((id) => !userIds.includes(id)) };
}

/** Export blobs an erasure has not reached yet, in a sentence (the first reason stands for the rest). */
function waitingFor(pending: readonly ExportBlobOutcome[]): string {
  const bounded = pending.map((outcome) => outcome.retention_until).filter((until): until is string => until !== null);
  const latest = bounded.sort().at(-1);
  return `${pending.length} export blob(s) not reached yet (${pending[0]!.reason}); tried again until reached${latest && bounded.length === pending.length ? ` or removed by retention (by ${latest} at the latest)` : ""}`;
}

function toResult(row: DsrRequestRow): DsrResult {
  const receipt = row.receipt === null ? undefined : dsrReceiptSchema.parse(JSON.parse(row.receipt));
  const pending = receipt?.export_blobs.filter((outcome) => !isFinal(outcome)) ?? [];
  return {
    id: row.id,
    kind: row.kind,
    state: row.state,
    subject: JSON.parse(row.subject_hashes) as DsrResult["subject"],
    received_at: iso(row.received_at)!,
    due_at: iso(row.due_at)!,
    started_at: iso(row.started_at),
    finished_at: iso(row.finished_at),
    receipt: receipt ?? null,
    waiting_for: row.state === "Running" && pending.length > 0 ? waitingFor(pending) : null,
    error: row.error,
  };
}
