// The typed HTTP client of the service's contract (domain/api.ts), used by the provider and the CLI:
// every call names a route of the contract, so its method and path come from there and its answer is
// parsed with the contract's schema. Retries follow go-retryablehttp: connection errors, 408, 429 and
// 5xx except 501, capped exponential backoff with full jitter, Retry-After honoured; only idempotent
// methods (GET/PUT/HEAD/DELETE) retry.
import ky, { HTTPError, type KyInstance } from "ky";
import type { z } from "zod";
import {
  API,
  errorBodySchema,
  type ApiRoute,
  type ApiTokenInfo,
  type Audience,
  type AudienceDefinitionBody,
  type DataExportTokenRequest,
  type DataExportTokenResult,
  type DsrRecheck,
  type DsrRequestBody,
  type DsrResult,
  type DsrSubject,
  type ExportConfigurationResult,
  type ExportJobBody,
  type ExportJobResult,
  type ExportRunResult,
  type PushConfig,
  type PushConfigResult,
  type RetentionPolicyResult,
} from "../domain/index.ts";

export type { DataExportTokenResult, ExportConfigurationResult, ExportJobBody, ExportJobResult, ExportRunResult, RetentionPolicyResult };

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

type Route = (typeof API)[ApiRoute];
/** For the routes outside any app (their paths name no owner or app). */
const NO_APP: AppRef = { owner: "", app: "" };
/** The parsed answer of a route's success status. */
type Answer<R extends Route> = R["responses"][keyof R["responses"]] extends infer S ? (S extends z.ZodType ? z.output<S> : undefined) : never;

interface Call {
  /** Path parameters other than the app's. */
  params?: Record<string, string>;
  query?: Record<string, string>;
  body?: unknown;
}

export class PushplaneClient {
  private readonly http: KyInstance;

