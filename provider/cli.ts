// The `pushplane` command that ships with @pushplane/pulumi. `pushplane review [name=]file…`
// prints a pull request's review of one or several stacks' previews as Markdown (review.ts); a
// file is `-` for standard input, and `name=` names its stack (the file's name otherwise).
import { readFileSync } from "node:fs";
import { basename } from "node:path";
import { readPreview, renderReview } from "./review.ts";

const USAGE = `usage: pushplane review [stack=]preview.json …
  Each preview is the output of
    PULUMI_ENABLE_STREAMING_JSON_PREVIEW=1 pulumi preview --json [--policy-pack …]
  (the plain \`pulumi preview --json\` is read too, without policy violations); - reads standard input.
  Prints Markdown for a pull request comment.`;

export function main(argv: string[], out: (text: string) => void = (text) => process.stdout.write(text)): number {
  const [command, ...files] = argv;
  if (command !== "review" || files.length === 0 || files.includes("--help")) {
    out(`${USAGE}\n`);
    return command === "--help" || files.includes("--help") ? 0 : 2;
  }
  const previews = files.map((argument) => {
    const named = /^([^=]+)=(.+)$/.exec(argument);
    const path = named ? named[2]! : argument;
    const stack = named ? named[1]! : path === "-" ? "stdin" : basename(path).replace(/\.(jsonl?|ndjson)$/, "");
    let text: string;
    try {
      text = readFileSync(path === "-" ? 0 : path, "utf8");
    } catch (error) {
      text = "";
      const preview = readPreview(stack, text);
      preview.unread.unshift(`the file could not be read: ${(error as Error).message}`);
      return preview;
    }
    return readPreview(stack, text);
  });
  out(renderReview(previews));
  return 0;
}

if (require.main === module) process.exitCode = main(process.argv.slice(2));
