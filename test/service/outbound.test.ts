// The outbound policy: which URLs the service may reach (static checks, connection strings), that
// names resolving to forbidden addresses are refused at connect time, and that requests through it
// (fetch and the storage SDK) neither follow redirects nor wait forever. Network tests use loopback only.
import { BlobServiceClient, ContainerSASPermissions, StorageSharedKeyCredential } from "@azure/storage-blob";
import { createServer as createHttpServer, request as httpRequest, type IncomingMessage, type Server as HttpServer } from "node:http";
import { request as httpsRequest } from "node:https";
import { createServer as createTcpServer, type Server as TcpServer, type Socket } from "node:net";
import { afterAll, afterEach, beforeAll, describe, expect, it } from "vitest";
import { ApiError } from "../../service/errors.ts";
import { classifyAddress } from "../../domain/index.ts";
import { defaultOutboundPolicy, Outbound, OutboundRefusedError, redactSecrets, redactUrl, type OutboundPolicy } from "../../service/outbound.ts";
import { startAzurite, type Azurite } from "../helpers/azurite.ts";

const FIELD = "blob_container_sas_uri";
const SIG = "TOPSECRETSIG%2Bz";
const SAS = `?sv=2024-08-04&sr=c&sp=cw&sig=${SIG}`;
const ACCOUNT_KEY = "U0VDUkVUS0VZU0VDUkVUS0VZU0VDUkVUS0VZ"; // base64 of SECRETKEY…
const AZURITE_KEY = "Eby8vdM02xNOcqFlqUwJPLlmEtlCDXJ1OUzFT50uSRZ6IFsuFq2UVErCz4I6tq/K1SZFPTOtr/KBHBeksoGMGw==";

/** The ApiError a call throws (fails the test if it does not throw one). */
function refusal(call: () => unknown): ApiError {
  try {
    call();
  } catch (error) {
    expect(error).toBeInstanceOf(ApiError);
    expect((error as ApiError).code).toBe("BadRequest");
    return error as ApiError;
  }
  throw new Error("expected a refusal, but the call was accepted");
}

const strict = new Outbound();
const dev = new Outbound({ allowLoopback: true });

