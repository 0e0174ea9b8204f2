// Fuzzes every route family through the real HTTP server (loopback, keep-alive, 16 requests in
// flight): valid bodies with one field broken, random JSON, invalid JSON, wrong content types, empty
// bodies, NDJSON with bad lines, garbage path parameters and query strings. No answer may be a 5xx,
// every 4xx must carry the contract's {"error": {"code", "message"}}, and the server must still be
// healthy afterwards. Requests go out through node:http rather than fetch: fetch resolves `..` and
// `%2e%2e` segments before sending and refuses bodies on GET and HEAD, so those would never reach
// the service. Also: a freshly started service on the deepest definition the API admits, and a
// property test of the definition parser (it throws DefinitionError and nothing else).
// Replay a run with PUSHPLANE_FUZZ_SEED=<the printed seed>; PUSHPLANE_FUZZ_REQUESTS scales it.
import { execFileSync, spawn, spawnSync } from "node:child_process";
import { once } from "node:events";
import { mkdtempSync, rmSync } from "node:fs";
import http from "node:http";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import fc from "fast-check";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { DATA_EXPORT_DATASETS, DefinitionError, DEVICE_PROPERTIES, EXPORT_ENTITIES, EXPORT_KINDS, LIMITS, parseDefinition, type ExportKind } from "../../domain/index.ts";
import { USER_EXPORT_FIELDS } from "../../service/exports/users.ts";
import { CUSTOM_TEST_PROPERTIES, definitionArbitrary } from "../helpers/arbitraries.ts";
import { startService, type TestService } from "../helpers/service.ts";

const SEED = process.env.PUSHPLANE_FUZZ_SEED ? Number(process.env.PUSHPLANE_FUZZ_SEED) : 20_240_611;
const REQUESTS_PER_FAMILY = process.env.PUSHPLANE_FUZZ_REQUESTS ? Number(process.env.PUSHPLANE_FUZZ_REQUESTS) : 10_000;
/** Enough to keep both cores busy on a 2-core machine without queueing behind the runner's own work. */
const IN_FLIGHT = 16;
const CLIENT_TIMEOUT_MS = 30_000;
const FAMILY_TIMEOUT_MS = 240_000;
const DAY = 86_400_000;
const OWNER = "acme";
const APP = "demo";
const APP_TEMPLATE = "/v0.1/apps/:owner_name/:app_name";
const CLOUDKIT = "/cloudkit/v1/broadcast-metrics";
/**
 * The only hosts the service may be pointed at during the fuzz. `.invalid` never resolves (RFC
 * 6761), so a "valid" SAS URL gets past the request-time checks and into the handlers' deeper
 * paths, while the export it starts can only fail at name resolution: nothing is ever connected to.
 */
const FUZZ_HOST_SUFFIX = "pushplane-fuzz.invalid";
/**
 * Request targets stay below Node's 16 KiB header limit: beyond it Node's own parser answers (431)
 * and drops the connection before the service sees anything, which would fuzz Node, not the service.
 */
const MAX_TARGET_LENGTH = 15_000;

console.log(`fuzz seed ${SEED}, ${REQUESTS_PER_FAMILY} requests per family (replay with PUSHPLANE_FUZZ_SEED=${SEED})`);

// ---------------------------------------------------------------------------------------------
// JSON with the values JSON.stringify cannot write (1e999, -0, 100,000 levels of nesting)

/** Text written into a JSON body as it is, so the body can hold what no JavaScript value serializes to. */
class RawJson {
  constructor(readonly text: string) {}
}

function toJsonText(value: unknown): string {
  const raws: string[] = [];
  const text = JSON.stringify(value, (_key, v: unknown) => (v instanceof RawJson ? `\u0000raw${raws.push(v.text) - 1}\u0000` : v)) ?? "";
  // JSON.stringify writes the NUL markers as \u0000 escapes inside their quotes.
  return text.replace(/"\\u0000raw(\d+)\\u0000"/g, (_match, index: string) => raws[Number(index)]!);
}

// ---------------------------------------------------------------------------------------------
// URL pieces

/** Percent-encodes like encodeURIComponent, but writes a lone surrogate as its (invalid) UTF-8 bytes instead of throwing. */
function encodeSegment(text: string): string {
  let encoded = "";
  for (const char of text) {
    const code = char.codePointAt(0)!;
    if (code >= 0xd800 && code <= 0xdfff) {
      encoded += [0xe0 | (code >> 12), 0x80 | ((code >> 6) & 0x3f), 0x80 | (code & 0x3f)].map((byte) => `%${byte.toString(16).toUpperCase()}`).join("");
    } else encoded += encodeURIComponent(char);
  }
  return encoded;
}

const encodeQuery = (query: Readonly<Record<string, string>>) =>
  Object.entries(query)
    .map(([key, value]) => `${encodeSegment(key)}=${encodeSegment(value)}`)
    .join("&");

/** Path parameters no route expects: traversal, broken and overlong percent-encoding, unicode, the router's length limit (500). */
const garbageSegment: fc.Arbitrary<string> = fc.oneof(
  fc.constantFrom(
    "..", ".", "%2e%2e", "%2E%2E%2F%2E%2E", "..%2F..%2Fetc%2Fpasswd", "%2F", "%00", "%", "%zz", "%E0%A4%A", "%C0%AF", "%FF%FE", "%ED%A0%80",
    "a%20b", "%25", "%3F", "%23", "+", "~", ";", "*", "$top", "'", "%27%20OR%201%3D1--", "", "%0D%0ASet-Cookie:%20x=1", "null", "undefined", "-1", "0",
  ),
  fc.string({ unit: "binary", maxLength: 64 }).map(encodeSegment),
  fc.string({ unit: "grapheme", maxLength: 64 }).map(encodeSegment),
  fc.integer({ min: 490, max: 4_000 }).map((length) => "a".repeat(length)),
  fc.integer({ min: 1, max: 600 }).map((length) => encodeSegment("é".repeat(length))),
);

const queryKey = fc.oneof(
  fc.constantFrom("$top", "$skiptoken", "$orderby", "$inlinecount", "include_disabled", "include_archived", "contains", "container", "state", "expires", "sig", "__proto__", "constructor", "hasOwnProperty", ""),
  fc.string({ maxLength: 20 }),
);
const queryValue = fc.oneof(
  fc.constantFrom("", "0", "-1", "1e3", "0x10", "NaN", "Infinity", "true", "TRUE", "null", "2001", "9007199254740993", " 5", "5 ", "1.5", "[]", "{}", "dead", "pending"),
  fc.string({ unit: "binary", maxLength: 40 }),
  fc.integer({ min: 1_000, max: 3_000 }).map((length) => "q".repeat(length)),
);
/** Query strings no route expects: unknown and repeated keys (which the parser turns into arrays), broken encoding. */
const garbageQuery: fc.Arbitrary<string> = fc.oneof(
  fc.array(fc.tuple(queryKey, queryValue), { maxLength: 6 }).map((pairs) => pairs.map(([key, value]) => `${encodeSegment(key)}=${encodeSegment(value)}`).join("&")),
  fc.constantFrom("%", "%zz=1", "a=%E0%A4%A", "&&&", "=", "==", "a&a&a", "$top=1&$top=2", ";", "a[b]=c", "a[]=1&a[]=2", "state=dead&state=pending", "sig=a&sig=b", "expires=1&expires=2", "container=a&container=b"),
);

// ---------------------------------------------------------------------------------------------
// Broken values for one field of a valid body

const DATE_LIKE = [
  "2024-02-30T00:00:00Z", "2024-13-01T00:00:00Z", "+275760-09-13T00:00:00.000Z", "-000001-01-01T00:00:00Z", "0000-01-01T00:00:00Z",
  "9999-12-31T23:59:59.999999999Z", "2024-01-01T24:00:00Z", "2024-01-01", "1970-01-01T00:00:00Z", "2024-01-01T00:00:00+99:99", "yesterday",
];
const URL_LIKE = [
  "http://169.254.169.254/latest/meta-data/", "https://127.0.0.1/c?sig=x&sp=cw", "https://[::1]/c?sig=x&sp=cw", "https://[::ffff:10.0.0.1]/c?sig=x&sp=cw",
  "https://0x7f.1/c?sig=x&sp=cw", "https://2130706433/c?sig=x&sp=cw", "file:///etc/passwd", "javascript:alert(1)", "gopher://x/",
  `https://user:pw@a.${FUZZ_HOST_SUFFIX}/c?sig=x&sp=cw`, `https://a.${FUZZ_HOST_SUFFIX}:8443/c?sig=x&sp=cw`, "https://a.blob.core.windows.net.evil.example/c?sig=x&sp=cw",
  `https://a.${FUZZ_HOST_SUFFIX}/c?sig=x&sp=cwdl&se=1999-01-01`, `https://a.${FUZZ_HOST_SUFFIX}/c?sp=cw`, `https://a.${FUZZ_HOST_SUFFIX}/c?sig=x&sp=r`,
  `https://${"a".repeat(9_000)}.${FUZZ_HOST_SUFFIX}/`, "UseDevelopmentStorage=true", "AccountName=x;AccountKey=y;BlobEndpoint=http://10.0.0.1/",
];
const UNICODE_LIKE = ["\u0000", "\ud800", "\udfff", "\u202e", "🏳️‍🌈", "ｆｕｌｌ", "\r\n", "'; DROP TABLE devices; --", "%s%n", "${jndi:ldap://x}", "<script>", "\ufeff", "Zürich 😀"];

const deepNesting: fc.Arbitrary<RawJson> = fc
  .tuple(fc.oneof(fc.integer({ min: 2, max: 64 }), fc.integer({ min: 1_000, max: 20_000 }), fc.constant(100_000)), fc.constantFrom("array", "object", "mixed"))
  .map(([depth, shape]) =>
    shape === "array"
      ? new RawJson("[".repeat(depth) + "]".repeat(depth))
      : shape === "object"
        ? new RawJson('{"a":'.repeat(depth) + "1" + "}".repeat(depth))
        : new RawJson('[{"a":'.repeat(depth) + "null" + "}]".repeat(depth)),
  );

const hugeString: fc.Arbitrary<string> = fc
  .tuple(fc.constantFrom(257, 4_097, 65_537, 70_000, 200_000), fc.constantFrom("x", "é", "😀", "\\", '"'))
  .map(([length, char]) => char.repeat(length));

