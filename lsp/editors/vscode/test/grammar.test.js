// The TextMate grammar, run by the engine VS Code uses (vscode-textmate with
// Oniguruma): every example mapping tokenizes without error, and chosen
// words get the scopes an editor colours them by. Run: `npm test` (after
// `npm run build`, which copies the grammar in).
const fs = require("fs");
const path = require("path");
const assert = require("assert");
const textmate = require("vscode-textmate");
const oniguruma = require("vscode-oniguruma");

const here = path.resolve(__dirname, "..");
const root = path.resolve(here, "..", "..", "..");

async function grammar() {
  const wasm = fs.readFileSync(require.resolve("vscode-oniguruma/release/onig.wasm")).buffer;
  await oniguruma.loadWASM(wasm);
  const registry = new textmate.Registry({
    onigLib: Promise.resolve({
      createOnigScanner: (sources) => new oniguruma.OnigScanner(sources),
      createOnigString: (text) => new oniguruma.OnigString(text),
    }),
    loadGrammar: async (scope) => {
      if (scope !== "source.mapwright") return null;
      const file = path.join(here, "syntaxes", "mapwright.tmLanguage.json");
      return textmate.parseRawGrammar(fs.readFileSync(file, "utf8"), file);
    },
  });
  return registry.loadGrammar("source.mapwright");
}

function tokenize(g, text) {
  let stack = textmate.INITIAL;
  const out = [];
  for (const line of text.split("\n")) {
    const result = g.tokenizeLine(line, stack);
    for (const token of result.tokens) {
      out.push({ text: line.slice(token.startIndex, token.endIndex), scopes: token.scopes });
    }
    stack = result.ruleStack;
  }
  return out;
}

function scopeOf(tokens, text) {
  const token = tokens.find((t) => t.text === text);
  assert.ok(token, `no token ${JSON.stringify(text)}`);
  return token.scopes[token.scopes.length - 1];
}

function mapFiles(dir, out) {
  for (const entry of fs.readdirSync(dir, { withFileTypes: true })) {
    const full = path.join(dir, entry.name);
    if (entry.isDirectory()) mapFiles(full, out);
    else if (entry.name.endsWith(".map") || entry.name.endsWith(".schema")) out.push(full);
  }
  return out;
}

(async () => {
  const g = await grammar();
  const sample = [
    "/// Doc.",
    "use canonical.invoice.{Invoice}",
    "param company_code: String(4) = \"1000\" // trailing",
    "mapping m(inv: Invoice) -> SupplierInvoice {",
    "  CompanyCode = if inv.total > 0 { \"A{inv.number}\\n\" } else { none }",
    "  Amount = round(inv.total ?? 0.50, 2)",
    "}",
    "record R { Field: String @required }",
  ].join("\n");
  const tokens = tokenize(g, sample);
  const expect = {
    "/// Doc.": "comment.line.documentation.mapwright",
    "// trailing": "comment.line.double-slash.mapwright",
    use: "storage.type.mapwright",
    mapping: "storage.type.mapwright",
    if: "keyword.control.mapwright",
    none: "constant.language.mapwright",
    String: "support.type.builtin.mapwright",
    SupplierInvoice: "entity.name.type.mapwright",
    CompanyCode: "variable.other.property.mapwright",
    round: "entity.name.function.mapwright",
    "??": "keyword.operator.mapwright",
    "0.50": "constant.numeric.decimal.mapwright",
    "\\n": "constant.character.escape.mapwright",
    "@required": "storage.modifier.annotation.mapwright",
  };
  for (const [text, scope] of Object.entries(expect)) {
    assert.strictEqual(scopeOf(tokens, text), scope, `scope of ${text}`);
  }
  // Inside an interpolation, code is code again.
  const number = tokens.find((t) => t.text.includes("inv.number"));
  assert.ok(number.scopes.includes("meta.interpolation.mapwright"), "interpolation scope");

  const files = mapFiles(path.join(root, "examples"), mapFiles(path.join(root, "stdlib"), []));
  assert.ok(files.length > 30, `only ${files.length} files`);
  for (const file of files) {
    const toks = tokenize(g, fs.readFileSync(file, "utf8"));
    assert.ok(toks.length > 0, file);
    // A string never runs past its line (no unterminated-string runaway).
    const last = toks[toks.length - 1];
    assert.ok(!last.scopes.includes("string.quoted.double.mapwright"), `${file} ends inside a string`);
  }
  console.log(`grammar ok: ${Object.keys(expect).length} scopes checked, ${files.length} files tokenized`);
})().catch((error) => {
  console.error(error);
  process.exit(1);
});
