//! The Mapwright language server as a library: the `mapc-lsp` binary runs
//! it on stdio, and the protocol tests run it in process.
//!
//! Layers: [`server`] is the protocol (capabilities, one handler per
//! request); [`documents`] owns the open documents; [`analysis`] runs the
//! real compiler off the protocol task; [`convert`] is the edge between
//! byte offsets and the protocol's UTF-16 positions. The features
//! themselves live in the compiler (`mapwright_compiler::ide`), which knows
//! nothing of the protocol.

pub mod analysis;
pub mod convert;
pub mod documents;
pub mod server;

use tower_lsp_server::{ClientSocket, LspService};

/// The service, for a transport to serve: with the cache folder at `cache`.
pub fn service(cache: convert::Cache) -> (LspService<server::Backend>, ClientSocket) {
    LspService::new(|client| server::Backend::new(client, cache))
}
