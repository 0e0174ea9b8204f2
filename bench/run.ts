// Runs the benchmarks and prints Markdown tables (copied into bench/RESULTS.md by hand).
import { runDefinitionBench } from "./definition.ts";

console.log(`node ${process.version}, ${new Date().toISOString()}\n`);
console.log("## Audience definition check (parse + type-check + print)\n");
console.log(runDefinitionBench().rows.join("\n"));
