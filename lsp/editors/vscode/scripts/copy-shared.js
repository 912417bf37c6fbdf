// Copies what the extension shares with the rest of the repository into it
// before a build: the TextMate grammar (grammar/, its one source) and the
// licence. The copies are not committed (.gitignore).
const fs = require("fs");
const path = require("path");

const root = path.resolve(__dirname, "..", "..", "..", "..");
const here = path.resolve(__dirname, "..");
fs.mkdirSync(path.join(here, "syntaxes"), { recursive: true });
fs.copyFileSync(
  path.join(root, "grammar", "mapwright.tmLanguage.json"),
  path.join(here, "syntaxes", "mapwright.tmLanguage.json"),
);
fs.copyFileSync(path.join(root, "LICENSE"), path.join(here, "LICENSE"));
console.log("copied grammar/mapwright.tmLanguage.json and LICENSE");