describe("checkUrl refuses", () => {
  const cases: [string, string, Outbound, string][] = [
    ["a file URL", "file:///etc/passwd", strict, "only https URLs are allowed (got 'file:')"],
    ["a gopher URL", `gopher://acct.blob.core.windows.net:70/_${SAS}`, strict, "only https URLs are allowed (got 'gopher:')"],
    ["a data URL", "data:text/plain,hello", strict, "only https URLs are allowed (got 'data:')"],
    ["http to a blob host", `http://acct.blob.core.windows.net/c${SAS}`, strict, "only https URLs are allowed (got 'http:')"],
    ["http to a blob host, even in development", `http://acct.blob.core.windows.net/c${SAS}`, dev, "plain http is allowed only to loopback hosts"],
    ["credentials", `https://user:hunter2@acct.blob.core.windows.net/c${SAS}`, strict, "the URL must not carry credentials (user:password@)"],
    ["a user name alone", `https://acct.blob.core.windows.net@evil.example.com/c${SAS}`, strict, "must not carry credentials"],
    ["the metadata endpoint", "https://169.254.169.254/latest/meta-data/", strict, "host '169.254.169.254' is not allowed: link-local address"],
    ["the metadata endpoint in development", "http://169.254.169.254/latest/meta-data/", dev, "host '169.254.169.254' is not allowed: link-local address"],
    ["10/8", `https://10.0.0.1/c${SAS}`, strict, "host '10.0.0.1' is not allowed: private address"],
    ["10/8 in development", `http://10.0.0.1:10000/c${SAS}`, dev, "host '10.0.0.1' is not allowed: private address"],
    ["192.168/16", `https://192.168.1.1/c${SAS}`, strict, "host '192.168.1.1' is not allowed: private address"],
    ["172.16/12", `https://172.16.0.1/c${SAS}`, strict, "host '172.16.0.1' is not allowed: private address"],
    ["172.31 (end of 172.16/12)", `https://172.31.255.254/c${SAS}`, strict, "private address"],
    ["100.64/10 (CGNAT)", `https://100.64.0.1/c${SAS}`, strict, "host '100.64.0.1' is not allowed: shared address space"],
    ["0.0.0.0", `https://0.0.0.0/c${SAS}`, strict, "host '0.0.0.0' is not allowed: unspecified address"],
    ["0.0.0.0 in development", `http://0.0.0.0:10000/c${SAS}`, dev, "host '0.0.0.0' is not allowed: unspecified address"],
    ["multicast", `https://224.0.0.1/c${SAS}`, strict, "multicast address"],
    ["broadcast", `https://255.255.255.255/c${SAS}`, strict, "reserved address"],
    ["127.0.0.1", `https://127.0.0.1/c${SAS}`, strict, "host '127.0.0.1' is not allowed: loopback address"],
    ["[::1]", `https://[::1]/c${SAS}`, strict, "host '[::1]' is not allowed: loopback address"],
    ["[::]", `https://[::]/c${SAS}`, dev, "host '[::]' is not allowed: unspecified address"],
    ["[fe80::1]", `https://[fe80::1]/c${SAS}`, dev, "host '[fe80::1]' is not allowed: link-local address"],
    ["[fc00::1]", `https://[fc00::1]/c${SAS}`, dev, "private address"],
    ["[fd12::1]", `https://[fd12:3456::1]/c${SAS}`, dev, "private address"],
    ["[ff02::1]", `https://[ff02::1]/c${SAS}`, dev, "multicast address"],
    ["IPv4-mapped loopback", `https://[::ffff:127.0.0.1]/c${SAS}`, strict, "loopback address (127.0.0.1 in IPv4-mapped IPv6 form)"],
    ["IPv4-mapped loopback, even in development", `http://[::ffff:127.0.0.1]:10000/c${SAS}`, dev, "loopback address (127.0.0.1 in IPv4-mapped IPv6 form)"],
    ["IPv4-mapped metadata endpoint", `https://[::ffff:a9fe:a9fe]/c${SAS}`, dev, "link-local address (where cloud metadata endpoints live) (169.254.169.254 in IPv4-mapped IPv6 form)"],
    ["IPv4-mapped private", `https://[::ffff:10.0.0.1]/c${SAS}`, strict, "private address (10.0.0.1 in IPv4-mapped IPv6 form)"],
    ["NAT64 of a private address", `https://[64:ff9b::a00:1]/c${SAS}`, strict, "private address (10.0.0.1 in NAT64 IPv6 form)"],
    ["6to4 of the metadata endpoint", `https://[2002:a9fe:a9fe::1]/c${SAS}`, strict, "169.254.169.254 in 6to4 IPv6 form"],
    ["decimal 2130706433", `https://2130706433/c${SAS}`, strict, "host '127.0.0.1' is not allowed: loopback address"],
    ["hex 0x7f000001", `https://0x7f000001/c${SAS}`, strict, "host '127.0.0.1' is not allowed: loopback address"],
    ["hex 0x7f.1", `https://0x7f.1/c${SAS}`, strict, "host '127.0.0.1' is not allowed: loopback address"],
    ["octal 0177.0.0.1", `https://0177.0.0.1/c${SAS}`, strict, "host '127.0.0.1' is not allowed: loopback address"],
    ["short 127.1", `https://127.1/c${SAS}`, strict, "host '127.0.0.1' is not allowed: loopback address"],
    ["percent-encoded 127.0.0.1", `https://%31%32%37.0.0.1/c${SAS}`, strict, "host '127.0.0.1' is not allowed: loopback address"],
    ["circled digits ①②⑦.0.0.1", `https://①②⑦.0.0.1/c${SAS}`, strict, "host '127.0.0.1' is not allowed: loopback address"],
    ["127.0.0.1 with a trailing dot", `https://127.0.0.1./c${SAS}`, strict, "host '127.0.0.1' is not allowed: loopback address"],
    ["IPv4-compatible loopback", `https://[::127.0.0.1]/c${SAS}`, dev, "loopback address (127.0.0.1 in IPv4-compatible IPv6 form)"],
    ["localhost with a trailing dot", `https://localhost./c${SAS}`, strict, "host 'localhost' is not among the allowed hosts"],
    ["decimal metadata endpoint", "https://2852039166/latest/meta-data/", dev, "host '169.254.169.254' is not allowed: link-local address"],
    ["localhost without allowLoopback", `https://localhost/c${SAS}`, strict, "host 'localhost' is not among the allowed hosts"],
    ["a public host not on the list", `https://evil.example.com/c${SAS}`, strict, "host 'evil.example.com' is not among the allowed hosts (*.blob.core.windows.net, *.blob.core.chinacloudapi.cn, *.blob.core.usgovcloudapi.net, *.blob.storage.azure.net); an operator can allow more with --outbound-allow-host"],
    ["a look-alike suffix", `https://acct.blob.core.windows.net.evil.example.com/c${SAS}`, strict, "is not among the allowed hosts"],
    ["the bare wildcard suffix", `https://blob.core.windows.net/c${SAS}`, strict, "is not among the allowed hosts"],
    ["a fragment trick", `https://evil.example.com#@acct.blob.core.windows.net/c`, strict, "host 'evil.example.com' is not among the allowed hosts"],
    ["a backslash trick", `https://evil.example.com\\@acct.blob.core.windows.net/c`, strict, "host 'evil.example.com' is not among the allowed hosts"],
    ["a public address not on the list", `https://8.8.8.8/c${SAS}`, strict, "host '8.8.8.8' is not among the allowed hosts"],
    ["another port on a blob host", `https://acct.blob.core.windows.net:8443/c${SAS}`, strict, "port 8443 is not allowed for host 'acct.blob.core.windows.net'"],
    ["not a URL", `acct.blob.core.windows.net/c${SAS}`, strict, "not a valid absolute URL"],
  ];
  it.each(cases)("%s", (_name, url, outbound, rule) => {
    const error = refusal(() => outbound.checkUrl(FIELD, url));
    expect(error.message).toContain(`${FIELD}: `);
    expect(error.message.startsWith(`${FIELD}: `)).toBe(true);
    expect(error.message).toContain(rule);
    // Never the signature, the password or the query.
    expect(error.message).not.toContain("TOPSECRET");
    expect(error.message).not.toContain("hunter2");
    expect(error.message).not.toContain("sig=");
  });
});

