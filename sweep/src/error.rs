use std::path::PathBuf;

/// Why a sweep could not run (a record that cannot be disposed of is not an
/// error of the sweep: it is reported in its outcome and the sweep goes on).
#[derive(Debug, thiserror::Error)]
pub enum SweepError {
    #[error("{}: {source}", path.display())]
    Io {
        path: PathBuf,
        #[source]
        source: std::io::Error,
    },
    #[error("root {}: {why}", path.display())]
    Root { path: PathBuf, why: String },
    #[error("another sweep is running (run lock {} is held{})", path.display(), holder.as_ref().map(|h| format!(" by {h}")).unwrap_or_default())]
    Busy {
        path: PathBuf,
        holder: Option<String>,
    },
    #[error("plan {}: {why}", path.display())]
    Plan { path: PathBuf, why: String },
    #[error("journal {}: line {line}: {why}", path.display())]
    Journal {
        path: PathBuf,
        line: usize,
        why: String,
    },
    #[error(transparent)]
    Policy(#[from] retention::PolicyError),
    #[error(transparent)]
    Ledger(#[from] certs::LedgerError),
    #[error(transparent)]
    Catalog(#[from] inventory::CatalogError),
}

impl SweepError {
    pub fn io(path: impl Into<PathBuf>) -> impl FnOnce(std::io::Error) -> SweepError {
        let path = path.into();
        move |source| SweepError::Io { path, source }
    }
}
