//! The Mapwright runtime, embedded in worker processes: tenants and their
//! configuration ([`config`]), the intake API ([`intake`]) and the durable
//! store ([`store`]). Routing, the dispatcher and the ERP adapters come
//! next (see the issue tracker); what is not built says so instead of
//! pretending.
//!
//! Mappings run through the compiler library's [`Program`](mapwright_compiler::program::Program):
//! the reference interpreter now, the JIT when it lands.

pub mod config;
pub mod intake;
pub mod store;