describe("checkUrl accepts", () => {
  it("a container SAS URL on Azure Blob storage (any cloud), as given", () => {
    const text = `https://acct.blob.core.windows.net/exports${SAS}`;
    expect(strict.checkUrl(FIELD, text).href).toBe(text);
    expect(strict.checkUrl(FIELD, `https://ACCT.Blob.Core.Windows.NET/c${SAS}`).hostname).toBe("acct.blob.core.windows.net");
    expect(strict.checkUrl(FIELD, `https://acct.blob.core.windows.net:443/c${SAS}`).port).toBe("");
    expect(strict.checkUrl(FIELD, `https://acct.blob.core.windows.net./c${SAS}`).hostname).toBe("acct.blob.core.windows.net.");
    for (const host of ["acct.blob.core.chinacloudapi.cn", "acct.blob.core.usgovcloudapi.net", "acct.z12.blob.storage.azure.net", "a.b.blob.core.windows.net"]) {
      expect(strict.checkUrl(FIELD, `https://${host}/c${SAS}`).hostname).toBe(host);
    }
  });

  it("http to loopback on any port, only with allowLoopback (Azurite)", () => {
    for (const url of ["http://127.0.0.1:10000/devstoreaccount1/c", "http://localhost:10000/devstoreaccount1/c", "http://[::1]:10000/devstoreaccount1/c", "https://127.0.0.1:8788/x"]) {
      expect(dev.checkUrl(FIELD, url).href).toBe(url);
      refusal(() => strict.checkUrl(FIELD, url));
    }
  });

  it("hosts an operator adds, with a port only if the entry names it", () => {
    const outbound = new Outbound({ allowedHosts: [...defaultOutboundPolicy.allowedHosts, "hooks.example.com", "*.hooks.example.org", "alt.example.net:8443"] });
    expect(outbound.checkUrl("callback_endpoint", "https://hooks.example.com/done").hostname).toBe("hooks.example.com");
    expect(outbound.checkUrl("callback_endpoint", "https://eu.hooks.example.org/done").hostname).toBe("eu.hooks.example.org");
    expect(outbound.checkUrl("callback_endpoint", "https://alt.example.net:8443/done").port).toBe("8443");
    expect(refusal(() => outbound.checkUrl("callback_endpoint", "https://alt.example.net:8444/done")).message).toContain("port 8444 is not allowed");
    expect(refusal(() => outbound.checkUrl("callback_endpoint", "https://sub.hooks.example.com/done")).message).toContain("not among the allowed hosts");
    // The allowlist never overrides the address rules.
    expect(refusal(() => new Outbound({ allowedHosts: ["10.0.0.1"] }).checkUrl("callback_endpoint", "https://10.0.0.1/")).message).toContain("private address");
  });

  it("refuses policies that would allow too much or are not host patterns", () => {
    for (const entry of ["*", "*.com", "https://hooks.example.com", "hooks.example.com/path", "user@hooks.example.com", ""]) {
      expect(() => new Outbound({ allowedHosts: [entry] }), entry).toThrow(/outbound policy/);
    }
    expect(() => new Outbound({ requestTimeoutMs: 0 })).toThrow(/requestTimeoutMs/);
  });
});

