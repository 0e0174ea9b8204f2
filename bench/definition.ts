// Benchmark: check (parse + type-check + print) of audience definitions, as a ratio to JSON.parse
// of a document of the same length measured in the same run (the floor any text check pays).
import { performance } from "node:perf_hooks";
import { checkDefinition } from "../domain/index.ts";

const custom = { "dog-lover": "boolean", "dog-breed": "string", visits: "number" } as const;

function clause(i: number): string {
  return [`carrierCountry eq 'C${i}'`, `osApiLevel ge ${i}`, `dog-lover eq true`, `visits lt ${i * 3}`][i % 4]!;
}

/** A definition of about `length` characters: clauses joined with and/or, with parentheses. */
function definitionOf(length: number): string {
  let text = "";
  for (let i = 0; text.length < length - 40; i++) text += text ? (i % 3 === 0 ? ` or (${clause(i)})` : ` and ${clause(i)}`) : clause(i);
  return text;
}

function timePerOp(work: () => void, minMs = 300): number {
  for (let i = 0; i < 200; i++) work();
  let ops = 0;
  const start = performance.now();
  while (performance.now() - start < minMs) {
    for (let i = 0; i < 100; i++) work();
    ops += 100;
  }
  return ((performance.now() - start) * 1000) / ops; // µs per op
}

export function runDefinitionBench(): { rows: string[] } {
  const rows = ["| definition length | check µs/op | JSON.parse µs/op (same length) | ratio |", "|---:|---:|---:|---:|"];
  for (const length of [40, 200, 2000]) {
    const definition = length === 40 ? "dog-lover eq true and dog-breed eq 'Golden Retriever'" : definitionOf(length);
    const json = JSON.stringify({ definition: "x".repeat(Math.max(0, definition.length - 18)) });
    const check = timePerOp(() => {
      const result = checkDefinition(definition, custom);
      if ("field" in result) throw new Error(result.message);
    });
    const floor = timePerOp(() => JSON.parse(json));
    rows.push(`| ${definition.length} | ${check.toFixed(2)} | ${floor.toFixed(2)} | ${(check / floor).toFixed(1)}× |`);
  }
  return { rows };
}