const nastyValue: fc.Arbitrary<unknown> = fc.oneof(
  { weight: 4, arbitrary: fc.constantFrom<unknown>(null, true, false, 0, -1, 1, 0.5, 1e308, -1e308, 2 ** 53 + 2, -(2 ** 31), 2 ** 32, "", " ", "0", "-1", "NaN", "Infinity", "null", "true", [], {}, [null], { "": null }) },
  { weight: 2, arbitrary: fc.constantFrom(new RawJson("1e999"), new RawJson("-1e999"), new RawJson("-0"), new RawJson("1E-400"), new RawJson("123456789012345678901234567890")) },
  { weight: 1, arbitrary: hugeString },
  { weight: 1, arbitrary: deepNesting },
  { weight: 2, arbitrary: fc.oneof(fc.constantFrom(...UNICODE_LIKE), fc.string({ unit: "binary", maxLength: 40 })) },
  { weight: 1, arbitrary: fc.constantFrom(...DATE_LIKE) },
  { weight: 1, arbitrary: fc.constantFrom(...URL_LIKE) },
  { weight: 1, arbitrary: fc.constant({ prototype: { polluted: true } }) },
  { weight: 2, arbitrary: fc.jsonValue({ maxDepth: 3 }) },
  { weight: 1, arbitrary: fc.array(fc.jsonValue({ maxDepth: 1 }), { minLength: 1_000, maxLength: 3_000 }) },
);
const extraKey = fc.oneof(fc.constantFrom("__proto__", "constructor", "prototype", "toString", "", " ", "extra", "$where", "a.b", "0"), fc.string({ maxLength: 20 }));

interface Mutation {
  readonly kind: "replace" | "delete" | "extra";
  readonly pick: number;
  readonly key: string;
  readonly value: unknown;
}
const mutationArbitrary: fc.Arbitrary<Mutation> = fc.record({
  kind: fc.constantFrom<Mutation["kind"]>("replace", "replace", "replace", "delete", "extra"),
  pick: fc.nat(),
  key: extraKey,
  value: nastyValue,
});

type Container = Record<string, unknown> | unknown[];
const isContainer = (value: unknown): value is Container => typeof value === "object" && value !== null && !(value instanceof RawJson);
/** Sets an own property, even one named __proto__ (plain assignment would set the prototype instead). */
const setOwn = (target: Container, key: string | number, value: unknown) =>
  Object.defineProperty(target, key, { value, enumerable: true, writable: true, configurable: true });

/** The valid body with exactly one field replaced, deleted or added; the root counts as a field. */
function mutate(valid: unknown, mutation: Mutation): unknown {
  const root = { body: JSON.parse(JSON.stringify(valid ?? null)) as unknown };
  const slots: { parent: Container; key: string | number }[] = [];
  const containers: Container[] = [];
  const walk = (parent: Container, key: string | number) => {
    slots.push({ parent, key });
    const value = (parent as Record<string | number, unknown>)[key];
    if (!isContainer(value)) return;
    containers.push(value);
    if (Array.isArray(value)) value.forEach((_item, index) => walk(value, index));
    else for (const child of Object.keys(value)) walk(value, child);
  };
  walk(root, "body");
  if (mutation.kind === "extra" && containers.length > 0) {
    const target = containers[mutation.pick % containers.length]!;
    // An array's own `length` cannot take an arbitrary value: that mutation leaves the body valid.
    if (!(Array.isArray(target) && mutation.key === "length")) setOwn(target, mutation.key, mutation.value);
  } else {
    const slot = slots[mutation.pick % slots.length]!;
    if (mutation.kind === "delete") {
      if (Array.isArray(slot.parent)) slot.parent.splice(Number(slot.key), 1);
      else delete slot.parent[slot.key];
    } else setOwn(slot.parent, slot.key, mutation.value);
  }
  return root.body;
}

// ---------------------------------------------------------------------------------------------
// Requests

type Method = "GET" | "HEAD" | "POST" | "PUT" | "PATCH" | "DELETE";
type Auth = "api" | "application-metrics" | "channel-metrics" | "signed-url" | "braze";

interface Endpoint {
  readonly method: Method;
  /** As registered, with :params. */
  readonly path: string;
  /** Plausible values of the path parameters other than owner_name/app_name (unencoded). */
  readonly params?: Readonly<Record<string, fc.Arbitrary<string>>>;
  readonly query?: fc.Arbitrary<Record<string, string>>;
  /** A valid JSON body. */
  readonly body?: fc.Arbitrary<unknown>;
  /** A valid NDJSON line, for the routes that stream NDJSON. */
  readonly ndjsonLine?: fc.Arbitrary<unknown>;
  readonly auth?: Auth;
}

interface FuzzRequest {
  /** The route it aims at, for grouping findings. */
  readonly endpoint: string;
  readonly method: Method;
  /** The request target exactly as sent (already percent-encoded). */
  readonly path: string;
  readonly headers: Readonly<Record<string, string>>;
  readonly body: Buffer | undefined;
  /** Sent with Transfer-Encoding: chunked, in two pieces, instead of Content-Length. */
  readonly chunked: boolean;
}

interface Payload {
  readonly contentType: string | undefined;
  readonly body: Buffer | undefined;
}

const JSON_TYPES = ["application/json", "application/json", "application/json", "application/json; charset=utf-8", "Application/JSON"];
const WRONG_TYPES = [
  "text/plain", "application/xml", "multipart/form-data; boundary=x", "application/x-www-form-urlencoded", "application/octet-stream", "garbage",
  "application/jsonx", "application/vnd.api+json", "application/json; charset=latin1", "application/json;;;", "text/json", "application/x-ndjson",
];
const NDJSON_TYPES = ["application/x-ndjson", "application/x-ndjson", "application/x-ndjson; charset=utf-8"];
const INVALID_JSON = [
  "{", "}", "[", '{"a":}', "{'a':1}", "{a:1}", "[1,]", '{"a":1,}', "NaN", "undefined", '"unterminated', '{"a":"\\x"}', "\ufeff{}", "{}{}", "[] []", "nul",
  "tru", "01", "1.", ".5", "-", "+1", "0x10", '{"__proto__":{"polluted":1}}', '{"constructor":{"prototype":{"polluted":1}}}', "\u0000", " ", "\n",
];

const jsonPayload = (value: fc.Arbitrary<unknown>, contentType: fc.Arbitrary<string> = fc.constantFrom(...JSON_TYPES)): fc.Arbitrary<Payload> =>
  fc.tuple(value, contentType).map(([body, type]) => ({ contentType: type, body: Buffer.from(toJsonText(body), "utf8") }));

const invalidJsonPayload = (valid: fc.Arbitrary<unknown>): fc.Arbitrary<Payload> =>
  fc
    .oneof(
      fc.constantFrom(...INVALID_JSON),
      // A valid body cut short somewhere.
      fc.tuple(valid, fc.nat()).map(([body, cut]) => {
        const text = toJsonText(body);
        return text.slice(0, cut % Math.max(1, text.length));
      }),
      fc.string({ unit: "binary", maxLength: 200 }),
    )
    .map((text) => ({ contentType: "application/json", body: Buffer.from(text, "utf8") }));

const ndjsonPayload = (line: fc.Arbitrary<unknown>): fc.Arbitrary<Payload> =>
  fc
    .record({
      lines: fc.array(
        fc.oneof(
          { weight: 6, arbitrary: line.map(toJsonText) },
          { weight: 3, arbitrary: fc.tuple(line, mutationArbitrary).map(([item, mutation]) => toJsonText(mutate(item, mutation))) },
          { weight: 1, arbitrary: fc.jsonValue({ maxDepth: 2 }).map(toJsonText) },
          { weight: 1, arbitrary: fc.constantFrom(...INVALID_JSON.filter((text) => !text.includes("\n"))) },
          { weight: 1, arbitrary: fc.constantFrom("", "   ", "\t") },
          // Longer than the 64 KiB a line may be.
          { weight: 1, arbitrary: fc.constant(`{"pad":"${"p".repeat(70_000)}"}`) },
        ),
        { maxLength: 30 },
      ),
      separator: fc.constantFrom("\n", "\n", "\r\n"),
      trailing: fc.boolean(),
      contentType: fc.constantFrom(...NDJSON_TYPES),
    })
    .map(({ lines, separator, trailing, contentType }) => ({ contentType, body: Buffer.from(lines.join(separator) + (trailing ? separator : ""), "utf8") }));

/** A body bigger than the service's 1 MiB JSON limit (the events route takes 16 MiB). */
const oversizedPayload: fc.Arbitrary<Payload> = fc.constant({ contentType: "application/json", body: Buffer.from(`{"pad":"${"o".repeat(1_100_000)}"}`) });

const noBody: fc.Arbitrary<Payload | undefined> = fc.constant(undefined);

function payloadArbitrary(endpoint: Endpoint): fc.Arbitrary<Payload | undefined> {
  const valid = endpoint.body ?? endpoint.ndjsonLine;
  if (!valid) {
    // Routes that take no body still get one now and then: it must be ignored or refused, never crash.
    return fc.oneof(
      { weight: 18, arbitrary: noBody },
      { weight: 1, arbitrary: jsonPayload(fc.jsonValue({ maxDepth: 3 })) },
      { weight: 1, arbitrary: invalidJsonPayload(fc.jsonValue()) },
    );
  }
  const ndjson = endpoint.ndjsonLine ? ndjsonPayload(endpoint.ndjsonLine) : ndjsonPayload(fc.jsonValue({ maxDepth: 2 }));
  return fc.oneof(
    { weight: 20, arbitrary: jsonPayload(valid) },
    { weight: 55, arbitrary: jsonPayload(fc.tuple(valid, mutationArbitrary).map(([body, mutation]) => mutate(body, mutation))) },
    { weight: 8, arbitrary: jsonPayload(fc.jsonValue({ maxDepth: 4 })) },
    { weight: 8, arbitrary: invalidJsonPayload(valid) },
    { weight: 4, arbitrary: fc.constantFrom(...JSON_TYPES).map((contentType): Payload => ({ contentType, body: Buffer.alloc(0) })) },
    { weight: 3, arbitrary: noBody },
    { weight: 6, arbitrary: jsonPayload(valid, fc.constantFrom(...WRONG_TYPES)) },
    { weight: 2, arbitrary: fc.uint8Array({ maxLength: 300 }).map((bytes): Payload => ({ contentType: "application/json", body: Buffer.from(bytes) })) },
    { weight: endpoint.ndjsonLine ? 40 : 3, arbitrary: ndjson },
    { weight: 1, arbitrary: oversizedPayload },
  );
}

