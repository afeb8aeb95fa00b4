//! Errors of the erasure engine; each names the target.

use std::path::PathBuf;

#[derive(Debug, thiserror::Error)]
pub enum ShredError {
    #[error("{}", path.display())]
    Io {
        path: PathBuf,
        #[source]
        source: std::io::Error,
    },
    #[error("refusing {}: it {why}", path.display())]
    Refused { path: PathBuf, why: String },
    #[error("cannot wipe {}: it {why}", path.display())]
    Unsupported { path: PathBuf, why: String },
    #[error("{} changed between checking and opening it; nothing was written", path.display())]
    Changed { path: PathBuf },
    #[error("{}: {message}", path.display())]
    Journal { path: PathBuf, message: String },
}
