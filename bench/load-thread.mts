// A load generator thread for bench/responsiveness.ts: the service under test keeps its event loop
// to itself, so what the benchmark measures is the service, not its own clients. Plain erasable
// TypeScript (Node runs it as is). Modes: "probe" GETs a URL at an interval and answers the
// latencies; "ingest" posts prepared NDJSON batches at an interval. Both stop on a "stop" message.
import { parentPort, workerData } from "node:worker_threads";

export interface LoadJob {
  mode: "probe" | "ingest";
  headers: Record<string, string>;
  intervalMs: number;
  /** probe: the URLs to GET in turn. */
  urls?: string[];
  /** ingest: where to post, and the bodies to post in turn. */
  url?: string;
  bodies?: string[];
}

export type LoadResult = { latencies: number[]; sent: number } | { error: string };

const job = workerData as LoadJob;
let stopped = false;
let wake = () => {};
parentPort!.on("message", (message) => {
  if (message !== "stop") return;
  stopped = true;
  wake();
});

/** Sleeps until `at`, or until told to stop. */
const sleepUntil = (at: number) =>
  new Promise<void>((resolve) => {
    const timer = setTimeout(resolve, Math.max(0, at - performance.now()));
    wake = () => {
      clearTimeout(timer);
      resolve();
    };
  });

async function run(): Promise<LoadResult> {
  const latencies: number[] = [];
  let sent = 0;
  let next = performance.now();
  while (!stopped) {
    const started = performance.now();
    const response =
      job.mode === "probe"
        ? await fetch(job.urls![sent % job.urls!.length]!, { headers: job.headers })
        : await fetch(job.url!, { method: "POST", headers: job.headers, body: job.bodies![sent % job.bodies!.length] });
    const text = await response.text();
    if (!response.ok) return { error: `${job.mode}: ${response.status} ${text}` };
    latencies.push(performance.now() - started);
    sent++;
    next += job.intervalMs;
    await sleepUntil(next);
  }
  return { latencies, sent };
}

run().then(
  (result) => parentPort!.postMessage(result),
  (error: Error) => parentPort!.postMessage({ error: error.message } satisfies LoadResult),
);
