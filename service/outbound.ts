// The single door for the service's outbound connections (container SAS URLs, callback endpoints,
// storage connection strings, retention grants): a URL is checked before anything is queued on it,
// and the addresses a name resolves to are checked again when a socket connects, so a tenant cannot
// aim the service at its own network, a cloud metadata endpoint or a port scan (SSRF).
//
// Rules, in the order they are applied (the first that fails names itself in the error):
//  1. https only. Plain http is allowed only to loopback hosts, and only with allowLoopback (Azurite
//     in development and tests).
//  2. No credentials in the URL (user:password@): they would be sent to whoever the host is.
//  3. An IP-literal host must be a public unicast address, in whatever notation it was written
//     (the WHATWG URL parser turns 2130706433, 0x7f.1, 0177.0.0.1 and 127.1 into 127.0.0.1 first,
//     and IPv6 forms that embed an IPv4 address are judged by the embedded address). Loopback passes
//     only with allowLoopback, and never in an IPv4-mapped IPv6 form.
//  4. The host must match allowedHosts (Azure Blob endpoints by default); with allowLoopback the
//     loopback names (localhost, *.localhost) and addresses pass too. The allowlist cannot override
//     rule 3: a private address stays refused even if an operator lists it.
//  5. The port must be the scheme's default, unless the matching allowlist entry names the port
//     ("hooks.example.com:8443") or the host is loopback under allowLoopback. Azure Blob endpoints
//     only listen on 443, and a free choice of port on an allowed host would still be a port scanner.
//  6. At connect time (the guarded agents' lookup) every address the name resolves to must pass
//     rule 3, which closes DNS rebinding and names that point at private addresses; the agents also
//     re-apply rules 1, 3, 4 and 5 to the destination so nothing that reaches them unchecked connects.
//  7. Redirects are not followed; connecting has connectTimeoutMs and every request
//     requestTimeoutMs (a whole answer for fetch, a silence for the storage SDK, whose uploads may
//     legitimately stream for longer).
import { AnonymousCredential, BlobServiceClient, ContainerClient, newPipeline, StorageSharedKeyCredential, type StoragePipelineOptions } from "@azure/storage-blob";
import dns from "node:dns";
import http from "node:http";
import https from "node:https";
import { isIP, type LookupFunction } from "node:net";
import type { Duplex } from "node:stream";
import { TLSSocket } from "node:tls";
import { classifyAddress, isLoopbackName, withoutBrackets, type AddressVerdict } from "../domain/index.ts";
import { TOKEN_PREFIX } from "./auth.ts";
import { ApiError } from "./errors.ts";

export interface OutboundPolicy {
  /** Host patterns: "*.example.com" matches one or more labels before example.com; anything else matches exactly; "host:port" also allows that port. */
  allowedHosts: string[];
  /** Development and tests only (Azurite): loopback hosts pass the allowlist and may use http. */
  allowLoopback: boolean;
  /** Name resolution plus TCP (and TLS) handshake. */
  connectTimeoutMs: number;
  /** fetch: the whole exchange; storage SDK: the longest silence on a connection (per try). */
  requestTimeoutMs: number;
}

export const AZURE_BLOB_HOST_PATTERNS: readonly string[] = Object.freeze([
  "*.blob.core.windows.net",
  "*.blob.core.chinacloudapi.cn",
  "*.blob.core.usgovcloudapi.net",
  "*.blob.storage.azure.net",
]);

export const defaultOutboundPolicy: Readonly<OutboundPolicy> = Object.freeze({
  allowedHosts: [...AZURE_BLOB_HOST_PATTERNS],
  allowLoopback: false,
  connectTimeoutMs: 10_000,
  requestTimeoutMs: 30_000,
});

/** Where Azurite listens when a connection string says UseDevelopmentStorage=true. */
export const DEVELOPMENT_STORAGE_ENDPOINT = "http://127.0.0.1:10000/devstoreaccount1";
// Azurite's published development account key (the same in every Azurite; not a secret).
const DEVELOPMENT_STORAGE_ACCOUNT = "devstoreaccount1";
const DEVELOPMENT_STORAGE_KEY = "Eby8vdM02xNOcqFlqUwJPLlmEtlCDXJ1OUzFT50uSRZ6IFsuFq2UVErCz4I6tq/K1SZFPTOtr/KBHBeksoGMGw==";