function pathArbitrary(endpoint: Endpoint): fc.Arbitrary<string> {
  const names = [...endpoint.path.matchAll(/:([A-Za-z_]+)/g)].map((match) => match[1]!);
  const validValue = (name: string): fc.Arbitrary<string> =>
    name === "owner_name" ? fc.constant(OWNER) : name === "app_name" ? fc.constant(APP) : (endpoint.params?.[name] ?? fc.constant("x"));
  const fill = (values: readonly string[]) => {
    let index = 0;
    return endpoint.path.replace(/:([A-Za-z_]+)/g, () => values[index++]!);
  };
  const allValid = fc.tuple(...names.map((name) => validValue(name).map(encodeSegment))).map(fill);
  if (names.length === 0) return fc.constant(endpoint.path);
  // One parameter replaced by garbage; the owner and app count too (another app is a 404, never a crash).
  const oneGarbage = fc
    .tuple(fc.tuple(...names.map((name) => validValue(name).map(encodeSegment))), fc.nat({ max: names.length - 1 }), garbageSegment)
    .map(([values, which, garbage]) => fill(values.map((value, index) => (index === which ? garbage : value))));
  return fc.oneof({ weight: 6, arbitrary: allValid }, { weight: 1, arbitrary: oneGarbage });
}

function queryArbitrary(endpoint: Endpoint): fc.Arbitrary<string | undefined> {
  const none = { weight: 3, arbitrary: fc.constant<string | undefined>(undefined) };
  const garbage = { weight: 2, arbitrary: garbageQuery };
  if (!endpoint.query) return fc.oneof(none, garbage);
  const valid = endpoint.query.map(encodeQuery);
  return fc.oneof(none, garbage, { weight: 5, arbitrary: valid }, { weight: 1, arbitrary: fc.tuple(valid, garbageQuery).map(([a, b]) => `${a}&${b}`) });
}

/** The query's leading pairs that fit in `budget` characters. */
function withinBudget(query: string, budget: number): string {
  let kept = "";
  for (const pair of query.split("&")) {
    const longer = kept === "" ? pair : `${kept}&${pair}`;
    if (longer.length > budget) break;
    kept = longer;
  }
  return kept;
}

function requestArbitrary(endpoint: Endpoint, credentials: Readonly<Record<Auth, Record<string, string>>>): fc.Arbitrary<FuzzRequest> {
  return fc
    .record({ path: pathArbitrary(endpoint), query: queryArbitrary(endpoint), payload: payloadArbitrary(endpoint), chunked: fc.nat({ max: 19 }).map((n) => n === 0) })
    .map(({ path, query, payload, chunked }) => ({
      endpoint: `${endpoint.method} ${endpoint.path}`,
      method: endpoint.method,
      path: query === undefined ? path : `${path}?${withinBudget(query, MAX_TARGET_LENGTH - path.length - 1)}`,
      headers: { ...credentials[endpoint.auth ?? "api"], ...(payload?.contentType !== undefined ? { "content-type": payload.contentType } : {}) },
      body: payload?.body,
      chunked: chunked && payload?.body !== undefined && payload.body.length > 1,
    }));
}

// ---------------------------------------------------------------------------------------------
// Valid values, per domain object

/** Ids the fuzz can hit: the ones setup created, and well-formed ones that exist nowhere. */
interface Pools {
  installIds: string[];
  audienceNames: string[];
  notificationIds: string[];
  exportRunIds: string[];
  exportJobIds: string[];
  dataExportTokenIds: string[];
  exportConfigurationIds: string[];
  broadcastRequestIds: string[];
  /** A real signed download (id, expires, sig) of a finished broadcast report. */
  download: { id: string; expires: string; sig: string };
}

const CUSTOM_NAMES = ["dog-lover", "visits", "signed-up", "plan", "tier", "score", "vip", "cohort"];
const USER_IDS = Array.from({ length: 10 }, (_unused, index) => `user-${index + 1}`);
const isoDaysFromNow = (days: number) => new Date(Date.now() + days * DAY).toISOString();
const isoDay = (daysAgo: number) => new Date(Date.now() - daysAgo * DAY).toISOString().slice(0, 10);
const optional = <T>(arbitrary: fc.Arbitrary<T>) => fc.option(arbitrary, { nil: undefined });

