//! The Mapwright runtime, embedded in worker processes: tenants and their
//! configuration ([`config`]), the intake API ([`intake`]), the durable
//! store ([`store`]), the dispatcher that maps and delivers over HTTP with
//! retries and dead letters ([`dispatch`]), and a simulated ERP for the
//! demo and tests ([`sim`]). What is configured but not built (non-HTTP
//! endpoints) says so instead of pretending.
//!
//! Mappings run through the compiler library's [`Program`](mapwright_compiler::program::Program),
//! on the JIT by default (one compiled instance per route, shared by every
//! delivery), or on the reference interpreter for a route that says
//! `engine = "interp"`.

pub mod config;
pub mod crash;
pub mod demo;
pub mod dispatch;
pub mod intake;
pub mod response;
pub mod server;
pub mod sim;
pub mod sim_netsuite;
pub mod soap;
pub mod store;