describe("classifyAddress", () => {
  it("passes public unicast, including public IPv4 in IPv6 forms", () => {
    for (const address of ["8.8.8.8", "20.60.0.1", "2606:4700::1111", "::ffff:8.8.8.8", "64:ff9b::808:808"]) expect(classifyAddress(address), address).toEqual({ kind: "public" });
    for (const address of ["127.0.0.1", "127.255.0.9", "::1"]) expect(classifyAddress(address), address).toEqual({ kind: "loopback" });
    for (const address of ["fe80::1%eth0", "::", "::2", "2001:db8::1", "100::1", "2001::1", "::ffff:0:a00:1", "not-an-ip"]) expect(classifyAddress(address).kind, address).toBe("forbidden");
  });
});

describe("checkConnectionString", () => {
  const azure = `DefaultEndpointsProtocol=https;AccountName=acct;AccountKey=${ACCOUNT_KEY};EndpointSuffix=core.windows.net`;

  it("derives the blob endpoint of an Azure account", () => {
    expect(strict.checkConnectionString("connection_string", azure).href).toBe("https://acct.blob.core.windows.net/");
    expect(strict.checkConnectionString("connection_string", `AccountName=acct;AccountKey=${ACCOUNT_KEY}`).href).toBe("https://acct.blob.core.windows.net/");
    expect(strict.checkConnectionString("connection_string", `DefaultEndpointsProtocol=https;AccountName=acct;AccountKey=${ACCOUNT_KEY};EndpointSuffix=core.chinacloudapi.cn;`).hostname).toBe("acct.blob.core.chinacloudapi.cn");
    expect(strict.checkConnectionString("connection_string", `BlobEndpoint=https://acct.blob.core.windows.net/;SharedAccessSignature=sv=2024&ss=b&sig=${SIG}`).hostname).toBe("acct.blob.core.windows.net");
  });

  it("accepts Azurite only with allowLoopback", () => {
    const azurite = `DefaultEndpointsProtocol=http;AccountName=devstoreaccount1;AccountKey=${AZURITE_KEY};BlobEndpoint=http://127.0.0.1:10000/devstoreaccount1;`;
    expect(dev.checkConnectionString("connection_string", azurite).href).toBe("http://127.0.0.1:10000/devstoreaccount1");
    expect(dev.checkConnectionString("connection_string", "UseDevelopmentStorage=true").href).toBe("http://127.0.0.1:10000/devstoreaccount1");
    expect(refusal(() => strict.checkConnectionString("connection_string", azurite)).message).toContain("loopback address");
    const development = refusal(() => strict.checkConnectionString("connection_string", "UseDevelopmentStorage=true")).message;
    expect(development).toMatch(/^connection_string \(UseDevelopmentStorage=true is Azurite at http:\/\/127\.0\.0\.1:10000\/devstoreaccount1\): host '127\.0\.0\.1' is not allowed: loopback address/);
  });

  const refused: [string, string, Outbound, string][] = [
    ["a BlobEndpoint at the metadata endpoint", `DefaultEndpointsProtocol=https;AccountName=acct;AccountKey=${ACCOUNT_KEY};BlobEndpoint=http://169.254.169.254/latest`, dev, "connection_string (BlobEndpoint): host '169.254.169.254' is not allowed: link-local address"],
    ["a BlobEndpoint elsewhere", `AccountName=acct;AccountKey=${ACCOUNT_KEY};BlobEndpoint=https://evil.example.com`, strict, "host 'evil.example.com' is not among the allowed hosts"],
    ["a BlobEndpoint with credentials", `AccountName=acct;AccountKey=${ACCOUNT_KEY};BlobEndpoint=https://u:hunter2@acct.blob.core.windows.net`, strict, "must not carry credentials"],
    ["an EndpointSuffix elsewhere", `AccountName=acct;AccountKey=${ACCOUNT_KEY};EndpointSuffix=evil.example.com`, strict, "host 'acct.blob.evil.example.com' is not among the allowed hosts"],
    ["an AccountName that would move the host", `AccountName=169.254.169.254#;AccountKey=${ACCOUNT_KEY}`, dev, "AccountName must be 3 to 24 lowercase letters and digits"],
    ["plain http to Azure", `DefaultEndpointsProtocol=http;AccountName=acct;AccountKey=${ACCOUNT_KEY}`, strict, "only https URLs are allowed (got 'http:')"],
    ["a proxied development account", "UseDevelopmentStorage=true;DevelopmentStorageProxyUri=http://10.0.0.1", dev, "DevelopmentStorageProxyUri is not supported"],
    ["a part without a key", `AccountName=acct;${ACCOUNT_KEY}`, strict, "part 2 has no key"],
    ["no credential", "AccountName=acct;EndpointSuffix=core.windows.net", strict, "needs an AccountKey or a SharedAccessSignature"],
    ["a repeated key", `AccountName=acct;AccountKey=${ACCOUNT_KEY};BlobEndpoint=https://acct.blob.core.windows.net;blobendpoint=https://10.0.0.1`, strict, "blobendpoint is given more than once"],
    ["a key that is not base64", `AccountName=acct;AccountKey=${ACCOUNT_KEY}!`, strict, "AccountKey is not base64"],
  ];
  it.each(refused)("refuses %s, without the key in the message", (_name, text, outbound, rule) => {
    const error = refusal(() => outbound.checkConnectionString("connection_string", text));
    expect(error.message).toContain(rule);
    expect(error.message).not.toContain(ACCOUNT_KEY);
    expect(error.message).not.toContain("hunter2");
  });
});

