//! The ledger's errors. Each names the file (and line, where there is one).
//! Evidence of tampering is not an error: see [`crate::verify::Tamper`].

use std::path::PathBuf;

#[derive(Debug, thiserror::Error)]
pub enum LedgerError {
    #[error("{}", path.display())]
    Io {
        path: PathBuf,
        #[source]
        source: std::io::Error,
    },
    #[error("{}, line {line}: {message}", path.display())]
    Malformed {
        path: PathBuf,
        line: usize,
        message: String,
    },
    #[error("no signing key at {}; create one with `wisp certs keygen`", path.display())]
    NoSigningKey { path: PathBuf },
    #[error("{} already exists; keys are never replaced, because checkpoints signed with the old key could no longer be verified", path.display())]
    KeyExists { path: PathBuf },
    #[error("{}: the ledger does not match its signed head ({message}); refusing to append until `wisp certs verify` has been run and the cause found", path.display())]
    Inconsistent { path: PathBuf, message: String },
    #[error("no certificate {id} in {}", path.display())]
    NotFound { path: PathBuf, id: String },
}
