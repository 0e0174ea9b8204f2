// The one typed HTTP client every resource uses to talk to a pushplane (App Center dialect) service.
// Retries follow go-retryablehttp: connection errors, 408, 429 and 5xx except 501, capped exponential
// backoff with full jitter, Retry-After honoured; only idempotent methods (GET/PUT/HEAD/DELETE) retry.
import ky, { HTTPError, type KyInstance } from "ky";
import { z } from "zod";
import {
  audienceSchema,
  audienceTestResultSchema,
  pushConfigResultSchema,
  type Audience,
  type AudienceDefinitionBody,
  type DataExportTokenRequest,
  type PushConfig,
  type PushConfigResult,
} from "../domain/index.ts";

export interface ClientOptions {
  endpoint: string;
  apiToken: string;
  /** Attempts after the first; default 5. */
  retries?: number;
  /** Upper bound of one backoff or Retry-After wait, ms; default 30 s. */
  maxDelayMs?: number;
  timeoutMs?: number;
}

export interface AppRef {
  readonly owner: string;
  readonly app: string;
}

/** A non-2xx answer, carrying the service's {error:{code,message}}. */
export class PushplaneApiError extends Error {
  readonly status: number;
  readonly code: string;
  constructor(status: number, code: string, message: string, method: string, path: string) {
    super(`${method} ${path}: ${status} ${code}: ${message}`);
    this.name = "PushplaneApiError";
    this.status = status;
    this.code = code;
  }
}

const exportRunSchema = z.object({
  export_id: z.string(),
  job_id: z.string().nullable(),
  status: z.enum(["InProgress", "Completed", "Failed"]),
  rows_written: z.number(),
  total_rows: z.number().nullable(),
  percent: z.number().nullable(),
  blob_name: z.string().nullable(),
  error: z.string().nullable(),
});
export type ExportRunResult = z.infer<typeof exportRunSchema>;
const exportJobSchema = z.object({
  id: z.string(),
  kind: z.string(),
  options: z.record(z.string(), z.unknown()),
  schedule: z.string().nullable(),
  prefix: z.string(),
  container: z.string(),
  next_run_time: z.string().nullable(),
  last_run: exportRunSchema.nullable(),
});
export type ExportJobResult = z.infer<typeof exportJobSchema>;
export interface ExportJobBody {
  kind: string;
  options?: Record<string, unknown>;
  schedule?: string;
  blob_container_sas_uri: string;
  prefix?: string;
}

const dataExportTokenSchema = z.object({
  id: z.string(),
  name: z.string(),
  description: z.string().optional(),
  bundle_id: z.string(),
  dataset: z.string(),
  expires_at: z.string(),
  created_at: z.string(),
  token: z.string().optional(),
});
export type DataExportTokenResult = z.infer<typeof dataExportTokenSchema>;

const retentionPolicySchema = z.object({
  container: z.string(),
  retention_days: z.number(),
  grant_expires_at: z.string().nullable(),
  last_sweep_at: z.string().nullable(),
  last_sweep_deleted: z.number(),
  last_sweep_error: z.string().nullable(),
});
export type RetentionPolicyResult = z.infer<typeof retentionPolicySchema>;

const exportConfigurationSchema = z.object({
  id: z.string(),
  export_type: z.string(),
  creation_time: z.string(),
  last_run_time: z.string().optional(),
  export_entities: z.array(z.string()),
  state: z.enum(["Enabled", "Disabled", "Pending", "Deleted", "Invalid"]),
  state_info: z.string().optional(),
});
export type ExportConfigurationResult = z.infer<typeof exportConfigurationSchema>;

const errorBodySchema = z.object({ error: z.object({ code: z.string(), message: z.string() }) });

export class PushplaneClient {
  private readonly http: KyInstance;

  constructor(options: ClientOptions) {
    const maxDelayMs = options.maxDelayMs ?? 30_000;
    this.http = ky.create({
      prefix: options.endpoint.replace(/\/+$/, ""),
      headers: { "X-API-Token": options.apiToken, accept: "application/json" },
      timeout: options.timeoutMs ?? 30_000,
      retry: {
        limit: options.retries ?? 5,
        methods: ["get", "put", "head", "delete"],
        statusCodes: [408, 429, 500, 502, 503, 504],
        afterStatusCodes: [429, 503],
        maxRetryAfter: maxDelayMs,
        backoffLimit: maxDelayMs,
        delay: (attempt) => 250 * 2 ** (attempt - 1),
        jitter: true,
      },
    });
  }