function domainArbitraries(pools: Pools) {
  const knownOr = (known: readonly string[]) => fc.oneof({ weight: 3, arbitrary: fc.constantFrom(...known) }, { weight: 1, arbitrary: fc.uuid({ version: 4 }) });
  const installId = knownOr(pools.installIds);
  const audienceName = fc.oneof(
    { weight: 3, arbitrary: fc.constantFrom(...pools.audienceNames) },
    { weight: 1, arbitrary: fc.string({ unit: "grapheme", minLength: 1, maxLength: 64 }).filter((name) => !name.includes("/")) },
  );
  const sasUrl = (permissions: readonly string[]) =>
    fc
      .record({ account: fc.constantFrom("acct", "exports", "a1"), container: fc.constantFrom("exports", "fuzz-container", "c1"), sp: fc.constantFrom(...permissions), days: fc.integer({ min: 1, max: 30 }) })
      .map(({ account, container, sp, days }) => `https://${account}.${FUZZ_HOST_SUFFIX}/${container}?sv=2024-08-04&se=${encodeURIComponent(isoDaysFromNow(days))}&sr=c&sp=${sp}&sig=c2lnbmF0dXJl`);
  const containerUrl = fc.constantFrom(`https://acct.${FUZZ_HOST_SUFFIX}/exports`, `https://exports.${FUZZ_HOST_SUFFIX}/c1`, `https://a1.${FUZZ_HOST_SUFFIX}/fuzz-container`);
  const callback = fc.constantFrom(`https://hooks.${FUZZ_HOST_SUFFIX}/done`, `https://hooks.${FUZZ_HOST_SUFFIX}/export?x=1`);

  // Now and then as deep as the 2,000 characters the service admits can nest: the parser recurses per level.
  const deeplyNested = fc
    .tuple(fc.integer({ min: 1_000, max: LIMITS.audienceDefinitionLength.value }), fc.boolean())
    .map(([length, balanced]) => (balanced ? `${"(".repeat(Math.floor((length - 15) / 2))}osApiLevel eq 1${")".repeat(Math.floor((length - 15) / 2))}` : "(".repeat(length)));
  const audienceBody = fc.record(
    { definition: fc.oneof({ weight: 19, arbitrary: definitionArbitrary }, { weight: 1, arbitrary: deeplyNested }), description: fc.string({ maxLength: 128 }), enabled: fc.boolean(), custom_properties: fc.constant(CUSTOM_TEST_PROPERTIES) },
    { requiredKeys: ["definition", "custom_properties"] },
  );
  const customValue = fc.oneof(
    fc.string({ maxLength: 20 }),
    fc.integer(),
    fc.double({ noNaN: true, noDefaultInfinity: true }),
    fc.boolean(),
    fc.integer({ min: -400, max: 400 }).map((days) => ({ date_time: isoDaysFromNow(days) })),
    fc.constant(null),
  );
  const device = fc.record(
    {
      install_id: installId,
      user_id: fc.constantFrom(...USER_IDS),
      properties: fc.record(
        {
          appVersion: fc.constantFrom("1.0.0", "3.1.0", "3.10.0"),
          carrierCountry: fc.constantFrom("US", "CA", "DE"),
          deviceOsVersion: fc.constantFrom("17.4", "14"),
          osApiLevel: fc.integer({ min: 0, max: 1_000 }),
          osVersion: fc.constantFrom("iOS 17", "Android 14"),
          model: fc.string({ maxLength: 20 }),
          locale: fc.constantFrom("en_US", "de_DE"),
          oemName: fc.constantFrom("Apple", "Google"),
          screenSize: fc.constantFrom("1170x2532", "1080x2400"),
        },
        { requiredKeys: [] },
      ),
      custom_properties: fc.dictionary(fc.constantFrom(...CUSTOM_NAMES), customValue, { maxKeys: 4 }),
      push: fc.record({ channel: fc.constantFrom("apns", "fcm", "wns"), token: fc.string({ minLength: 1, maxLength: 64 }) }),
    },
    { requiredKeys: ["install_id"] },
  );
  const timestamp = fc.integer({ min: -80 * 24, max: 0 }).map((hours) => new Date(Date.now() + hours * 3_600_000).toISOString());
  const event = fc.oneof(
    fc.record({ type: fc.constantFrom("session_start", "session_end"), install_id: installId, timestamp }),
    fc.record({ type: fc.constant("push_opened"), install_id: installId, timestamp, notification_id: fc.oneof(fc.constantFrom(...pools.notificationIds), fc.string({ minLength: 1, maxLength: 64 })) }),
    fc.record({
      type: fc.constant("custom"),
      install_id: installId,
      timestamp,
      name: fc.constantFrom("level_up", "checkout_started", "x"),
      properties: fc.dictionary(fc.constantFrom(...CUSTOM_NAMES), fc.oneof(fc.string({ maxLength: 20 }), fc.integer(), fc.boolean()), { maxKeys: 3 }),
    }),
    fc.record({ type: fc.constant("purchase"), install_id: installId, timestamp, product_id: fc.constantFrom("sku-1", "sku-2"), amount: fc.double({ min: 0, max: 1_000, noNaN: true }), currency: fc.constantFrom("USD", "EUR") }),
  );
  const notification = fc.record(
    {
      notification_content: fc.record(
        { name: fc.string({ minLength: 3, maxLength: 64 }), title: fc.string({ maxLength: 128 }), body: fc.string({ minLength: 1, maxLength: 200 }), custom_data: fc.dictionary(fc.string({ maxLength: 10 }), fc.string({ maxLength: 100 }), { maxKeys: 3 }) },
        { requiredKeys: ["name", "body"] },
      ),
      notification_target: fc.oneof(
        { weight: 1, arbitrary: fc.constant(null) },
        { weight: 3, arbitrary: fc.record({ type: fc.constant("audiences_target"), audiences: fc.array(audienceName, { minLength: 1, maxLength: 3 }) }) },
        { weight: 3, arbitrary: fc.record({ type: fc.constant("devices_target"), devices: fc.array(installId, { minLength: 1, maxLength: 5 }) }) },
        { weight: 2, arbitrary: fc.record({ type: fc.constant("user_ids_target"), user_ids: fc.array(fc.constantFrom(...USER_IDS), { minLength: 1, maxLength: 5 }) }) },
        { weight: 1, arbitrary: fc.record({ type: fc.constant("account_ids_target"), account_ids: fc.array(fc.constantFrom(...USER_IDS), { minLength: 1, maxLength: 5 }) }) },
      ),
    },
    { requiredKeys: ["notification_content"] },
  );
  const upperAlnum10 = fc.stringMatching(/^[A-Z0-9]{10}$/);
  const pushConfig = fc.oneof(
    fc.record({ type: fc.constant("apns_token_config"), key_id: upperAlnum10, prefix: upperAlnum10, token: fc.string({ minLength: 32, maxLength: 200 }), endpoint_type: fc.constantFrom("production", "sandbox") }),
    fc.record({ type: fc.constant("gcm_config"), server_key: fc.string({ minLength: 20, maxLength: 200 }) }),
    fc.record({ type: fc.constant("wns_config"), package_sid: fc.string({ minLength: 1, maxLength: 64 }), secret_key: fc.string({ minLength: 8, maxLength: 64 }) }),
  );
  const jobOptions = (kind: ExportKind): fc.Arbitrary<Record<string, unknown> | undefined> => {
    switch (kind) {
      case "device_export":
        return optional(fc.constant({}));
      case "segment_export":
        return fc.record(
          { segment_id: audienceName, output_format: fc.constantFrom("zip", "gzip"), fields_to_export: fc.subarray([...USER_EXPORT_FIELDS]), callback_endpoint: callback },
          { requiredKeys: ["segment_id"] },
        );
      case "users_by_id_export":
        return fc.record(
          { external_ids: fc.array(fc.string({ minLength: 1, maxLength: 40 }), { minLength: 1, maxLength: 50 }), output_format: fc.constantFrom("zip", "gzip"), fields_to_export: fc.subarray([...USER_EXPORT_FIELDS]) },
          { requiredKeys: ["external_ids"] },
        );
      case "raw_event_export":
        return fc.record({ window_days: fc.integer({ min: 1, max: 7 }), event_names: fc.array(fc.constantFrom("session_start", "level_up"), { minLength: 1 }), callback_endpoint: callback }, { requiredKeys: [] });
      case "broadcast_metrics_export":
        return fc.oneof(
          fc.record({ dataset: fc.constant("broadcast_application_metrics"), bundle_id: fc.constant("com.acme.demo"), window_days: fc.integer({ min: 1, max: 30 }) }, { requiredKeys: ["bundle_id"] }),
          fc.record({ dataset: fc.constant("broadcast_channel_metrics"), bundle_id: fc.constant("com.acme.demo"), channel_id: audienceName.map((name) => Buffer.from(name).toString("base64")), window_days: fc.integer({ min: 1, max: 30 }) }),
        );
      case "braze_series_export":
        return fc.oneof(
          fc.record({ series: fc.constantFrom("dau", "mau", "new_users", "uninstalls"), length: fc.integer({ min: 1, max: 100 }), format: fc.constantFrom("csv", "jsonl") }, { requiredKeys: ["series"] }),
          fc.record({ series: fc.constant("custom_event"), event: fc.constantFrom("level_up", "share"), unit: fc.constantFrom("day", "hour"), segment_id: audienceName }, { requiredKeys: ["series", "event"] }),
          fc.record({ series: fc.constant("campaign"), campaign_id: fc.string({ minLength: 1, maxLength: 40 }) }),
        );
    }
  };
  const exportJob = fc.constantFrom(...EXPORT_KINDS).chain((kind) =>
    fc.record(
      {
        kind: fc.constant(kind),
        options: jobOptions(kind),
        schedule: fc.constantFrom("@daily", "@hourly", "0 3 * * *", "*/5 * * * *", "15 2 * * 1"),
        blob_container_sas_uri: sasUrl(["cw", "acw", "acwl"]),
        prefix: fc.constantFrom("", "exports/", "nightly/devices/"),
      },
      { requiredKeys: ["kind", "blob_container_sas_uri"] },
    ),
  );
  const rawEventExport = fc
    .record({
      startHoursAgo: fc.integer({ min: 1, max: 85 * 24 }),
      spanHours: fc.integer({ min: 1, max: 7 * 24 }),
      event_names: optional(fc.array(fc.constantFrom("session_start", "level_up", "purchase"), { minLength: 1 })),
      callback_endpoint: optional(callback),
      blob_container_sas_uri: sasUrl(["cw", "acw"]),
      app_group_id: optional(fc.constant(`${OWNER}/${APP}`)),
    })
    .map(({ startHoursAgo, spanHours, ...rest }) => ({
      ...rest,
      starting_at: new Date(Date.now() - startHoursAgo * 3_600_000).toISOString(),
      ending_at: new Date(Date.now() - Math.max(0, startHoursAgo - spanHours) * 3_600_000).toISOString(),
    }));
  const connectionString = fc
    .record({ account: fc.constantFrom("acct", "exports"), form: fc.constantFrom("suffix", "endpoint") })
    .map(({ account, form }) =>
      form === "suffix"
        ? `DefaultEndpointsProtocol=https;AccountName=${account};AccountKey=a2V5a2V5a2V5;EndpointSuffix=${FUZZ_HOST_SUFFIX}`
        : `BlobEndpoint=https://${account}.${FUZZ_HOST_SUFFIX};AccountName=${account};AccountKey=a2V5a2V5a2V5`,
    );
  const exportConfiguration = fc.oneof(
    { weight: 4, arbitrary: fc.record({ type: fc.constant("blob_storage_connection_string"), connection_string: connectionString, export_entities: fc.subarray([...EXPORT_ENTITIES]), resource_name: fc.string(), resource_group: fc.string() }, { requiredKeys: ["type", "connection_string"] }) },
    { weight: 1, arbitrary: fc.record({ type: fc.constantFrom("application_insights_instrumentation_key", "blob_storage_linked_subscription", "application_insights_linked_subscription"), instrumentation_key: fc.uuid() }) },
  );
  return {
    installId,
    audienceName,
    audienceBody,
    device,
    event,
    notification,
    pushConfig,
    exportJob,
    rawEventExport,
    sasUrl,
    containerUrl,
    callback,
    connectionString,
    exportConfiguration,
    knownOr,
  };
}