describe("redaction", () => {
  it("redactUrl keeps origin and path only", () => {
    expect(redactUrl(`https://u:hunter2@acct.blob.core.windows.net/c/x.json${SAS}#frag`)).toBe("https://acct.blob.core.windows.net/c/x.json");
    expect(redactUrl(new URL(`http://127.0.0.1:10000/devstoreaccount1/c${SAS}`))).toBe("http://127.0.0.1:10000/devstoreaccount1/c");
    expect(redactUrl("file:///etc/passwd?x=1")).toBe("file:///etc/passwd");
    expect(redactUrl(`not a url${SAS}`)).toBe("not a url");
  });

  it("redactSecrets removes signatures, tokens, keys and URL credentials from free text", () => {
    const text = [
      `PUT https://acct.blob.core.windows.net/c/b${SAS}&se=2030 failed`,
      "callback https://hooks.example.com/cb?token=abc123&api_key=k-999 answered 500",
      `DefaultEndpointsProtocol=https;AccountName=acct;AccountKey=${ACCOUNT_KEY}==;EndpointSuffix=core.windows.net`,
      `BlobEndpoint=https://acct.blob.core.windows.net;SharedAccessSignature=sv=2024&ss=b&sig=${SIG};`,
      "proxy at http://admin:hunter2@10.1.1.1:3128/ refused",
    ].join("\n");
    const redacted = redactSecrets(text);
    for (const secret of ["TOPSECRET", "abc123", "k-999", ACCOUNT_KEY, "ss=b", "hunter2", "admin"]) expect(redacted).not.toContain(secret);
    expect(redacted).toContain("sig=[redacted]&se=2030");
    expect(redacted).toContain("AccountName=acct;AccountKey=[redacted];EndpointSuffix");
    expect(redacted).toContain("SharedAccessSignature=[redacted];");
    expect(redacted).toContain("http://[redacted]@10.1.1.1:3128/");
  });
});

// ---------------------------------------------------------------------------------------------
// On the network (loopback only)

const closers: (() => Promise<void>)[] = [];
afterEach(async () => {
  while (closers.length > 0) await closers.pop()!();
});

interface Recorder {
  port: number;
  requests: string[];
}