  private static path(ref: AppRef, ...rest: string[]): string {
    return ["v0.1", "apps", ref.owner, ref.app, ...rest].map(encodeURIComponent).join("/");
  }

  private async call<T>(method: string, path: string, run: () => Promise<T>): Promise<T> {
    try {
      return await run();
    } catch (error) {
      if (error instanceof HTTPError) {
        const parsed = errorBodySchema.safeParse(typeof error.data === "string" ? safeJson(error.data) : error.data);
        const { code, message } = parsed.success ? parsed.data.error : { code: "Unknown", message: error.response.statusText };
        throw new PushplaneApiError(error.response.status, code, message, method, `/${path}`);
      }
      throw error;
    }
  }

  /** GET and parse; a 404 is "absent", not an error. */
  private async getIfExists<T>(path: string, schema: z.ZodType<T>): Promise<T | undefined> {
    try {
      return schema.parse(await this.call("GET", path, () => this.http.get(path).json()));
    } catch (error) {
      if (error instanceof PushplaneApiError && error.status === 404) return undefined;
      throw error;
    }
  }

  /** DELETE; true when deleted, false when it was already gone (404). */
  private async deleteIfExists(path: string): Promise<boolean> {
    const response = await this.call("DELETE", path, () => this.http.delete(path, { throwHttpErrors: (status) => status !== 404 }));
    return response.status !== 404;
  }

  getAudience(ref: AppRef, name: string): Promise<Audience | undefined> {
    return this.getIfExists(PushplaneClient.path(ref, "analytics", "audiences", name), audienceSchema);
  }

  async audienceExists(ref: AppRef, name: string): Promise<boolean> {
    const path = PushplaneClient.path(ref, "analytics", "audiences", name);
    const response = await this.call("HEAD", path, () => this.http.head(path, { throwHttpErrors: (status) => status !== 404 }));
    return response.status === 204;
  }

  async putAudience(ref: AppRef, name: string, body: AudienceDefinitionBody): Promise<Audience> {
    const path = PushplaneClient.path(ref, "analytics", "audiences", name);
    return audienceSchema.parse(await this.call("PUT", path, () => this.http.put(path, { json: body }).json()));
  }

  /**
   * Waits until the service has counted the audience (state leaves Calculating), polling with a
   * growing interval; after `timeoutMs` returns the audience as it stands.
   */
  async waitForCount(ref: AppRef, name: string, timeoutMs = 120_000): Promise<Audience | undefined> {
    const deadline = Date.now() + timeoutMs;
    for (let interval = 50; ; interval = Math.min(interval * 2, 2_000)) {
      const audience = await this.getAudience(ref, name);
      if (!audience || audience.state !== "Calculating" || Date.now() >= deadline) return audience;
      await new Promise((resolve) => setTimeout(resolve, interval));
    }
  }

  /** True when deleted, false when it was already gone. */
  deleteAudience(ref: AppRef, name: string): Promise<boolean> {
    return this.deleteIfExists(PushplaneClient.path(ref, "analytics", "audiences", name));
  }

  getPushConfig(ref: AppRef): Promise<PushConfigResult | undefined> {
    return this.getIfExists(PushplaneClient.path(ref, "push", "notifications_config"), pushConfigResultSchema);
  }

  async putPushConfig(ref: AppRef, config: PushConfig): Promise<PushConfigResult> {
    const path = PushplaneClient.path(ref, "push", "notifications_config");
    return pushConfigResultSchema.parse(await this.call("PUT", path, () => this.http.put(path, { json: config }).json()));
  }

  /** True when deleted, false when there was none. */
  deletePushConfig(ref: AppRef): Promise<boolean> {
    return this.deleteIfExists(PushplaneClient.path(ref, "push", "notifications_config"));
  }

  async createExportJob(ref: AppRef, body: ExportJobBody): Promise<ExportJobResult> {
    const path = PushplaneClient.path(ref, "export_jobs");
    // POST is not retried (not idempotent); a lost answer surfaces as an error, never a duplicate job.
    return exportJobSchema.parse(await this.call("POST", path, () => this.http.post(path, { json: body }).json()));
  }