/** The route families, each a list of endpoints with what a valid request to them looks like. */
function routeFamilies(pools: Pools): Record<string, Endpoint[]> {
  const d = domainArbitraries(pools);
  const audiences = `${APP_TEMPLATE}/analytics/audiences`;
  const app = APP_TEMPLATE;
  const audienceParams = { audience_name: d.audienceName };
  const days = fc.integer({ min: 0, max: 35 }).map(isoDay);
  return {
    audiences: [
      { method: "GET", path: audiences, query: fc.record({ $top: fc.integer({ min: 0, max: 201 }).map(String), $skiptoken: d.audienceName.map((name) => Buffer.from(name).toString("base64url")), include_disabled: fc.constantFrom("true", "false") }, { requiredKeys: [] }) },
      { method: "GET", path: `${audiences}/metadata/device_properties` },
      { method: "GET", path: `${audiences}/metadata/custom_properties` },
      {
        method: "GET",
        path: `${audiences}/metadata/device_properties/:property_name/values`,
        params: { property_name: fc.constantFrom(...Object.keys(DEVICE_PROPERTIES), "dog-lover", "unknown") },
        query: fc.record({ contains: fc.string({ maxLength: 300 }) }, { requiredKeys: [] }),
      },
      { method: "POST", path: `${audiences}/definition/test`, body: d.audienceBody },
      { method: "HEAD", path: `${audiences}/:audience_name`, params: audienceParams },
      { method: "GET", path: `${audiences}/:audience_name`, params: audienceParams },
      { method: "PUT", path: `${audiences}/:audience_name`, params: audienceParams, body: d.audienceBody },
      { method: "DELETE", path: `${audiences}/:audience_name`, params: audienceParams },
    ],
    ingest: [
      { method: "POST", path: `${app}/ingest/devices`, body: d.device },
      { method: "POST", path: `${app}/ingest/devices/bulk`, body: d.device, ndjsonLine: d.device },
      { method: "POST", path: `${app}/ingest/events`, body: fc.record({ events: fc.array(d.event, { maxLength: 20 }) }), ndjsonLine: d.event },
      { method: "DELETE", path: `${app}/push/devices/:install_id`, params: { install_id: d.installId } },
    ],
    notifications: [
      { method: "POST", path: `${app}/push/notifications`, body: d.notification },
      {
        method: "GET",
        path: `${app}/push/notifications`,
        query: fc.record(
          {
            $top: fc.integer({ min: 0, max: 2_001 }).map(String),
            $skiptoken: fc.tuple(fc.oneof(fc.integer(), fc.string()), fc.string()).map((after) => Buffer.from(JSON.stringify(after)).toString("base64url")),
            $orderby: fc.constantFrom("send_time", "send_time desc", "name asc", "count desc", "count", "name sideways", "bogus", "toString desc", "__proto__ asc", "constructor"),
            $inlinecount: fc.constantFrom("allpages", "none"),
            include_archived: fc.constantFrom("true", "false"),
          },
          { requiredKeys: [] },
        ),
      },
      { method: "GET", path: `${app}/push/notifications/:notification_id`, params: { notification_id: d.knownOr(pools.notificationIds) } },
      { method: "DELETE", path: `${app}/push/notifications`, body: fc.record({ values: fc.array(d.knownOr(pools.notificationIds), { minLength: 1, maxLength: 5 }) }) },
      { method: "HEAD", path: `${app}/push/notifications_config` },
      { method: "GET", path: `${app}/push/notifications_config` },
      { method: "PUT", path: `${app}/push/notifications_config`, body: d.pushConfig },
      { method: "DELETE", path: `${app}/push/notifications_config` },
    ],
    exports: [
      { method: "POST", path: `${app}/push/device_exports`, body: fc.record({ blob_container_sas_uri: d.sasUrl(["cw", "acw"]) }) },
      { method: "GET", path: `${app}/push/device_exports/:export_id`, params: { export_id: d.knownOr(pools.exportRunIds) } },
      { method: "GET", path: `${app}/export_runs/:run_id`, params: { run_id: d.knownOr(pools.exportRunIds) } },
      { method: "POST", path: `${app}/export_jobs`, body: d.exportJob },
      { method: "GET", path: `${app}/export_jobs/:job_id`, params: { job_id: d.knownOr(pools.exportJobIds) } },
      { method: "PUT", path: `${app}/export_jobs/:job_id`, params: { job_id: d.knownOr(pools.exportJobIds) }, body: d.exportJob },
      { method: "DELETE", path: `${app}/export_jobs/:job_id`, params: { job_id: d.knownOr(pools.exportJobIds) } },
      { method: "GET", path: `${app}/export_jobs/:job_id/runs`, params: { job_id: d.knownOr(pools.exportJobIds) }, query: fc.record({ $top: fc.integer({ min: 0, max: 1_001 }).map(String) }, { requiredKeys: [] }) },
      {
        method: "POST",
        path: `${app}/users/export/ids`,
        body: fc.record(
          { app_group_id: fc.constant(`${OWNER}/${APP}`), external_ids: fc.array(fc.oneof(fc.constantFrom(...USER_IDS), fc.string({ minLength: 1 })), { maxLength: 60 }), fields_to_export: fc.subarray([...USER_EXPORT_FIELDS]) },
          { requiredKeys: ["external_ids"] },
        ),
      },
      {
        method: "POST",
        path: `${app}/users/export/segment`,
        body: fc.record(
          {
            app_group_id: fc.constant(`${OWNER}/${APP}`),
            segment_id: d.audienceName,
            callback_endpoint: d.callback,
            fields_to_export: fc.subarray([...USER_EXPORT_FIELDS]),
            output_format: fc.constantFrom("zip", "gzip"),
            blob_container_sas_uri: d.sasUrl(["cw", "acw"]),
          },
          { requiredKeys: ["segment_id", "blob_container_sas_uri"] },
        ),
      },
      { method: "POST", path: `${app}/raw_data/export`, body: d.rawEventExport },
      { method: "PUT", path: `${app}/retention_policies`, body: fc.record({ blob_container_sas_uri: d.sasUrl(["dl", "rdl", "acwdl"]), retention_days: fc.integer({ min: 1, max: 3_650 }) }) },
      { method: "GET", path: `${app}/retention_policies`, query: fc.record({ container: d.containerUrl }) },
      { method: "DELETE", path: `${app}/retention_policies`, query: fc.record({ container: d.containerUrl }) },
      { method: "POST", path: `${app}/retention_policies/sweep`, query: fc.record({ container: d.containerUrl }) },
    ],
    data_export_tokens: [
      {
        method: "POST",
        path: `${app}/data_export_tokens`,
        body: fc.record(
          {
            name: fc.string({ minLength: 1, maxLength: 128 }),
            description: fc.string({ maxLength: 512 }),
            bundle_id: fc.constantFrom("com.acme.demo", "io.example.app-1"),
            dataset: fc.constantFrom(...DATA_EXPORT_DATASETS),
            expires_at: fc.integer({ min: 1, max: 170 }).map(isoDaysFromNow),
          },
          { requiredKeys: ["name", "bundle_id", "dataset", "expires_at"] },
        ),
      },
      { method: "GET", path: `${app}/data_export_tokens/:token_id`, params: { token_id: d.knownOr(pools.dataExportTokenIds) } },
      { method: "DELETE", path: `${app}/data_export_tokens/:token_id`, params: { token_id: d.knownOr(pools.dataExportTokenIds) } },
    ],
    export_configurations: [
      { method: "POST", path: `${app}/export_configurations`, body: d.exportConfiguration },
      { method: "GET", path: `${app}/export_configurations` },
      { method: "GET", path: `${app}/export_configurations/:export_configuration_id`, params: { export_configuration_id: d.knownOr(pools.exportConfigurationIds) } },
      {
        method: "PATCH",
        path: `${app}/export_configurations/:export_configuration_id`,
        params: { export_configuration_id: d.knownOr(pools.exportConfigurationIds) },
        body: fc.record({ connection_string: d.connectionString, export_entities: fc.subarray([...EXPORT_ENTITIES]) }, { requiredKeys: [] }),
      },
      { method: "DELETE", path: `${app}/export_configurations/:export_configuration_id`, params: { export_configuration_id: d.knownOr(pools.exportConfigurationIds) } },
      { method: "POST", path: `${app}/export_configurations/:export_configuration_id/enable`, params: { export_configuration_id: d.knownOr(pools.exportConfigurationIds) } },
      { method: "POST", path: `${app}/export_configurations/:export_configuration_id/disable`, params: { export_configuration_id: d.knownOr(pools.exportConfigurationIds) } },
    ],
    cloudkit: [
      { method: "POST", path: `${CLOUDKIT}/application/export`, auth: "application-metrics", body: fc.record({ startDate: days, endDate: days }) },
      {
        method: "POST",
        path: `${CLOUDKIT}/channel/export`,
        auth: "channel-metrics",
        body: fc.record({ startDate: days, endDate: days, channelId: d.audienceName.map((name) => Buffer.from(name).toString("base64")) }),
      },
      { method: "GET", path: `${CLOUDKIT}/requests/:id`, auth: "application-metrics", params: { id: d.knownOr(pools.broadcastRequestIds) } },
      { method: "GET", path: `${CLOUDKIT}/requests/:id`, auth: "channel-metrics", params: { id: d.knownOr(pools.broadcastRequestIds) } },
      {
        method: "GET",
        path: `${CLOUDKIT}/downloads/:id`,
        auth: "signed-url",
        params: { id: fc.oneof({ weight: 3, arbitrary: fc.constant(pools.download.id) }, { weight: 1, arbitrary: d.knownOr(pools.broadcastRequestIds) }) },
        query: fc.oneof(
          fc.constant({ expires: pools.download.expires, sig: pools.download.sig }),
          fc.record({
            expires: fc.constantFrom(pools.download.expires, "NaN", "-1", "1e400", "0x10", String(Number(pools.download.expires) + 1), "9".repeat(400)),
            sig: fc.oneof(fc.constant(pools.download.sig), fc.string({ maxLength: 60 }), fc.constant(pools.download.sig.slice(1)), fc.constant(`${pools.download.sig}=`)),
          }),
        ),
      },
    ],
    background_work: [{ method: "GET", path: `${app}/background_work`, query: fc.record({ state: fc.constantFrom("pending", "dead") }, { requiredKeys: [] }) }],
    // Last: its erasures remove devices the other families name.
    data_subject_requests: [
      {
        method: "POST",
        path: `${app}/data_subject_requests`,
        body: fc.record({
          kind: fc.constantFrom("erasure", "access"),
          // Never a reachable storage host: no network beyond loopback in tests (a refused SAS is a 400 before anything runs).
          blob_container_sas_uri: fc.constantFrom("https://acct.blob.core.windows.net/c?sp=rl&se=2099-01-01T00:00:00Z&sig=x", "https://acct.blob.core.windows.net/c", "not a url"),
          subject: fc.record(
            {
              user_id: fc.string({ minLength: 1, maxLength: 256 }),
              install_ids: fc.array(d.knownOr(pools.installIds), { maxLength: 60 }),
              custom_properties: fc.dictionary(fc.constantFrom("email", "phone", "dog-breed"), fc.string({ minLength: 1, maxLength: 64 }), { maxKeys: 2 }),
            },
            { requiredKeys: [] },
          ),
        }),
      },
      {
        method: "POST",
        path: `${app}/users/delete`,
        body: fc.record({ external_ids: fc.array(fc.string({ minLength: 1, maxLength: 64 }), { minLength: 1, maxLength: 50 }) }),
      },
      { method: "GET", path: `${app}/data_subject_requests`, query: fc.record({ $top: fc.integer({ min: 1, max: 1000 }).map(String) }, { requiredKeys: [] }) },
      { method: "GET", path: `${app}/data_subject_requests/:request_id`, params: { request_id: fc.uuid({ version: 4 }) } },
      { method: "POST", path: `${app}/data_subject_requests/:request_id/cancel`, params: { request_id: fc.uuid({ version: 4 }) } },
      {
        method: "POST",
        path: `${app}/data_subject_requests/:request_id/recheck`,
        params: { request_id: fc.uuid({ version: 4 }) },
        body: fc.record({ subject: fc.record({ user_id: fc.string({ minLength: 1, maxLength: 256 }), install_ids: fc.array(d.knownOr(pools.installIds), { maxLength: 3 }) }, { requiredKeys: [] }) }),
      },
    ],
    // The Braze dialect: the key as Bearer, the app as app_group_id (errors are Braze's {"message"}).
    braze: (() => {
      // Mostly the right app group, so most requests get past authentication to the parameters.
      const group = fc.oneof({ weight: 6, arbitrary: fc.constant(`${OWNER}/${APP}`) }, { weight: 1, arbitrary: fc.string({ maxLength: 40 }) });
      const series = { app_group_id: group, length: fc.oneof(fc.integer({ min: -5, max: 120 }).map(String), fc.string({ maxLength: 8 })), unit: fc.constantFrom("day", "hour", "week"), ending_at: fc.oneof(fc.date({ noInvalidDate: true }).map((date) => date.toISOString()), fc.string({ maxLength: 30 })) };
      const listQuery = fc.record({ app_group_id: group, page: fc.oneof(fc.integer({ min: -1, max: 5 }).map(String), fc.string({ maxLength: 5 })) }, { requiredKeys: ["app_group_id"] });
      const seriesQuery = (extra: Record<string, fc.Arbitrary<string>> = {}) => fc.record({ ...series, ...extra }, { requiredKeys: ["app_group_id", "length"] });
      return [
        { method: "GET", path: "/braze/segments/list", auth: "braze", query: listQuery },
        { method: "GET", path: "/braze/segments/details", auth: "braze", query: fc.record({ app_group_id: group, segment_id: fc.oneof(d.knownOr(pools.audienceNames), fc.string({ maxLength: 80 })) }) },
        { method: "GET", path: "/braze/segments/data_series", auth: "braze", query: fc.record({ app_group_id: group, segment_id: d.knownOr(pools.audienceNames), length: series.length, ending_at: series.ending_at }, { requiredKeys: ["app_group_id", "segment_id", "length"] }) },
        { method: "GET", path: "/braze/feed/list", auth: "braze", query: listQuery },
        { method: "GET", path: "/braze/feed/data_series", auth: "braze", query: seriesQuery({ card_id: fc.string({ maxLength: 20 }) }) },
        { method: "GET", path: "/braze/events/list", auth: "braze", query: listQuery },
        { method: "GET", path: "/braze/purchases/product_list", auth: "braze", query: listQuery },
        { method: "GET", path: "/braze/sessions/data_series", auth: "braze", query: seriesQuery({ segment_id: fc.oneof(d.knownOr(pools.audienceNames), fc.string({ maxLength: 40 })) }) },
        { method: "GET", path: "/braze/events/data_series", auth: "braze", query: seriesQuery({ event: fc.constantFrom("view_item", "share", "nope"), segment_id: d.knownOr(pools.audienceNames) }) },
        { method: "GET", path: "/braze/campaigns/list", auth: "braze", query: fc.record({ app_group_id: group, page: fc.oneof(fc.integer({ min: -1, max: 5 }).map(String), fc.string({ maxLength: 5 })), include_archived: fc.constantFrom("true", "false", "yes") }, { requiredKeys: ["app_group_id"] }) },
        { method: "GET", path: "/braze/campaigns/details", auth: "braze", query: fc.record({ app_group_id: group, campaign_id: fc.oneof(d.knownOr(pools.notificationIds), fc.string({ maxLength: 80 })) }, { requiredKeys: ["app_group_id"] }) },
        { method: "GET", path: "/braze/campaigns/data_series", auth: "braze", query: fc.record({ app_group_id: group, campaign_id: d.knownOr(pools.notificationIds), length: series.length, ending_at: series.ending_at }, { requiredKeys: ["app_group_id", "campaign_id", "length"] }) },
        { method: "GET", path: "/braze/purchases/revenue_series", auth: "braze", query: seriesQuery({ product: fc.string({ maxLength: 20 }) }) },
        { method: "GET", path: "/braze/purchases/quantity_series", auth: "braze", query: seriesQuery() },
        ...["mau", "dau", "new_users", "uninstalls"].map((kpi) => ({ method: "GET" as const, path: `/braze/kpi/${kpi}/data_series`, auth: "braze" as const, query: fc.record({ app_group_id: group, length: series.length, ending_at: series.ending_at }, { requiredKeys: ["app_group_id", "length"] }) })),
        { method: "POST", path: "/braze/users/export/ids", auth: "braze", body: fc.record({ app_group_id: group, external_ids: fc.array(fc.string({ minLength: 1, maxLength: 64 }), { maxLength: 60 }) }) },
      ] satisfies Endpoint[];
    })(),
    // App Center's account routes (no account deletion: it would revoke the token the fuzzer sends).
    account_dsr: [
      { method: "POST", path: "/v0.1/user/dsr/export" },
      { method: "GET", path: "/v0.1/user/dsr/export/:token", params: { token: fc.uuid({ version: 4 }) } },
      { method: "POST", path: "/v0.1/user/dsr/export/:token/cancel", params: { token: fc.uuid({ version: 4 }) } },
      {
        method: "GET",
        path: "/v0.1/user/dsr/export/:token/document",
        auth: "signed-url",
        params: { token: fc.uuid({ version: 4 }) },
        query: fc.record({ expires: fc.integer({ min: 0 }).map(String), sig: fc.base64String() }, { requiredKeys: [] }),
      },
      { method: "GET", path: "/v0.1/user/dsr/delete/:token", auth: "signed-url", params: { token: fc.uuid({ version: 4 }) }, query: fc.record({ email: fc.emailAddress() }, { requiredKeys: [] }) },
      { method: "POST", path: "/v0.1/user/dsr/delete/:token/cancel", params: { token: fc.uuid({ version: 4 }) }, body: fc.record({ email: fc.emailAddress() }, { requiredKeys: [] }) },
    ],
  };
}