const MAX_URL_LENGTH = 8192;
/** fetch keeps at most this much of an answer: callers only need a status and a short reason. */
const MAX_FETCH_BODY_BYTES = 1 << 20;
const ALLOW_MORE_HINT = "an operator can allow more with --outbound-allow-host";

/** The error a guarded agent or lookup gives for a destination it will not connect to. */
export class OutboundRefusedError extends Error {
  // A code that no retry policy (storage's included) counts as transient: a refusal is final.
  readonly code = "EOUTBOUNDREFUSED";
  constructor(message: string) {
    super(message);
    this.name = "OutboundRefusedError";
  }
}

export interface OutboundFetchInit {
  method?: string;
  headers?: Record<string, string>;
  body?: string | Uint8Array;
  signal?: AbortSignal;
}

export interface OutboundResponse {
  status: number;
  /** 2xx only: a redirect (3xx) is not followed and counts as a failure. */
  ok: boolean;
  headers: http.IncomingHttpHeaders;
  /** The answer's body as UTF-8 (at most 1 MiB of it). */
  text(): Promise<string>;
}

// ---------------------------------------------------------------------------------------------
// Redaction

const SECRET_PARAMETER = /\b(sig|token|api_key|accountkey)=([^\s&;"'<>,)]*)/gi;
// A connection string's SharedAccessSignature value is itself a query (sv=…&sig=…): up to the next ';'.
const SHARED_ACCESS_SIGNATURE = /\b(sharedaccesssignature)=([^\s;"'<>]*)/gi;
const URL_USERINFO = /\b([a-z][a-z0-9+.-]*:\/\/)[^\s/?#@"'<>]*@/gi;
// An API token wherever it appears (a parameter name no rule knows, a path, free text).
const API_TOKEN = new RegExp(`\\b${TOKEN_PREFIX}[A-Za-z0-9_-]{16,}`, "g");

/** Free text with SAS signatures, tokens, account keys and URL credentials taken out (before storing or logging it). */
export function redactSecrets(text: string): string {
  return text
    .replace(SHARED_ACCESS_SIGNATURE, "$1=[redacted]")
    .replace(SECRET_PARAMETER, "$1=[redacted]")
    .replace(URL_USERINFO, "$1[redacted]@")
    .replace(API_TOKEN, `${TOKEN_PREFIX}[redacted]`);
}

/** A URL as it may be shown: origin and path, without credentials, query or fragment. */
export function redactUrl(url: URL | string): string {
  let parsed: URL;
  try {
    parsed = url instanceof URL ? url : new URL(url);
  } catch {
    return redactSecrets(String(url).replace(/[?#].*$/s, ""));
  }
  // Non-special schemes (file:, gopher:) have an opaque origin ("null"), so spell it out.
  return `${parsed.protocol}//${parsed.host}${parsed.pathname}`;
}

// ---------------------------------------------------------------------------------------------
// The policy

interface HostPattern {
  /** Lowercase, no trailing dot; for a wildcard, the part after "*.". */
  host: string;
  wildcard: boolean;
  /** A port the entry allows besides the scheme's default, or undefined for the default only. */
  port: string | undefined;
  text: string;
}

function parseHostPattern(entry: string): HostPattern {
  const text = entry.trim();
  const wildcard = text.startsWith("*.");
  const rest = wildcard ? text.slice(2) : text;
  let parsed: URL | undefined;
  try {
    parsed = /[/?#@\\*]/.test(rest) || rest === "" ? undefined : new URL(`https://${rest}`);
  } catch {
    parsed = undefined;
  }
  const host = parsed?.hostname.replace(/\.$/, "");
  if (!parsed || !host) throw new Error(`outbound policy: '${entry}' is not a host pattern (host, *.domain or host:port)`);
  // "*.com" would allow the whole TLD; a wildcard needs a registrable-looking suffix.
  if (wildcard && (!host.includes(".") || isIP(withoutBrackets(host)) !== 0)) {
    throw new Error(`outbound policy: '${entry}' is too broad; a wildcard needs at least two labels after '*.'`);
  }
  return { host, wildcard, port: parsed.port === "" ? undefined : parsed.port, text };
}

type Scheme = "https:" | "http:";
type ConnectionCallback = (error: Error | null, socket: Duplex) => void;
type CreateConnection = (options: http.ClientRequestArgs, callback?: ConnectionCallback) => Duplex | null | undefined;
const DEFAULT_PORT: Record<Scheme, string> = { "https:": "443", "http:": "80" };

/** Where a guarded agent is about to connect. */
interface Destination {
  scheme: Scheme;
  /** Lowercase, brackets kept for IPv6 (as URL.hostname spells it). */
  host: string;
  /** "" for the scheme's default. */
  port: string;
}

export class Outbound {
  readonly policy: Readonly<OutboundPolicy>;
  private readonly patterns: readonly HostPattern[];
  private sharedHttpAgent: http.Agent | undefined;
  private sharedHttpsAgent: https.Agent | undefined;

  constructor(policy: Partial<OutboundPolicy> = {}) {
    // An option given as undefined (an unset flag) keeps its default rather than erasing it.
    const given = Object.fromEntries(Object.entries(policy).filter(([, value]) => value !== undefined)) as Partial<OutboundPolicy>;
    const merged = { ...defaultOutboundPolicy, ...given };
    for (const name of ["connectTimeoutMs", "requestTimeoutMs"] as const) {
      if (!Number.isFinite(merged[name]) || merged[name] <= 0) throw new Error(`outbound policy: ${name} must be a positive number of milliseconds (got ${merged[name]})`);
    }
    this.policy = Object.freeze({ ...merged, allowedHosts: [...merged.allowedHosts] });
    this.patterns = merged.allowedHosts.map(parseHostPattern);
  }

  /** Checks a URL without touching the network; throws a 400 that names the field and the rule. */
  checkUrl(field: string, text: string): URL {
    const refuse = (rule: string) => new ApiError("BadRequest", `${field}: ${rule}`);
    if (text.length > MAX_URL_LENGTH) throw refuse(`the URL is longer than ${MAX_URL_LENGTH} characters`);
    let url: URL;
    try {
      url = new URL(text.trim());
    } catch {
      // The text is not echoed: it may be a SAS URL with its signature.
      throw refuse("not a valid absolute URL");
    }
    if (url.protocol !== "https:" && url.protocol !== "http:") throw refuse(`only https URLs are allowed (got '${url.protocol.slice(0, 24)}')`);
    if (url.username !== "" || url.password !== "") throw refuse("the URL must not carry credentials (user:password@)");
    const refusal = this.destinationRefusal({ scheme: url.protocol, host: url.hostname, port: url.port });
    if (refusal) throw refuse(refusal);
    return url;
  }

  /**
   * Checks the blob endpoint an Azure storage connection string implies (BlobEndpoint, or
   * DefaultEndpointsProtocol://AccountName.blob.EndpointSuffix; UseDevelopmentStorage=true is
   * Azurite on loopback) and returns it. Messages name keys, never values.
   */
  checkConnectionString(field: string, text: string): URL {
    return this.parseConnectionString(field, text).endpoint;
  }

  /**
   * Resolves the URL's host and refuses it if any address is not allowed (a name pointing at a
   * private address). Advisory, for an early 400: the guarded agents repeat the check on the
   * addresses they actually connect to, which is what defeats DNS rebinding.
   */
  async resolveAndCheck(url: URL, field = "url"): Promise<string[]> {
    this.checkUrl(field, url.href);
    const scheme: Scheme = url.protocol === "http:" ? "http:" : "https:";
    const host = withoutBrackets(url.hostname);
    // An IP literal has nothing to resolve, and checkUrl has judged its address.
    if (isIP(host)) return [host];
    let addresses: dns.LookupAddress[];
    try {
      addresses = await dns.promises.lookup(host, { all: true });
    } catch (error) {
      throw new ApiError("BadRequest", `${field}: host '${host}' could not be resolved (${(error as NodeJS.ErrnoException).code ?? "lookup failed"})`);
    }
    const refusal = this.addressesRefusal(scheme, host, addresses);
    if (refusal) throw new ApiError("BadRequest", `${field}: ${refusal}`);
    return addresses.map((entry) => entry.address);
  }

  /**
   * dns.lookup with the address rules applied to every answer, for net.connect / http.Agent:
   * a name is refused if any of its addresses is private, link-local, … (loopback only with
   * allowLoopback). IP-literal hosts never reach a lookup, which is why checkUrl covers them.
   */
  readonly lookup: LookupFunction = (hostname, options, callback) => this.guardedLookup("https:", hostname, options, callback);

  /** The shared agent for http (loopback under allowLoopback only), with the guarded lookup and timeouts. */
  httpAgent(): http.Agent {
    return (this.sharedHttpAgent ??= this.createAgent("http:"));
  }

  /** The shared agent for https, with the guarded lookup and timeouts. */
  httpsAgent(): https.Agent {
    return (this.sharedHttpsAgent ??= this.createAgent("https:") as https.Agent);
  }

  /**
   * One request, checked: redirects are returned as they are (not followed), connecting is bounded
   * by connectTimeoutMs and the whole exchange by requestTimeoutMs (and the caller's signal). Errors
   * name the URL by origin and path only.
   */
  async fetch(field: string, target: string | URL, init: OutboundFetchInit = {}): Promise<OutboundResponse> {
    const url = this.checkUrl(field, target instanceof URL ? target.href : target);
    const method = (init.method ?? "GET").toUpperCase();
    const where = `${field}: ${method} ${redactUrl(url)}`;
    if (init.signal?.aborted) throw init.signal.reason ?? new Error(`${where} was cancelled`);
    const deadline = AbortSignal.timeout(this.policy.requestTimeoutMs);
    const signal = init.signal ? AbortSignal.any([init.signal, deadline]) : deadline;
    const headers: Record<string, string> = { ...init.headers };
    if (init.body !== undefined && !Object.keys(headers).some((name) => name.toLowerCase() === "content-length")) {
      headers["content-length"] = String(Buffer.byteLength(init.body));
    }
    const secure = url.protocol === "https:";
    const failure = (error: unknown) => {
      if (deadline.aborted && !init.signal?.aborted) return new Error(`${where} got no complete answer within ${this.policy.requestTimeoutMs} ms`);
      if (init.signal?.aborted) return init.signal.reason instanceof Error ? init.signal.reason : new Error(`${where} was cancelled`);
      return new Error(`${where} failed: ${redactSecrets((error as Error).message ?? String(error))}`, { cause: error });
    };
    return new Promise<OutboundResponse>((resolve, reject) => {
      const request = (secure ? https : http).request(
        {
          protocol: url.protocol,
          hostname: withoutBrackets(url.hostname),
          port: url.port === "" ? undefined : Number(url.port),
          path: `${url.pathname}${url.search}`,
          method,
          headers,
          agent: secure ? this.httpsAgent() : this.httpAgent(),
          signal,
        },
        (response) => {
          const chunks: Buffer[] = [];
          let kept = 0;
          response.on("data", (chunk: Buffer) => {
            if (kept >= MAX_FETCH_BODY_BYTES) return;
            const room = MAX_FETCH_BODY_BYTES - kept;
            chunks.push(chunk.length > room ? chunk.subarray(0, room) : chunk);
            kept += Math.min(chunk.length, room);
          });
          response.once("error", (error) => reject(failure(error)));
          response.once("end", () => {
            const body = Buffer.concat(chunks).toString("utf8");
            const status = response.statusCode ?? 0;
            resolve({ status, ok: status >= 200 && status < 300, headers: response.headers, text: async () => body });
          });
        },
      );
      request.once("error", (error) => reject(failure(error)));
      request.end(init.body);
    });
  }

  /** A client for a container SAS URL (anonymous credential), every request through the guarded agents. */
  containerClient(field: string, sasUrl: string | URL, options: { abortSignal?: AbortSignal } = {}): ContainerClient {
    const url = this.checkUrl(field, sasUrl instanceof URL ? sasUrl.href : sasUrl);
    return new ContainerClient(url.href, newPipeline(new AnonymousCredential(), this.storagePipelineOptions(url, options.abortSignal)));
  }

  /** A client for the storage account of a connection string (shared key or SAS), every request through the guarded agents. */
  blobServiceFromConnectionString(field: string, connectionString: string, options: { abortSignal?: AbortSignal } = {}): BlobServiceClient {
    const account = this.parseConnectionString(field, connectionString);
    // Derived clients (getContainerClient, …) append to this URL, as the SDK's own parser leaves it: no trailing slash.
    const base = account.endpoint.href.replace(/\/$/, "");
    const pipelineOptions = this.storagePipelineOptions(account.endpoint, options.abortSignal);
    if (account.accountKey !== undefined) {
      return new BlobServiceClient(base, newPipeline(new StorageSharedKeyCredential(account.accountName!, account.accountKey), pipelineOptions));
    }
    return new BlobServiceClient(`${base}?${account.sharedAccessSignature}`, newPipeline(new AnonymousCredential(), pipelineOptions));
  }

  // -------------------------------------------------------------------------------------------

  /** Why a destination is refused (rules 1, 3, 4, 5), or undefined if it may be reached. */
  private destinationRefusal({ scheme, host: rawHost, port }: Destination): string | undefined {
    const host = rawHost.toLowerCase().replace(/\.$/, "");
    if (host === "" || host === "[]") return "the URL has no host";
    const bare = withoutBrackets(host);
    const address = isIP(bare) !== 0 ? classifyAddress(bare) : undefined;
    if (address?.kind === "forbidden") return `host '${host}' is not allowed: ${address.reason}`;
    const loopback = address?.kind === "loopback" || (address === undefined && isLoopbackName(host));
    if (address?.kind === "loopback" && !this.policy.allowLoopback) {
      return `host '${host}' is not allowed: loopback address (reachable only when the service is started with --outbound-allow-loopback, for local development)`;
    }
    if (scheme === "http:" && !(loopback && this.policy.allowLoopback)) {
      return this.policy.allowLoopback
        ? "only https URLs are allowed (got 'http:'); plain http is allowed only to loopback hosts in development"
        : "only https URLs are allowed (got 'http:')";
    }
    if (loopback && this.policy.allowLoopback) return undefined;
    const matching = this.patterns.filter((pattern) => (pattern.wildcard ? host.endsWith(`.${pattern.host}`) : host === pattern.host));
    if (matching.length === 0) {
      return `host '${host}' is not among the allowed hosts (${this.patterns.map((pattern) => pattern.text).join(", ") || "none"}); ${ALLOW_MORE_HINT}`;
    }
    if (port !== "" && port !== DEFAULT_PORT[scheme] && !matching.some((pattern) => pattern.port === port)) {
      return `port ${port} is not allowed for host '${host}': only the default port ${DEFAULT_PORT[scheme]} (${ALLOW_MORE_HINT}=${host}:${port})`;
    }
    return undefined;
  }

  /** Why a name's resolved addresses are refused, or undefined. Every address must pass: any one could be the one connected to. */
  private addressesRefusal(scheme: Scheme, hostname: string, addresses: readonly dns.LookupAddress[]): string | undefined {
    if (addresses.length === 0) return `host '${hostname}' resolves to no address`;
    // A loopback name skipped the allowlist (development), so it must really be loopback.
    const loopbackOnly = scheme === "http:" || isLoopbackName(hostname.toLowerCase().replace(/\.$/, ""));
    const why = (verdict: AddressVerdict): string | undefined => {
      if (verdict.kind === "forbidden") return verdict.reason;
      if (verdict.kind === "loopback") return this.policy.allowLoopback ? undefined : "loopback address";
      if (!loopbackOnly) return undefined;
      return scheme === "http:" ? "plain http is allowed only to loopback addresses" : "a loopback name must resolve to loopback addresses";
    };
    for (const { address } of addresses) {
      const because = why(classifyAddress(address));
      if (because) return `host '${hostname}' resolves to ${address}, which is not allowed: ${because}`;
    }
    return undefined;
  }

  private guardedLookup(scheme: Scheme, hostname: string, options: dns.LookupOptions, callback: Parameters<LookupFunction>[2]): void {
    dns.lookup(hostname, { ...options, all: true }, (error, addresses) => {
      if (error) return callback(error, options.all ? [] : "");
      const refusal = this.addressesRefusal(scheme, hostname, addresses);
      if (refusal) return callback(new OutboundRefusedError(refusal), options.all ? [] : "");
      if (options.all) return callback(null, addresses);
      const [first] = addresses as [dns.LookupAddress];
      callback(null, first.address, first.family);
    });
  }

  /**
   * A keep-alive agent whose every connection is checked (destination, then each resolved address),
   * bounded in time (connect, then silence) and, given a signal, refused and torn down once it aborts.
   */
  private createAgent(scheme: Scheme, abortSignal?: AbortSignal): http.Agent {
    const { connectTimeoutMs, requestTimeoutMs } = this.policy;
    const lookup: LookupFunction = (hostname, options, callback) => this.guardedLookup(scheme, hostname, options, callback);
    const sockets = new Set<Duplex>();
    // A fresh error each time (the caller's reason is kept as the cause, not mutated), with a code no retry policy retries.
    const aborted = () => {
      const reason: unknown = abortSignal?.reason;
      const message = reason instanceof Error ? reason.message : "the operation was aborted";
      return Object.assign(new Error(message, { cause: reason }), { name: "AbortError", code: "ABORT_ERR" });
    };
    abortSignal?.addEventListener("abort", () => {
      for (const socket of sockets) socket.destroy(aborted());
    }, { once: true });

    const open = (options: http.ClientRequestArgs, callback: ConnectionCallback | undefined, create: CreateConnection): Duplex | null | undefined => {
      const refusal = abortSignal?.aborted
        ? aborted()
        : options.socketPath !== undefined
          ? new OutboundRefusedError("outbound connections over a unix socket are not allowed")
          : this.refuseAtConnect(scheme, options);
      if (refusal) {
        if (!callback) throw refusal;
        process.nextTick(callback, refusal, undefined as unknown as Duplex);
        return undefined;
      }
      // The agent's options already carry the lookup; set it again so no request option can replace it.
      const socket = create({ ...options, lookup }, callback);
      if (!socket) return socket;
      sockets.add(socket);
      const connectTimer = setTimeout(() => {
        const error = Object.assign(new Error(`no connection to ${options.hostname ?? options.host} within ${connectTimeoutMs} ms`), { code: "ETIMEDOUT" });
        socket.destroy(error);
      }, connectTimeoutMs);
      socket.once(socket instanceof TLSSocket ? "secureConnect" : "connect", () => clearTimeout(connectTimer));
      socket.once("close", () => {
        clearTimeout(connectTimer);
        sockets.delete(socket);
      });
      // Node only reports a silent socket ('timeout'); without this a black-hole server holds a request forever.
      socket.on("timeout", () => {
        const error = Object.assign(new Error(`no data from ${options.hostname ?? options.host} for ${requestTimeoutMs} ms`), { code: "ETIMEDOUT" });
        socket.destroy(error);
      });
      return socket;
    };

    // timeout: sets the silence limit on each new socket and again whenever keep-alive parks or reuses it.
    const agentOptions = { keepAlive: true, timeout: requestTimeoutMs, lookup };
    if (scheme === "https:") {
      return new (class GuardedHttpsAgent extends https.Agent {
        override createConnection(options: http.ClientRequestArgs, callback?: ConnectionCallback) {
          return open(options, callback, (o, c) => super.createConnection(o, c));
        }
      })(agentOptions);
    }
    return new (class GuardedHttpAgent extends http.Agent {
      override createConnection(options: http.ClientRequestArgs, callback?: ConnectionCallback) {
        return open(options, callback, (o, c) => super.createConnection(o, c));
      }
    })(agentOptions);
  }

  private refuseAtConnect(scheme: Scheme, options: http.ClientRequestArgs): OutboundRefusedError | undefined {
    const name = String(options.hostname ?? options.host ?? "");
    const host = isIP(name) === 6 ? `[${name}]` : name;
    const refusal = this.destinationRefusal({ scheme, host, port: options.port === undefined || options.port === null ? "" : String(options.port) });
    return refusal ? new OutboundRefusedError(refusal) : undefined;
  }

  /**
   * The storage SDK's pipeline, bound to the guarded agent for the URL's scheme: the SDK already
   * allows http (it sets allowInsecureConnection on every request), so the agent is what keeps http
   * to loopback. The agent goes in as the pipeline's `agent` option rather than an added policy:
   * @azure/storage-blob hands one core pipeline to every client derived from a client
   * (getContainerClient, getBlockBlobClient, …) together with the options, and an added policy would
   * be added again for each, which core-rest-pipeline refuses ("Duplicate policy names"). A request
   * agent also takes precedence over HTTPS_PROXY, which would otherwise connect on our behalf unchecked.
   */
  private storagePipelineOptions(url: URL, abortSignal?: AbortSignal): StoragePipelineOptions {
    const scheme: Scheme = url.protocol === "http:" ? "http:" : "https:";
    const agent = abortSignal ? this.createAgent(scheme, abortSignal) : scheme === "http:" ? this.httpAgent() : this.httpsAgent();
    const options: StoragePipelineOptions & { agent: http.Agent; redirectOptions: { maxRetries: number } } = {
      agent,
      redirectOptions: { maxRetries: 0 },
      retryOptions: {
        maxTries: 2,
        // Also sent to the server as its own timeout, in whole seconds (0 would be refused).
        tryTimeoutInMs: Math.max(1000, this.policy.requestTimeoutMs),
        retryDelayInMs: 200,
        maxRetryDelayInMs: 2000,
      },
    };
    return options;
  }

  private parseConnectionString(field: string, text: string): { endpoint: URL; accountName: string | undefined; accountKey: string | undefined; sharedAccessSignature: string | undefined } {
    const refuse = (rule: string) => new ApiError("BadRequest", `${field}: ${rule}`);
    const values = new Map<string, { key: string; value: string }>();
    const parts = text.split(";").map((part) => part.trim()).filter((part) => part !== "");
    for (const [index, part] of parts.entries()) {
      const equals = part.indexOf("=");
      // Only positions and key names go into messages: a value may be the account key.
      if (equals <= 0) throw refuse(`expected Key=Value pairs separated by ';' (part ${index + 1} has no key)`);
      const key = part.slice(0, equals).trim();
      // A "key" that is not a word may be a stray piece of a secret: not repeated either.
      if (values.has(key.toLowerCase())) throw refuse(`${/^[A-Za-z]{1,40}$/.test(key) ? key : `the key of part ${index + 1}`} is given more than once`);
      values.set(key.toLowerCase(), { key, value: part.slice(equals + 1).trim() });
    }
    const get = (key: string) => values.get(key.toLowerCase())?.value;

    if (get("UseDevelopmentStorage") !== undefined) {
      if (get("UseDevelopmentStorage")!.toLowerCase() !== "true") throw refuse("UseDevelopmentStorage may only be true");
      if (get("DevelopmentStorageProxyUri") !== undefined) throw refuse("DevelopmentStorageProxyUri is not supported");
      const endpoint = this.checkUrl(`${field} (UseDevelopmentStorage=true is Azurite at ${DEVELOPMENT_STORAGE_ENDPOINT})`, DEVELOPMENT_STORAGE_ENDPOINT);
      return { endpoint, accountName: DEVELOPMENT_STORAGE_ACCOUNT, accountKey: DEVELOPMENT_STORAGE_KEY, sharedAccessSignature: undefined };
    }

    const accountName = get("AccountName");
    const accountKey = get("AccountKey");
    const sharedAccessSignature = get("SharedAccessSignature")?.replace(/^\?/, "");
    if (accountName !== undefined && !/^[a-z0-9]{3,24}$/.test(accountName)) throw refuse("AccountName must be 3 to 24 lowercase letters and digits");
    if (accountKey !== undefined && !/^[A-Za-z0-9+/]+={0,2}$/.test(accountKey)) throw refuse("AccountKey is not base64");
    if (accountKey === undefined && !sharedAccessSignature) throw refuse("needs an AccountKey or a SharedAccessSignature");
    if (accountKey !== undefined && accountName === undefined) throw refuse("an AccountKey needs its AccountName");

    let endpoint: URL;
    const blobEndpoint = get("BlobEndpoint");
    if (blobEndpoint !== undefined) {
      endpoint = this.checkUrl(`${field} (BlobEndpoint)`, blobEndpoint);
      if (endpoint.search !== "" || endpoint.hash !== "") throw refuse("BlobEndpoint must not have a query or fragment (put a SAS in SharedAccessSignature)");
    } else {
      if (accountName === undefined) throw refuse("needs a BlobEndpoint or an AccountName");
      const protocol = (get("DefaultEndpointsProtocol") ?? "https").toLowerCase();
      if (protocol !== "https" && protocol !== "http") throw refuse("DefaultEndpointsProtocol must be https (or http)");
      const suffix = get("EndpointSuffix") ?? "core.windows.net";
      if (!/^[a-z0-9-]+(\.[a-z0-9-]+)+$/i.test(suffix)) throw refuse("EndpointSuffix must be a DNS suffix such as core.windows.net");
      endpoint = this.checkUrl(`${field} (the blob endpoint ${protocol}://${accountName}.blob.${suffix})`, `${protocol}://${accountName}.blob.${suffix}`);
    }
    return { endpoint, accountName, accountKey, sharedAccessSignature };
  }
}