async function httpServer(handle: (request: IncomingMessage, respond: (status: number, headers?: Record<string, string>, body?: string) => void) => void): Promise<Recorder> {
  const requests: string[] = [];
  const server: HttpServer = createHttpServer((request, response) => {
    requests.push(`${request.method} ${request.url}`);
    handle(request, (status, headers = {}, body = "") => response.writeHead(status, headers).end(body));
  });
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  closers.push(() => new Promise((resolve) => server.close(() => resolve()) && server.closeAllConnections()));
  return { port: (server.address() as { port: number }).port, requests };
}

/** A TCP server that accepts connections and never says anything (or, with drip, one byte at a time). */
async function blackHole(options: { drip?: boolean } = {}): Promise<{ port: number; connections: () => number }> {
  const sockets = new Set<Socket>();
  let connections = 0;
  const server: TcpServer = createTcpServer((socket) => {
    connections++;
    sockets.add(socket);
    socket.on("error", () => {});
    if (options.drip) {
      socket.write("HTTP/1.1 200 OK\r\ncontent-length: 1000000\r\n\r\n");
      const timer = setInterval(() => socket.write("x"), 50);
      socket.on("close", () => clearInterval(timer));
    }
  });
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  closers.push(async () => {
    for (const socket of sockets) socket.destroy();
    await new Promise<void>((resolve) => server.close(() => resolve()));
  });
  return { port: (server.address() as { port: number }).port, connections: () => connections };
}

const rejection = async (promise: Promise<unknown>): Promise<Error> => {
  try {
    await promise;
  } catch (error) {
    return error as Error;
  }
  throw new Error("expected a rejection, but it resolved");
};

const timed = async <T>(work: () => Promise<T>): Promise<[T, number]> => {
  const started = performance.now();
  const result = await work();
  return [result, performance.now() - started];
};

const devWith = (policy: Partial<OutboundPolicy>) => new Outbound({ allowLoopback: true, ...policy });

describe("fetch", () => {
  it("returns a redirect as it is, without following it", async () => {
    const target = await httpServer((_request, respond) => respond(200, {}, "followed"));
    const redirecting = await httpServer((_request, respond) => respond(302, { location: `http://127.0.0.1:${target.port}/landing` }, "moved"));
    const response = await devWith({}).fetch("callback_endpoint", `http://127.0.0.1:${redirecting.port}/cb?token=secret`, { method: "POST", headers: { "content-type": "application/json" }, body: "{}" });
    expect(response.status).toBe(302);
    expect(response.ok).toBe(false);
    expect(await response.text()).toBe("moved");
    expect(redirecting.requests).toEqual(["POST /cb?token=secret"]);
    expect(target.requests).toEqual([]);
  });

  it("gives up on a server that never answers within about requestTimeoutMs", async () => {
    const hole = await blackHole();
    const outbound = devWith({ requestTimeoutMs: 500 });
    const [error, elapsed] = await timed(() => rejection(outbound.fetch("callback_endpoint", `http://127.0.0.1:${hole.port}/cb?token=secret`)));
    expect(hole.connections()).toBe(1);
    expect(error.message).toMatch(/^callback_endpoint: GET http:\/\/127\.0\.0\.1:\d+\/cb /);
    expect(error.message).not.toContain("secret");
    expect(elapsed).toBeGreaterThanOrEqual(400);
    expect(elapsed).toBeLessThan(5_000);
  }, 10_000);

  it("bounds the whole exchange, not only silences (a server dripping a byte at a time)", async () => {
    const drip = await blackHole({ drip: true });
    const outbound = devWith({ requestTimeoutMs: 600 });
    const [error, elapsed] = await timed(() => rejection(outbound.fetch("callback_endpoint", `http://127.0.0.1:${drip.port}/cb`)));
    expect(error.message).toContain("got no complete answer within 600 ms");
    expect(elapsed).toBeLessThan(5_000);
  }, 10_000);

  it("bounds connecting by connectTimeoutMs (a TLS handshake that never completes)", async () => {
    const hole = await blackHole();
    const outbound = devWith({ connectTimeoutMs: 300, requestTimeoutMs: 8_000 });
    const [error, elapsed] = await timed(() => rejection(outbound.fetch("callback_endpoint", `https://127.0.0.1:${hole.port}/cb`)));
    expect(error.message).toContain("no connection to 127.0.0.1 within 300 ms");
    expect(elapsed).toBeLessThan(3_000);
  }, 10_000);

  it("honours the caller's signal", async () => {
    const hole = await blackHole();
    const controller = new AbortController();
    setTimeout(() => controller.abort(new Error("run cancelled")), 200);
    const [error, elapsed] = await timed(() => rejection(devWith({ requestTimeoutMs: 8_000 }).fetch("callback_endpoint", `http://127.0.0.1:${hole.port}/cb`, { signal: controller.signal })));
    expect(error.message).toBe("run cancelled");
    expect(elapsed).toBeLessThan(3_000);
  }, 10_000);

  it("refuses before connecting, and names failures without the query", async () => {
    await expect(strict.fetch("callback_endpoint", "https://10.0.0.1/cb")).rejects.toBeInstanceOf(ApiError);
    const closed = await httpServer(() => {});
    const port = closed.port;
    await closers.pop()!();
    const error = await rejection(dev.fetch("callback_endpoint", `http://127.0.0.1:${port}/cb?token=secret`));
    expect(error.message).toBe(`callback_endpoint: GET http://127.0.0.1:${port}/cb failed: connect ECONNREFUSED 127.0.0.1:${port}`);
  });

  it("refuses at connect time a name that resolves to loopback (the guarded lookup)", async () => {
    const listener = await blackHole();
    // The allowlist lets 'localhost' past the static check; only the lookup stands in the way.
    const outbound = new Outbound({ allowedHosts: [`localhost:${listener.port}`], connectTimeoutMs: 1_000 });
    expect(outbound.checkUrl("callback_endpoint", `https://localhost:${listener.port}/cb`).hostname).toBe("localhost");
    const error = await rejection(outbound.fetch("callback_endpoint", `https://localhost:${listener.port}/cb`));
    expect(error.message).toMatch(/host 'localhost' resolves to (127\.0\.0\.1|::1), which is not allowed: loopback address/);
    expect(listener.connections()).toBe(0);
  });
});