// ---------------------------------------------------------------------------------------------
// Sending and judging

type Outcome = { status: number; body: Buffer } | { failure: string };

const agent = new http.Agent({ keepAlive: true, maxSockets: IN_FLIGHT });

function send(base: URL, request: FuzzRequest): Promise<Outcome> {
  return new Promise((resolve) => {
    let settled = false;
    const settle = (outcome: Outcome) => {
      if (!settled) resolve(outcome);
      settled = true;
    };
    const headers: Record<string, string> = { ...request.headers };
    // Node only chunk-encodes GET, HEAD and DELETE bodies when told to; without the header their
    // body bytes would follow the request unframed and be read as the next request on the socket.
    if (request.body) headers[request.chunked ? "transfer-encoding" : "content-length"] = request.chunked ? "chunked" : String(request.body.length);
    const outgoing = http.request({ host: base.hostname, port: base.port, method: request.method, path: request.path, headers, agent, timeout: CLIENT_TIMEOUT_MS }, (response) => {
      const chunks: Buffer[] = [];
      response.on("data", (chunk: Buffer) => chunks.push(chunk));
      response.on("end", () => settle({ status: response.statusCode ?? 0, body: Buffer.concat(chunks) }));
      response.on("error", (error) => settle({ failure: `response: ${error.message}` }));
    });
    outgoing.on("timeout", () => outgoing.destroy(new Error(`no answer within ${CLIENT_TIMEOUT_MS} ms`)));
    outgoing.on("error", (error) => settle({ failure: error.message }));
    if (!request.body) outgoing.end();
    else if (request.chunked) {
      const middle = Math.floor(request.body.length / 2);
      outgoing.write(request.body.subarray(0, middle));
      outgoing.end(request.body.subarray(middle));
    } else outgoing.end(request.body);
  });
}

/** What is wrong with an answer, or undefined: a 5xx, a 4xx outside the contract's shape, no answer at all. */
function problemWith(request: FuzzRequest, outcome: Outcome): { kind: string; detail: string } | undefined {
  if ("failure" in outcome) return { kind: "no answer", detail: outcome.failure };
  if (outcome.status >= 500) return { kind: `${outcome.status}`, detail: outcome.body.toString("utf8").slice(0, 200) };
  if (outcome.status < 400 || request.method === "HEAD") return undefined;
  const text = outcome.body.toString("utf8");
  let body: unknown;
  try {
    body = JSON.parse(text);
  } catch {
    return { kind: `${outcome.status} not JSON`, detail: text.slice(0, 200) };
  }
  // The Braze dialect answers errors as Braze does: {"message"}.
  if (request.path.startsWith("/braze/")) {
    const braze = typeof body === "object" && body !== null && Object.keys(body).length === 1 && typeof (body as { message?: unknown }).message === "string";
    return braze ? undefined : { kind: `${outcome.status} not {"message"}`, detail: text.slice(0, 200) };
  }
  const error = (body as { error?: unknown } | null)?.error as { code?: unknown; message?: unknown } | undefined;
  const shaped =
    typeof body === "object" && body !== null && Object.keys(body).length === 1 && typeof error === "object" && error !== null &&
    typeof error.code === "string" && typeof error.message === "string" && Object.keys(error).every((key) => key === "code" || key === "message");
  if (shaped) return undefined;
  // Framework errors carry their own code (FST_ERR_…), which names the finding better than the message.
  const frameworkCode = (body as { code?: unknown }).code;
  return { kind: `${outcome.status} not {"error":{"code","message"}}${typeof frameworkCode === "string" ? ` (${frameworkCode})` : ""}`, detail: text.slice(0, 200) };
}

interface Finding {
  readonly signature: string;
  count: number;
  /** The routes it showed on. */
  readonly endpoints: Set<string>;
  readonly request: FuzzRequest;
  readonly detail: string;
  /** For a 5xx: the service's error log during the family's run, and what a replay alone answered. */
  serverLog?: string[];
  replay?: string;
}

/** The request as it went out, the token masked and long bodies cut, so it can be replayed by hand. */
function describeRequest(request: FuzzRequest, tokens: Readonly<Record<string, string>>): string {
  let headers = JSON.stringify(request.headers);
  for (const [name, value] of Object.entries(tokens)) headers = headers.replaceAll(value, `<${name}>`);
  const body = request.body === undefined ? "(none)" : request.body.length > 600 ? `${JSON.stringify(request.body.subarray(0, 600).toString("utf8"))}… (${request.body.length} bytes)` : JSON.stringify(request.body.toString("utf8"));
  const path = request.path.length > 600 ? `${request.path.slice(0, 600)}… (${request.path.length} characters)` : request.path;
  return `${request.method} ${path}${request.chunked ? " [chunked]" : ""}\n      headers: ${headers}\n      body: ${body}`;
}

// ---------------------------------------------------------------------------------------------
// The service under fuzz

let service: TestService;
let base: URL;
let pools: Pools;
let credentials: Record<Auth, Record<string, string>>;
let tokenNames: Record<string, string>;
/** Error-level lines of the service's log (unhandled errors behind a 5xx land here). */
const serverErrors: string[] = [];
const timings: string[] = [];

async function api(method: Method, path: string, body?: unknown): Promise<{ status: number; json: () => Record<string, unknown> }> {
  const outcome = await send(base, {
    endpoint: "setup",
    method,
    path: `/v0.1/apps/${OWNER}/${APP}${path}`,
    headers: { "x-api-token": service.token, ...(body === undefined ? {} : { "content-type": "application/json" }) },
    body: body === undefined ? undefined : Buffer.from(JSON.stringify(body)),
    chunked: false,
  });
  if ("failure" in outcome) throw new Error(`setup ${method} ${path}: ${outcome.failure}`);
  return { status: outcome.status, json: () => JSON.parse(outcome.body.toString("utf8")) as Record<string, unknown> };
}

async function created(method: Method, path: string, body: unknown, field: string): Promise<string> {
  const response = await api(method, path, body);
  const value = response.json()[field];
  if (response.status >= 300 || typeof value !== "string") throw new Error(`setup ${method} ${path}: ${response.status} ${JSON.stringify(response.json())}`);
  return value;
}