  constructor(options: ClientOptions) {
    const maxDelayMs = options.maxDelayMs ?? 30_000;
    this.http = ky.create({
      prefix: options.endpoint.replace(/\/+$/, ""),
      headers: { "X-API-Token": options.apiToken, accept: "application/json" },
      // A redirect is answered, never followed: the token would go along to wherever it points.
      redirect: "manual",
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

  /** The contract's path with the app's and the call's parameters, each URL-encoded. */
  private static path(route: Route, ref: AppRef, call: Call): string {
    const values: Record<string, string> = { owner_name: ref.owner, app_name: ref.app, ...call.params };
    const path = route.path.replace(/:(\w+)/g, (_, name: string) => encodeURIComponent(values[name]!)).slice(1);
    return call.query ? `${path}?${new URLSearchParams(call.query).toString()}` : path;
  }

  /**
   * Calls a route; answers the parsed success answer (`found`), or `found: false` for a 404 when
   * `absentOn404` (a GET of something gone, a DELETE of something already deleted).
   */
  private async send<N extends ApiRoute>(name: N, ref: AppRef, call: Call = {}, absentOn404 = false): Promise<{ found: boolean; answer: Answer<(typeof API)[N]> }> {
    const route: Route = API[name];
    const path = PushplaneClient.path(route, ref, call);
    try {
      const response = await this.http(path, {
        method: route.method,
        ...(call.body !== undefined ? { json: call.body } : {}),
        throwHttpErrors: (status) => !(absentOn404 && status === 404),
      });
      if (response.status === 404) return { found: false, answer: undefined as Answer<(typeof API)[N]> };
      const schema = Object.entries(route.responses).find(([status]) => Number(status) === response.status)?.[1] as z.ZodType | null | undefined;
      return { found: true, answer: (schema ? schema.parse(await response.json()) : undefined) as Answer<(typeof API)[N]> };
    } catch (error) {
      if (error instanceof HTTPError && error.response.status >= 300 && error.response.status < 400) {
        const location = error.response.headers.get("location") ?? "(no Location)";
        throw new PushplaneApiError(
          error.response.status,
          "Redirect",
          `the service answered with a redirect to ${location}, which pushplane does not follow (the API token would go along): set pushplane:endpoint to the address the service is served at`,
          route.method,
          `/${path}`,
        );
      }
      if (error instanceof HTTPError) {
        const parsed = errorBodySchema.safeParse(typeof error.data === "string" ? safeJson(error.data) : error.data);
        const { code, message } = parsed.success ? parsed.data.error : { code: "Unknown", message: error.response.statusText };
        throw new PushplaneApiError(error.response.status, code, message, route.method, `/${path}`);
      }
      throw error;
    }
  }

  /** The answer, or undefined when the route answered 404 (with `absentOn404`). */
  private async call<N extends ApiRoute>(name: N, ref: AppRef, call: Call = {}, absentOn404 = false): Promise<Answer<(typeof API)[N]> | undefined> {
    const { found, answer } = await this.send(name, ref, call, absentOn404);
    return found ? answer : undefined;
  }

  /** True when the route answered 2xx, false when 404 (deleted / already gone, exists / not). */
  private async found(name: ApiRoute, ref: AppRef, call: Call = {}): Promise<boolean> {
    return (await this.send(name, ref, call, true)).found;
  }

  getAudience(ref: AppRef, name: string): Promise<Audience | undefined> {
    return this.call("getAudience", ref, { params: { audience_name: name } }, true);
  }

  /** The presented token's id, description and scope (which apps it may touch). */
  async currentToken(): Promise<ApiTokenInfo> {
    return (await this.send("currentApiToken", NO_APP)).answer;
  }

  async audienceExists(ref: AppRef, name: string): Promise<boolean> {
    return this.found("audienceExists", ref, { params: { audience_name: name } });
  }

  async putAudience(ref: AppRef, name: string, body: AudienceDefinitionBody): Promise<Audience> {
    return (await this.call("putAudience", ref, { params: { audience_name: name }, body }))!;
  }

  /** True when deleted, false when it was already gone. */
  async deleteAudience(ref: AppRef, name: string): Promise<boolean> {
    return this.found("deleteAudience", ref, { params: { audience_name: name } });
  }

  async testDefinition(ref: AppRef, body: AudienceDefinitionBody) {
    return (await this.call("testAudience", ref, { body }))!;
  }

  getPushConfig(ref: AppRef): Promise<PushConfigResult | undefined> {
    return this.call("getPushConfig", ref, {}, true);
  }

  async putPushConfig(ref: AppRef, config: PushConfig): Promise<PushConfigResult> {
    return (await this.call("setPushConfig", ref, { body: config }))!;
  }

  /** True when deleted, false when there was none. */
  deletePushConfig(ref: AppRef): Promise<boolean> {
    return this.found("deletePushConfig", ref, {});
  }

  async createExportJob(ref: AppRef, body: ExportJobBody): Promise<ExportJobResult> {
    // POST is not retried (not idempotent); a lost answer surfaces as an error, never a duplicate job.
    return (await this.call("createExportJob", ref, { body }))!;
  }

  getExportJob(ref: AppRef, id: string): Promise<ExportJobResult | undefined> {
    return this.call("getExportJob", ref, { params: { job_id: id } }, true);
  }

  async updateExportJob(ref: AppRef, id: string, body: ExportJobBody): Promise<ExportJobResult> {
    return (await this.call("updateExportJob", ref, { params: { job_id: id }, body }))!;
  }

  deleteExportJob(ref: AppRef, id: string): Promise<boolean> {
    return this.found("deleteExportJob", ref, { params: { job_id: id } });
  }

  getExportRun(ref: AppRef, runId: string): Promise<ExportRunResult | undefined> {
    return this.call("getExportRun", ref, { params: { run_id: runId } }, true);
  }

  async createDataExportToken(ref: AppRef, body: DataExportTokenRequest): Promise<DataExportTokenResult> {
    return (await this.call("createDataExportToken", ref, { body }))!;
  }

  getDataExportToken(ref: AppRef, id: string): Promise<DataExportTokenResult | undefined> {
    return this.call("getDataExportToken", ref, { params: { token_id: id } }, true);
  }

  async createDataSubjectRequest(ref: AppRef, body: DsrRequestBody): Promise<DsrResult> {
    return (await this.call("createDataSubjectRequest", ref, { body }))!;
  }

  getDataSubjectRequest(ref: AppRef, id: string): Promise<DsrResult | undefined> {
    return this.call("getDataSubjectRequest", ref, { params: { request_id: id } }, true);
  }

  /** Undefined: no such request. */
  recheckDataSubjectRequest(ref: AppRef, id: string, subject: DsrSubject): Promise<DsrRecheck | undefined> {
    return this.call("recheckDataSubjectRequest", ref, { params: { request_id: id }, body: { subject } }, true);
  }

  deleteDataExportToken(ref: AppRef, id: string): Promise<boolean> {
    return this.found("deleteDataExportToken", ref, { params: { token_id: id } });
  }

  async putRetentionPolicy(ref: AppRef, grantSasUrl: string, retentionDays: number): Promise<RetentionPolicyResult> {
    return (await this.call("putRetentionPolicy", ref, { body: { blob_container_sas_uri: grantSasUrl, retention_days: retentionDays } }))!;
  }

  getRetentionPolicy(ref: AppRef, containerUrl: string): Promise<RetentionPolicyResult | undefined> {
    return this.call("getRetentionPolicy", ref, { query: { container: containerUrl } }, true);
  }

  deleteRetentionPolicy(ref: AppRef, containerUrl: string): Promise<boolean> {
    return this.found("deleteRetentionPolicy", ref, { query: { container: containerUrl } });
  }

  async createExportConfiguration(ref: AppRef, connectionString: string, exportEntities: string[]): Promise<ExportConfigurationResult> {
    const body = { type: "blob_storage_connection_string", connection_string: connectionString, export_entities: exportEntities };
    return (await this.call("createExportConfiguration", ref, { body }))!;
  }

  getExportConfiguration(ref: AppRef, id: string): Promise<ExportConfigurationResult | undefined> {
    return this.call("getExportConfiguration", ref, { params: { export_configuration_id: id } }, true);
  }

  async patchExportConfiguration(ref: AppRef, id: string, patch: { connection_string?: string; export_entities?: string[] }): Promise<ExportConfigurationResult> {
    return (await this.call("updateExportConfiguration", ref, { params: { export_configuration_id: id }, body: patch }))!;
  }

  async setExportConfigurationEnabled(ref: AppRef, id: string, enabled: boolean): Promise<void> {
    await this.call(enabled ? "enableExportConfiguration" : "disableExportConfiguration", ref, { params: { export_configuration_id: id } });
  }

  deleteExportConfiguration(ref: AppRef, id: string): Promise<boolean> {
    return this.found("deleteExportConfiguration", ref, { params: { export_configuration_id: id } });
  }
}

function safeJson(text: string): unknown {
  try {
    return JSON.parse(text);
  } catch {
    return undefined;
  }
}