describe("guarded lookup and agents", () => {
  it("lookup refuses names resolving to loopback unless allowLoopback", async () => {
    const lookup = (outbound: Outbound) =>
      new Promise<unknown>((resolve, reject) => outbound.lookup("localhost", { all: true }, (error, addresses) => (error ? reject(error) : resolve(addresses))));
    const error = await rejection(lookup(strict));
    expect(error).toBeInstanceOf(OutboundRefusedError);
    expect(error.message).toContain("which is not allowed: loopback address");
    expect(await lookup(dev)).toEqual(expect.arrayContaining([expect.objectContaining({ address: expect.stringMatching(/^(127\.0\.0\.1|::1)$/) })]));
  });

  it("resolveAndCheck refuses what the lookup refuses, as a 400", async () => {
    const allowLocalhost = new Outbound({ allowedHosts: ["localhost"] });
    const error = await rejection(allowLocalhost.resolveAndCheck(new URL("https://localhost/cb"), "callback_endpoint"));
    expect(error).toBeInstanceOf(ApiError);
    expect(error.message).toMatch(/^callback_endpoint: host 'localhost' resolves to .*loopback address/);
    await expect(strict.resolveAndCheck(new URL("https://[::ffff:a9fe:a9fe]/"))).rejects.toThrow(/link-local/);
    expect(await dev.resolveAndCheck(new URL("http://localhost:10000/"))).not.toHaveLength(0);
  });

  it("agents refuse destinations that did not pass checkUrl", async () => {
    const hole = await blackHole();
    const viaAgent = (host: string, outbound: Outbound, secure: boolean) =>
      rejection(
        new Promise((resolve, reject) => {
          const options = { host, port: hole.port, agent: secure ? outbound.httpsAgent() : outbound.httpAgent() };
          const request = secure ? httpsRequest(options, resolve) : httpRequest(options, resolve);
          request.on("error", reject).end();
        }),
      );
    const timeouts = { connectTimeoutMs: 1_000, requestTimeoutMs: 1_000 };
    const [strictFast, devFast] = [new Outbound(timeouts), devWith(timeouts)];
    expect((await viaAgent("127.0.0.1", strictFast, true)).message).toContain("host '127.0.0.1' is not allowed: loopback address");
    expect((await viaAgent("127.0.0.1", strictFast, false)).message).toContain("host '127.0.0.1' is not allowed: loopback address");
    expect((await viaAgent("10.0.0.1", devFast, false)).message).toContain("private address");
    expect((await viaAgent("localhost", strictFast, true)).message).toContain("not among the allowed hosts");
    expect(hole.connections()).toBe(0);
  });
});