beforeAll(async () => {
  service = await startService({
    // Nothing the fuzz sends may make the service connect anywhere: no loopback, and only hosts that never resolve.
    outbound: { allowLoopback: false, allowedHosts: [`*.${FUZZ_HOST_SUFFIX}`] },
    authFailuresPerMinute: 1_000_000,
    rateLimitPerMinute: 100_000_000,
    logger: { level: "error", stream: { write: (line: string) => void serverErrors.push(line) } },
  });
  base = new URL(await service.listen());

  // Things for the fuzz to find: devices, audiences, a notification, exports, tokens, a configuration, broadcast reports.
  const installIds = fc.sample(fc.uuid({ version: 4 }), { seed: SEED, numRuns: 40 });
  const bulk = installIds
    .map((id, index) =>
      JSON.stringify({ install_id: id, user_id: USER_IDS[index % USER_IDS.length], properties: { carrierCountry: index % 2 ? "US" : "CA", osApiLevel: index }, custom_properties: { "dog-lover": index % 3 === 0, visits: index }, push: { channel: "apns", token: `t-${id}` } }),
    )
    .join("\n");
  const ingested = await send(base, { endpoint: "setup", method: "POST", path: `/v0.1/apps/${OWNER}/${APP}/ingest/devices/bulk`, headers: { "x-api-token": service.token, "content-type": "application/x-ndjson" }, body: Buffer.from(bulk), chunked: false });
  if ("failure" in ingested || ingested.status !== 200) throw new Error(`setup: bulk ingestion failed: ${JSON.stringify(ingested)}`);
  const audienceNames = ["fuzz-dog-lovers", "fuzz us", "Zürich 😀"];
  for (const name of audienceNames) {
    const response = await api("PUT", `/analytics/audiences/${encodeURIComponent(name)}`, { definition: "dog-lover eq true", custom_properties: { "dog-lover": "boolean" } });
    if (response.status !== 200) throw new Error(`setup: audience ${name}: ${response.status}`);
  }
  await api("PUT", "/push/notifications_config", { type: "gcm_config", server_key: "fuzz-server-key-0123456789" });
  const notificationId = await created("POST", "/push/notifications", { notification_content: { name: "fuzz", body: "hello" }, notification_target: { type: "devices_target", devices: installIds.slice(0, 3) } }, "notification_id");
  const sas = `https://acct.${FUZZ_HOST_SUFFIX}/exports?sv=2024-08-04&se=${encodeURIComponent(isoDaysFromNow(7))}&sr=c&sp=cw&sig=c2lnbmF0dXJl`;
  const deviceExportId = await created("POST", "/push/device_exports", { blob_container_sas_uri: sas }, "export_id");
  const exportJobId = await created("POST", "/export_jobs", { kind: "device_export", schedule: "@daily", blob_container_sas_uri: sas }, "id");
  await api("PUT", "/retention_policies", { blob_container_sas_uri: sas.replace("sp=cw", "sp=dl"), retention_days: 30 });
  const tokenBody = (dataset: string) => ({ name: "fuzz", bundle_id: "com.acme.demo", dataset, expires_at: isoDaysFromNow(30) });
  const applicationToken = await api("POST", "/data_export_tokens", tokenBody("broadcast_application_metrics"));
  const channelToken = await api("POST", "/data_export_tokens", tokenBody("broadcast_channel_metrics"));
  const spareTokenId = await created("POST", "/data_export_tokens", tokenBody("broadcast_application_metrics"), "id");
  const exportConfigurationId = await created(
    "POST",
    "/export_configurations",
    { type: "blob_storage_connection_string", connection_string: `BlobEndpoint=https://acct.${FUZZ_HOST_SUFFIX};AccountName=acct;AccountKey=a2V5a2V5a2V5` },
    "id",
  );
  const applicationMetricsToken = applicationToken.json().token as string;
  const channelMetricsToken = channelToken.json().token as string;
  credentials = {
    api: { "x-api-token": service.token },
    "application-metrics": { "x-apple-cloudkit-management-token": applicationMetricsToken },
    "channel-metrics": { "x-apple-cloudkit-management-token": channelMetricsToken },
    "signed-url": {},
    braze: { authorization: `Bearer ${service.token}` },
  };
  tokenNames = { "acme/demo API token": service.token, "application metrics token": applicationMetricsToken, "channel metrics token": channelMetricsToken };

  // A finished report, for a real signed download URL to start mutating from.
  const cloudKit = async (method: Method, path: string, token: string, body?: unknown) => {
    const outcome = await send(base, {
      endpoint: "setup",
      method,
      path,
      headers: { "x-apple-cloudkit-management-token": token, ...(body === undefined ? {} : { "content-type": "application/json" }) },
      body: body === undefined ? undefined : Buffer.from(JSON.stringify(body)),
      chunked: false,
    });
    if ("failure" in outcome) throw new Error(`setup ${path}: ${outcome.failure}`);
    return JSON.parse(outcome.body.toString("utf8")) as Record<string, unknown>;
  };
  const { statusUrl } = (await cloudKit("POST", `${CLOUDKIT}/application/export`, applicationMetricsToken, { startDate: isoDay(3), endDate: isoDay(1) })) as { statusUrl: string };
  const { statusUrl: channelStatusUrl } = (await cloudKit("POST", `${CLOUDKIT}/channel/export`, channelMetricsToken, { startDate: isoDay(3), endDate: isoDay(1), channelId: Buffer.from("fuzz-dog-lovers").toString("base64") })) as { statusUrl: string };
  let status = await cloudKit("GET", statusUrl, applicationMetricsToken);
  for (let i = 0; i < 200 && status.status === "PROCESSING"; i++) {
    await service.services.idle();
    status = await cloudKit("GET", statusUrl, applicationMetricsToken);
  }
  if (status.status !== "SUCCESS") throw new Error(`setup: broadcast report ended ${JSON.stringify(status)}`);
  const dataUrl = new URL((status.downloadDetails as { dataUrl: string }).dataUrl, base);
  pools = {
    installIds,
    audienceNames,
    notificationIds: [notificationId],
    exportRunIds: [deviceExportId],
    exportJobIds: [exportJobId],
    dataExportTokenIds: [spareTokenId],
    exportConfigurationIds: [exportConfigurationId],
    broadcastRequestIds: [statusUrl.split("/").at(-1)!, channelStatusUrl.split("/").at(-1)!],
    download: { id: dataUrl.pathname.split("/").at(-1)!, expires: dataUrl.searchParams.get("expires")!, sig: dataUrl.searchParams.get("sig")! },
  };
}, 120_000);

afterAll(async () => {
  agent.destroy();
  await service?.close();
  if (timings.length > 0) console.log(`fuzz timings (seed ${SEED}):\n  ${timings.join("\n  ")}`);
});

const FAMILIES = ["audiences", "ingest", "notifications", "exports", "data_export_tokens", "export_configurations", "cloudkit", "background_work", "account_dsr", "braze", "data_subject_requests"] as const;

describe(`${REQUESTS_PER_FAMILY} fuzzed requests per route family through the HTTP server (seed ${SEED})`, () => {
  FAMILIES.forEach((family, familyIndex) => {
    it(
      family,
      async () => {
        const endpoints = routeFamilies(pools)[family]!;
        const seed = SEED + familyIndex;
        const requests = fc.sample(fc.oneof(...endpoints.map((endpoint) => requestArbitrary(endpoint, credentials))), { seed, numRuns: REQUESTS_PER_FAMILY });
        expect(requests.length).toBe(REQUESTS_PER_FAMILY);

        const findings = new Map<string, Finding>();
        const statuses = new Map<number, number>();
        const errorsBefore = serverErrors.length;
        const started = performance.now();
        let next = 0;
        await Promise.all(
          Array.from({ length: IN_FLIGHT }, async () => {
            while (next < requests.length) {
              const request = requests[next++]!;
              const outcome = await send(base, request);
              if ("status" in outcome) statuses.set(outcome.status, (statuses.get(outcome.status) ?? 0) + 1);
              const problem = problemWith(request, outcome);
              if (!problem) continue;
              // The router's own errors (FST_…) are one finding whatever the route; anything else is per route.
              const signature = problem.kind.includes("(FST_") ? problem.kind : `${problem.kind} — ${request.endpoint}`;
              const known = findings.get(signature);
              if (known) {
                known.count++;
                known.endpoints.add(request.endpoint);
              } else findings.set(signature, { signature, count: 1, endpoints: new Set([request.endpoint]), request, detail: problem.detail });
            }
          }),
        );
        const seconds = (performance.now() - started) / 1000;
        const statusSummary = [...statuses.entries()].sort(([a], [b]) => a - b).map(([status, count]) => `${status}×${count}`).join(" ");
        timings.push(`${family}: ${requests.length} requests (${endpoints.length} endpoints) in ${seconds.toFixed(1)} s (${(requests.length / seconds).toFixed(0)}/s; seed ${seed}): ${statusSummary}`);

        // A 5xx comes with the service's error log of the run, and a replay of the request alone
        // (which may not reproduce: some failures depend on the process's state, e.g. how far V8 has optimized).
        const familyErrors = serverErrors.slice(errorsBefore, errorsBefore + 5).map((line) => line.slice(0, 2_000));
        for (const finding of findings.values()) {
          if (!/^5\d\d/.test(finding.signature)) continue;
          finding.serverLog = familyErrors;
          const replayed = await send(base, finding.request);
          finding.replay = "status" in replayed ? `${replayed.status} ${replayed.body.toString("utf8").slice(0, 200)}` : replayed.failure;
        }
        const report = [...findings.values()].map(
          (finding) =>
            `${finding.signature} (${finding.count}× on ${finding.endpoints.size} route(s))\n    e.g. ${describeRequest(finding.request, tokenNames)}\n    answer: ${finding.detail}` +
            (finding.serverLog ? `\n    service error log during the run:\n      ${finding.serverLog.join("\n      ") || "(nothing)"}\n    replayed alone: ${finding.replay}` : ""),
        );
        if (report.length > 0) console.log(`fuzz findings in ${family} (seed ${seed}):\n${report.join("\n")}`);
        expect(report, `fuzz findings in ${family}; replay with PUSHPLANE_FUZZ_SEED=${SEED}`).toEqual([]);
      },
      FAMILY_TIMEOUT_MS,
    );
  });

  it("the server still answers /healthz after the fuzz", async () => {
    const outcome = await send(base, { endpoint: "health", method: "GET", path: "/healthz", headers: {}, body: undefined, chunked: false });
    expect("status" in outcome && outcome.status).toBe(200);
    expect("status" in outcome && JSON.parse(outcome.body.toString("utf8"))).toEqual({ status: "ok" });
  });
});

