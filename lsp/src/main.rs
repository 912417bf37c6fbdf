//! `mapc-lsp`: the Mapwright language server, over stdin and stdout.
//!
//! Logs go to stderr (the editor's log for this server); set `MAPC_LSP_LOG`
//! (`info`, `debug`, …) to see more.

use mapwright_lsp::{convert, server};
use tower_lsp_server::{LspService, Server};

fn main() -> std::process::ExitCode {
    let arguments: Vec<String> = std::env::args().skip(1).collect();
    match arguments.first().map(String::as_str) {
        None | Some("--stdio") => {}
        Some("--version") => {
            println!("mapc-lsp {}", env!("CARGO_PKG_VERSION"));
            return std::process::ExitCode::SUCCESS;
        }
        Some("--help" | "-h") => {
            println!(
                "mapc-lsp {}: the Mapwright language server.\n\nUsage: mapc-lsp [--stdio]\n\nIt speaks the Language Server Protocol on stdin and stdout; an editor starts it.\nLogs go to stderr; MAPC_LSP_LOG=debug shows more. MAPWRIGHT_CACHE_DIR sets where\nthe standard library's schemas and the code explanations are written for the editor.",
                env!("CARGO_PKG_VERSION")
            );
            return std::process::ExitCode::SUCCESS;
        }
        Some(other) => {
            eprintln!("mapc-lsp: unknown argument `{other}` (try --help)");
            return std::process::ExitCode::from(2);
        }
    }
    tracing_subscriber::fmt()
        .with_writer(std::io::stderr)
        .with_ansi(false)
        .with_env_filter(
            tracing_subscriber::EnvFilter::try_from_env("MAPC_LSP_LOG")
                .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new("warn")),
        )
        .init();
    let runtime = match tokio::runtime::Builder::new_multi_thread().enable_all().build() {
        Ok(runtime) => runtime,
        Err(error) => {
            eprintln!("mapc-lsp: cannot start: {error}");
            return std::process::ExitCode::FAILURE;
        }
    };
    runtime.block_on(async {
        let cache = convert::Cache::locate();
        let (service, socket) = LspService::new(|client| server::Backend::new(client, cache));
        Server::new(tokio::io::stdin(), tokio::io::stdout(), socket)
            .serve(service)
            .await;
    });
    std::process::ExitCode::SUCCESS
}
