// The service as a process of its own, for tests that SIGKILL it mid-work and start it again.
import { spawn, type ChildProcess } from "node:child_process";
import { REPO_ROOT } from "./pulumi.ts";

/** The address a starting service process prints in its first line ("… listening on http://…"). */
export function listeningUrl(child: ChildProcess): Promise<string> {
  return new Promise<string>((resolve, reject) => {
    let seen = "";
    child.stdout!.on("data", (chunk: Buffer) => {
      seen += chunk.toString();
      const match = /listening on (http:\/\/\S+)/.exec(seen);
      if (match) resolve(match[1]!);
    });
    child.on("exit", (code) => reject(new Error(`service exited ${code} before listening`)));
  });
}

export async function startServiceProcess(dataDir: string, extraArgs: string[] = []): Promise<{ child: ChildProcess; url: string }> {
  // Node itself with tsx's loader, not the tsx command: SIGKILL must reach the process that writes
  // (the tsx command runs the program in a child of its own, which a SIGKILL to it would orphan).
  const child = spawn(process.execPath, ["--import", "tsx", "service/cli.ts", "serve", "--port", "0", "--data-dir", dataDir, ...extraArgs], {
    cwd: REPO_ROOT,
    env: { ...process.env, PUSHPLANE_LOG_LEVEL: "warn" },
  });
  return { child, url: await listeningUrl(child) };
}
