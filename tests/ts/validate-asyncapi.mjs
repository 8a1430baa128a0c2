// Validates an AsyncAPI document with the official parser; prints its diagnostics as JSON
// lines ({severity, code, message, path}) and exits 1 when any is an error.
// Usage: node validate-asyncapi.mjs <document>   (tests/test_contract_asyncapi.py runs it)
import { readFile } from "node:fs/promises";
import { Parser, DiagnosticSeverity } from "@asyncapi/parser";

const path = process.argv[2];
const parser = new Parser();
const { document, diagnostics } = await parser.parse(await readFile(path, "utf8"), { source: path });
const names = { [DiagnosticSeverity.Error]: "error", [DiagnosticSeverity.Warning]: "warning",
                [DiagnosticSeverity.Information]: "information", [DiagnosticSeverity.Hint]: "hint" };
for (const d of diagnostics) {
  console.log(JSON.stringify({ severity: names[d.severity], code: d.code, message: d.message,
                               path: d.path.join(".") }));
}
const errors = diagnostics.filter((d) => d.severity === DiagnosticSeverity.Error).length;
if (document) {
  const channels = document.channels().all().map((c) => c.address());
  const operations = document.operations().all().length;
  console.log(JSON.stringify({ parsed: true, version: document.version(), channels, operations }));
}
process.exit(errors || !document ? 1 : 0);
