//! Retention sweeps: find what a policy says is due, and dispose of it so that
//! every record destroyed has a certificate and no certificate names a record
//! that still exists, whatever happens in between.
//!
//! - `walk` reaches records only through directory descriptors, never following a
//!   link, so a sweep running as root cannot be steered outside its roots.
//! - `plan` decides every record with `retention` and writes the plan.
//! - `execute` re-checks each record, journals it, has `shred` overwrite it,
//!   records the certificate with `certs`, and only then removes it.
//! - `dispose` erases named targets (`wisp shred`, the boot stick) with the
//!   same certify-before-remove order.
//! - `journal` is the write-ahead journal and the run lock; `quarantine` the
//!   move-then-shred action; `certify` turns shred reports into certificates.

pub mod certify;
pub mod dispose;
mod error;
pub mod execute;
pub mod journal;
pub mod plan;
pub mod quarantine;
pub mod walk;

use std::path::{Path, PathBuf};

pub use certify::{disposal_of, DisposalContext};
pub use error::SweepError;
pub use execute::{Executor, ItemOutcome, ItemResult};
pub use plan::{Plan, PlanItem, Planner, Tally};

/// Where sweeps keep their journal, run lock and quarantine manifest.
pub fn state_dir(ledger_dir: &Path) -> PathBuf {
    ledger_dir.join("sweep")
}
