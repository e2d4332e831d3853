/**
 * The benchmark's figures reach the docs only through code: the tables in docs/benchmarks.md
 * are exactly what the benchmark renders from bench/results.json, and the verdicts stored there
 * are the ones its measurements give.
 */
import { readFileSync } from "node:fs";
import {
  DOCS_FILE,
  docsWithTables,
  judgeGoals,
  readResults,
  table,
  TABLES_END,
  TABLES_START,
} from "../../bench/report";

describe("the benchmark's report", () => {
  it("is what docs/benchmarks.md shows, rendered from bench/results.json", () => {
    const docs = readFileSync(DOCS_FILE, "utf8");
    expect(docs).toContain(TABLES_START);
    expect(docs).toContain(TABLES_END);
    expect(docsWithTables(docs, readResults())).toBe(docs);
  });

  it("stores the verdicts its measurements give", () => {
    const { goals, ...measured } = readResults();
    expect(goals).toEqual(judgeGoals(measured));
  });

  it("is replaced between its markers, leaving the prose around them as it was", () => {
    const docs = `# Title\n\nBefore.\n\n${TABLES_START}\nstale\n${TABLES_END}\n\nAfter.\n`;
    const rewritten = docsWithTables(docs, readResults());
    expect(rewritten.startsWith(`# Title\n\nBefore.\n\n${TABLES_START}\n`)).toBe(true);
    expect(rewritten.endsWith(`${TABLES_END}\n\nAfter.\n`)).toBe(true);
    expect(rewritten).not.toContain("stale");
  });

  it("aligns number columns right and text columns left", () => {
    expect(
      table(
        ["name", "ms"],
        [
          ["a", 1.5],
          ["longer", 10],
        ],
      ),
    ).toBe(
      ["| name   |  ms |", "|--------|----:|", "| a      | 1.5 |", "| longer |  10 |"].join("\n"),
    );
  });
});