  getExportJob(ref: AppRef, id: string): Promise<ExportJobResult | undefined> {
    return this.getIfExists(PushplaneClient.path(ref, "export_jobs", id), exportJobSchema);
  }

  async updateExportJob(ref: AppRef, id: string, body: ExportJobBody): Promise<ExportJobResult> {
    const path = PushplaneClient.path(ref, "export_jobs", id);
    return exportJobSchema.parse(await this.call("PUT", path, () => this.http.put(path, { json: body }).json()));
  }

  deleteExportJob(ref: AppRef, id: string): Promise<boolean> {
    return this.deleteIfExists(PushplaneClient.path(ref, "export_jobs", id));
  }

  getExportRun(ref: AppRef, runId: string): Promise<ExportRunResult | undefined> {
    return this.getIfExists(PushplaneClient.path(ref, "export_runs", runId), exportRunSchema);
  }

  async createDataExportToken(ref: AppRef, body: DataExportTokenRequest): Promise<DataExportTokenResult> {
    const path = PushplaneClient.path(ref, "data_export_tokens");
    return dataExportTokenSchema.parse(await this.call("POST", path, () => this.http.post(path, { json: body }).json()));
  }

  getDataExportToken(ref: AppRef, id: string): Promise<DataExportTokenResult | undefined> {
    return this.getIfExists(PushplaneClient.path(ref, "data_export_tokens", id), dataExportTokenSchema);
  }

  deleteDataExportToken(ref: AppRef, id: string): Promise<boolean> {
    return this.deleteIfExists(PushplaneClient.path(ref, "data_export_tokens", id));
  }

  async putRetentionPolicy(ref: AppRef, grantSasUrl: string, retentionDays: number): Promise<RetentionPolicyResult> {
    const path = PushplaneClient.path(ref, "retention_policies");
    return retentionPolicySchema.parse(
      await this.call("PUT", path, () => this.http.put(path, { json: { blob_container_sas_uri: grantSasUrl, retention_days: retentionDays } }).json()),
    );
  }

  getRetentionPolicy(ref: AppRef, containerUrl: string): Promise<RetentionPolicyResult | undefined> {
    return this.getIfExists(`${PushplaneClient.path(ref, "retention_policies")}?container=${encodeURIComponent(containerUrl)}`, retentionPolicySchema);
  }

  deleteRetentionPolicy(ref: AppRef, containerUrl: string): Promise<boolean> {
    return this.deleteIfExists(`${PushplaneClient.path(ref, "retention_policies")}?container=${encodeURIComponent(containerUrl)}`);
  }

  async createExportConfiguration(ref: AppRef, connectionString: string, exportEntities: string[]): Promise<ExportConfigurationResult> {
    const path = PushplaneClient.path(ref, "export_configurations");
    const body = { type: "blob_storage_connection_string", connection_string: connectionString, export_entities: exportEntities };
    return exportConfigurationSchema.parse(await this.call("POST", path, () => this.http.post(path, { json: body }).json()));
  }

  getExportConfiguration(ref: AppRef, id: string): Promise<ExportConfigurationResult | undefined> {
    return this.getIfExists(PushplaneClient.path(ref, "export_configurations", id), exportConfigurationSchema);
  }

  async patchExportConfiguration(ref: AppRef, id: string, patch: { connection_string?: string; export_entities?: string[] }): Promise<ExportConfigurationResult> {
    const path = PushplaneClient.path(ref, "export_configurations", id);
    return exportConfigurationSchema.parse(await this.call("PATCH", path, () => this.http.patch(path, { json: patch }).json()));
  }

  async setExportConfigurationEnabled(ref: AppRef, id: string, enabled: boolean): Promise<void> {
    const path = PushplaneClient.path(ref, "export_configurations", id, enabled ? "enable" : "disable");
    await this.call("POST", path, () => this.http.post(path));
  }

  deleteExportConfiguration(ref: AppRef, id: string): Promise<boolean> {
    return this.deleteIfExists(PushplaneClient.path(ref, "export_configurations", id));
  }

  async testDefinition(ref: AppRef, body: AudienceDefinitionBody) {
    const path = PushplaneClient.path(ref, "analytics", "audiences", "definition", "test");
    return audienceTestResultSchema.parse(await this.call("POST", path, () => this.http.post(path, { json: body }).json()));
  }
}

function safeJson(text: string): unknown {
  try {
    return JSON.parse(text);
  } catch {
    return undefined;
  }
}