describe("storage clients", () => {
  it("containerClient refuses statically like checkUrl", () => {
    expect(refusal(() => strict.containerClient(FIELD, `https://10.0.0.1/c${SAS}`)).message).toBe(`${FIELD}: host '10.0.0.1' is not allowed: private address`);
    expect(refusal(() => strict.blobServiceFromConnectionString("connection_string", "UseDevelopmentStorage=true")).message).toContain("loopback address");
  });

  it("sends the SDK's requests through the guarded lookup", async () => {
    const listener = await blackHole();
    const outbound = new Outbound({ allowedHosts: [`localhost:${listener.port}`], connectTimeoutMs: 1_000, requestTimeoutMs: 1_000 });
    const client = outbound.containerClient(FIELD, `https://localhost:${listener.port}/c${SAS}`);
    const error = await rejection(client.getProperties());
    expect(error.message).toContain("which is not allowed: loopback address");
    expect(listener.connections()).toBe(0);
  });

  it("does not follow redirects", async () => {
    const server = await httpServer((request, respond) => (request.url?.startsWith("/elsewhere") ? respond(200) : respond(302, { location: "/elsewhere/c?restype=container" })));
    const client = dev.containerClient(FIELD, `http://127.0.0.1:${server.port}/devstoreaccount1/c${SAS}`);
    const error = await rejection(client.getProperties());
    expect((error as { statusCode?: number }).statusCode).toBe(302);
    expect(server.requests.some((request) => request.startsWith("GET /elsewhere"))).toBe(false);
  });

  it("gives up on a storage endpoint that never answers, in bounded time", async () => {
    const hole = await blackHole();
    const outbound = devWith({ requestTimeoutMs: 500 });
    const client = outbound.containerClient(FIELD, `http://127.0.0.1:${hole.port}/devstoreaccount1/c${SAS}`);
    const [error, elapsed] = await timed(() => rejection(client.createIfNotExists()));
    expect(error.message).toContain("for 500 ms");
    expect(error.message).not.toContain("TOPSECRET");
    expect(hole.connections()).toBe(2); // maxTries: 2
    expect(elapsed).toBeLessThan(5_000);
  }, 10_000);

  it("tears a client's connections down when its signal aborts", async () => {
    const hole = await blackHole();
    const controller = new AbortController();
    const client = devWith({ requestTimeoutMs: 8_000 }).containerClient(FIELD, `http://127.0.0.1:${hole.port}/devstoreaccount1/c${SAS}`, { abortSignal: controller.signal });
    setTimeout(() => controller.abort(new Error("run cancelled")), 200);
    const [error, elapsed] = await timed(() => rejection(client.createIfNotExists()));
    expect(error.message).toContain("run cancelled");
    expect(elapsed).toBeLessThan(3_000);
  }, 10_000);

  describe("against Azurite", () => {
    let azurite: Azurite;
    beforeAll(async () => {
      azurite = await startAzurite({ inMemory: true });
    });
    afterAll(async () => {
      await azurite?.stop();
    });

    it("works through the guarded agents, derived clients included", async () => {
      const service = dev.blobServiceFromConnectionString("connection_string", azurite.connectionString);
      const container = service.getContainerClient("outbound-test");
      await container.createIfNotExists();
      await container.getBlockBlobClient("a.txt").upload("hello", 5);
      await container.getBlockBlobClient("b.txt").upload("world", 5);
      const sas = await new BlobServiceClient(azurite.blobEndpoint, new StorageSharedKeyCredential("devstoreaccount1", AZURITE_KEY))
        .getContainerClient("outbound-test")
        .generateSasUrl({ permissions: ContainerSASPermissions.parse("rl"), expiresOn: new Date(Date.now() + 600_000) });
      const names: string[] = [];
      for await (const blob of dev.containerClient(FIELD, sas).listBlobsFlat()) names.push(blob.name);
      expect(names).toEqual(["a.txt", "b.txt"]);
      const text = (await dev.containerClient(FIELD, sas).getBlobClient("a.txt").downloadToBuffer()).toString();
      expect(text).toBe("hello");
    });
  });
});
