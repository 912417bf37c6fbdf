//! Crash points for the recovery tests: with `MAPWRIGHT_CRASH_AT=step` (or
//! `step:n`, the n-th time) in its environment, the process aborts at that
//! step of a delivery, as a `kill -9` would leave it: after mapping and
//! before sending (`mapped`), after a look-up (`looked_up`), after the ERP
//! answered but before the outcome is recorded (`answered`), after a file
//! is written but before it is recorded (`file_written`), after a staging
//! insert commits (`sql_committed`). Unset, each point is one relaxed load.

use std::sync::OnceLock;
use std::sync::atomic::{AtomicU64, Ordering};

static PLAN: OnceLock<Option<(String, u64)>> = OnceLock::new();
static HITS: AtomicU64 = AtomicU64::new(0);

/// Aborts the process if the environment asks for a crash at `step`.
pub fn point(step: &str) {
    let plan = PLAN.get_or_init(|| {
        let text = std::env::var("MAPWRIGHT_CRASH_AT").ok()?;
        let (name, nth) = match text.split_once(':') {
            Some((name, n)) => (name.to_owned(), n.parse().unwrap_or(1)),
            None => (text, 1),
        };
        Some((name, nth))
    });
    if let Some((name, nth)) = plan
        && name == step
        && HITS.fetch_add(1, Ordering::SeqCst) + 1 == *nth
    {
        eprintln!("mapwright: MAPWRIGHT_CRASH_AT={step}: aborting as a crash would");
        std::process::abort();
    }
}
