// The Mapwright extension: starts the `mapc-lsp` language server for `.map`
// and `.schema` files. Every feature (diagnostics, hover, completion,
// navigation, rename, formatting, quick fixes) comes from the server.

import * as vscode from "vscode";
import {
  LanguageClient,
  LanguageClientOptions,
  ServerOptions,
  TransportKind,
} from "vscode-languageclient/node";

let client: LanguageClient | undefined;

export async function activate(context: vscode.ExtensionContext): Promise<void> {
  const config = vscode.workspace.getConfiguration("mapwright");
  const command = config.get<string>("server.path", "mapc-lsp");
  const log = config.get<string>("server.log", "warn");
  const run = {
    command,
    transport: TransportKind.stdio,
    options: { env: { ...process.env, MAPC_LSP_LOG: log } },
  };
  const serverOptions: ServerOptions = { run, debug: run };
  const clientOptions: LanguageClientOptions = {
    documentSelector: [{ scheme: "file", language: "mapwright" }],
    outputChannelName: "Mapwright",
  };
  client = new LanguageClient("mapwright", "Mapwright", serverOptions, clientOptions);
  try {
    await client.start();
  } catch (error) {
    // Say loudly why there are no diagnostics, rather than stay silent.
    void vscode.window.showErrorMessage(
      `Mapwright: cannot start the language server \`${command}\` (${String(error)}). ` +
        "Install it with `cargo install --path lsp` or set `mapwright.server.path`.",
    );
  }
  context.subscriptions.push({ dispose: () => void client?.stop() });
}

export async function deactivate(): Promise<void> {
  await client?.stop();
}