describe("a freshly started service (the first requests after a start)", () => {
  it("answers 400, not 500, to the deepest nesting a 2,000-character definition admits", async () => {
    // The fuzz above runs against a warm process, where V8 has optimized the parser and it recurses
    // deeper; a service that just started is where a deep definition overflows first.
    const root = fileURLToPath(new URL("../..", import.meta.url));
    const dataDir = mkdtempSync(join(tmpdir(), "pushplane-fuzz-cold-"));
    const cli = ["--import", "tsx", "service/cli.ts"];
    const token = execFileSync(process.execPath, [...cli, "token", "create", "--owner", OWNER, "--app", APP, "--data-dir", dataDir], { cwd: root, encoding: "utf8" }).trim().split("\n").at(-1)!;
    const child = spawn(process.execPath, [...cli, "serve", "--port", "0", "--data-dir", dataDir], { cwd: root, env: { ...process.env, PUSHPLANE_LOG_LEVEL: "error" } });
    let log = "";
    child.stdout.on("data", (chunk: Buffer) => (log += chunk.toString("utf8")));
    child.stderr.on("data", (chunk: Buffer) => (log += chunk.toString("utf8")));
    try {
      const address = await new Promise<string>((resolve, reject) => {
        const timer = setTimeout(() => reject(new Error(`the service did not start within 30 s:\n${log}`)), 30_000);
        child.stdout.on("data", () => {
          const listening = /listening on (http:\/\/\S+)/.exec(log);
          if (listening) {
            clearTimeout(timer);
            resolve(listening[1]!);
          }
        });
        child.on("exit", (code) => reject(new Error(`the service exited (${code}):\n${log}`)));
      });
      const definition = "(".repeat(LIMITS.audienceDefinitionLength.value);
      const answers: string[] = [];
      for (const [method, path] of [["POST", "definition/test"], ["PUT", "cold-start"]] as const) {
        const response = await fetch(`${address}/v0.1/apps/${OWNER}/${APP}/analytics/audiences/${path}`, {
          method,
          headers: { "x-api-token": token, "content-type": "application/json" },
          body: JSON.stringify({ definition }),
        });
        answers.push(`${method} ${path}: ${response.status} ${await response.text()}`);
      }
      expect(answers, `service log:\n${log.slice(0, 3_000)}`).toEqual([expect.stringMatching(/^POST definition\/test: 400 /), expect.stringMatching(/^PUT cold-start: 400 /)]);
    } finally {
      if (child.exitCode === null) {
        child.kill("SIGTERM");
        await once(child, "exit");
      }
      rmSync(dataDir, { recursive: true, force: true });
    }
  }, 60_000);
});

// ---------------------------------------------------------------------------------------------
// The definition parser

/** Pieces of the grammar, so mutations land near valid syntax rather than only in the lexer's first error. */
const GRAMMAR_PIECES = ["(", ")", "'", "''", "=", "!=", "<", ">", "<=", ">=", "eq", "ne", "lt", "and", "or", "not", " ", "-", ".", "e", "E", "T", ":", "Z", "+", "1", "0", "2024-02-30", "2024-01-01T25:00", "9999-99-99", "1e999", "1.2.3", "true", "osApiLevel", "dog-lover", "\u0000", "😀", "\ud800"];

type TextMutation = { kind: "insert" | "delete" | "duplicate" | "replace" | "truncate" | "wrap"; at: number; length: number; piece: string };
const textMutation: fc.Arbitrary<TextMutation> = fc.record({
  kind: fc.constantFrom<TextMutation["kind"]>("insert", "delete", "duplicate", "replace", "truncate", "wrap"),
  at: fc.nat(),
  length: fc.integer({ min: 0, max: 40 }),
  piece: fc.oneof(fc.constantFrom(...GRAMMAR_PIECES), fc.string({ unit: "binary", maxLength: 4 })),
});

function mutateText(text: string, mutation: TextMutation): string {
  const at = mutation.at % (text.length + 1);
  switch (mutation.kind) {
    case "insert":
      return text.slice(0, at) + mutation.piece + text.slice(at);
    case "delete":
      return text.slice(0, at) + text.slice(at + mutation.length);
    case "duplicate":
      return text.slice(0, at + mutation.length) + text.slice(at, at + mutation.length) + text.slice(at);
    case "replace":
      return text.slice(0, at) + mutation.piece + text.slice(at + mutation.piece.length);
    case "truncate":
      return text.slice(0, at);
    case "wrap":
      // Up to 200 levels per mutation, balanced or not; nesting near the stack's depth has tests of its own below.
      return "(".repeat(mutation.length * 5) + text + ")".repeat((mutation.length * 5 + at) % 201);
  }
}

/** Mutated definitions, cut to the 2,000 characters the service admits before it parses (it refuses longer ones by length). */
const mutatedDefinition = fc
  .tuple(definitionArbitrary, fc.array(textMutation, { minLength: 1, maxLength: 4 }))
  .map(([definition, mutations]) => mutations.reduce(mutateText, definition).slice(0, LIMITS.audienceDefinitionLength.value));
const grammarSoup = fc.array(fc.constantFrom(...GRAMMAR_PIECES), { maxLength: 40 }).chain((pieces) => fc.constantFrom(" ", "").map((separator) => pieces.join(separator)));

/** Runs the parser and answers what it threw, if that was anything but its own error. */
function foreignThrow(text: string): unknown {
  try {
    parseDefinition(text);
  } catch (error) {
    if (!(error instanceof DefinitionError)) return error;
  }
  return undefined;
}

describe("parseDefinition on arbitrary text (seed " + SEED + ")", () => {
  it("throws only DefinitionError on 20,000 arbitrary strings and mutated definitions", () => {
    let runs = 0;
    fc.assert(
      fc.property(
        fc.oneof(fc.string({ maxLength: 300 }), fc.string({ unit: "binary", maxLength: 300 }), fc.string({ unit: "grapheme", maxLength: 300 }), mutatedDefinition, mutatedDefinition, grammarSoup),
        (text) => {
          runs++;
          const thrown = foreignThrow(text);
          if (thrown !== undefined) throw new Error(`parseDefinition threw ${(thrown as Error).name}: ${(thrown as Error).message} (input of ${text.length} characters)`);
        },
      ),
      { seed: SEED, numRuns: 20_000 },
    );
    expect(runs).toBeGreaterThanOrEqual(20_000);
  });

  /** Parentheses `depth` deep: balanced around one comparison, only opened, or alternating with `and`. */
  const nested = (depth: number, shape: "balanced" | "open" | "alternating") =>
    shape === "balanced"
      ? "(".repeat(depth) + "osApiLevel eq 1" + ")".repeat(depth)
      : shape === "open"
        ? "(".repeat(depth)
        : "osApiLevel eq 1 and (".repeat(depth) + "osApiLevel eq 2" + ")".repeat(depth);
  const SHAPES = ["balanced", "open", "alternating"] as const;
  /** The deepest nesting of each shape that fits in `length` characters. */
  const deepestWithin = (length: number, shape: (typeof SHAPES)[number]) =>
    shape === "balanced" ? Math.floor((length - 15) / 2) : shape === "open" ? length : Math.floor((length - 15) / 22);
  const nestingProperty = (maxDepth: (shape: (typeof SHAPES)[number]) => number) =>
    fc.property(
      fc.constantFrom(...SHAPES).chain((shape) => fc.tuple(fc.constant(shape), fc.integer({ min: 1, max: maxDepth(shape) }))),
      ([shape, depth]) => {
        const text = nested(depth, shape);
        const thrown = foreignThrow(text);
        if (thrown !== undefined) throw new Error(`parseDefinition threw ${(thrown as Error).name}: ${(thrown as Error).message} at ${depth} levels (${shape}, ${text.length} characters)`);
      },
    );

  it("fails with DefinitionError, not a stack overflow, on the deepest nesting the API's 2,000 characters admit", () => {
    // What the service parses on PUT and definition/test: a RangeError here is a 500 there. How deep
    // the parser can recurse depends on how far V8 has optimized it (a process that has parsed
    // thousands of definitions goes deeper than one that just started), so this runs in a fresh
    // process, as the first request after a start would.
    const limit = LIMITS.audienceDefinitionLength.value;
    const script = `
      const { parseDefinition } = await import(${JSON.stringify(new URL("../../domain/definition/parser.ts", import.meta.url).href)});
      const { DefinitionError } = await import(${JSON.stringify(new URL("../../domain/definition/errors.ts", import.meta.url).href)});
      const results = {};
      for (const [shape, text] of ${JSON.stringify(SHAPES.map((shape) => [shape, nested(deepestWithin(limit, shape), shape)]))}) {
        try { parseDefinition(text); results[shape] = "parsed"; }
        catch (error) { results[shape] = error instanceof DefinitionError ? "DefinitionError" : error.name + ": " + error.message; }
      }
      console.log(JSON.stringify(results));`;
    const child = spawnSync(process.execPath, ["--import", "tsx", "--input-type=module", "-e", script], { cwd: new URL("../..", import.meta.url), encoding: "utf8", timeout: 60_000 });
    expect(child.status, child.stderr).toBe(0);
    const results = JSON.parse(child.stdout.trim().split("\n").at(-1)!) as Record<string, string>;
    // Parsed, or refused as a definition error (the grammar's nesting limit): never a RangeError.
    expect(results).toEqual({ balanced: expect.stringMatching(/^(parsed|DefinitionError)$/), open: "DefinitionError", alternating: expect.stringMatching(/^(parsed|DefinitionError)$/) });
  });

  it("fails with DefinitionError, not a stack overflow, however deep the parentheses go", () => {
    // Beyond the API's limit, but parseDefinition is exported from domain/ for the provider, the
    // policy pack and the service alike, and its contract is DefinitionError.
    fc.assert(nestingProperty(() => 100_000), { seed: SEED, numRuns: 300 });
  });
});
