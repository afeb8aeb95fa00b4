//! Durable file operations: what must survive a crash is fsynced, directories included.

use std::fs::File;
use std::io::Write;
use std::path::Path;

use crate::error::LedgerError;

pub fn read_file(path: &Path) -> Result<Vec<u8>, LedgerError> {
    std::fs::read(path).map_err(|source| LedgerError::Io {
        path: path.to_path_buf(),
        source,
    })
}

/// Makes a rename or a file creation in `dir` durable.
pub fn fsync_dir(dir: &Path) -> Result<(), LedgerError> {
    File::open(dir)
        .and_then(|d| d.sync_all())
        .map_err(|source| LedgerError::Io {
            path: dir.to_path_buf(),
            source,
        })
}

/// Replaces `path` with `contents` atomically: a reader (or a crash) sees either
/// the old file or the new one, never a mix.
pub fn replace_atomically(path: &Path, contents: &[u8]) -> Result<(), LedgerError> {
    let dir = path.parent().unwrap_or(Path::new("."));
    let temp = path.with_extension("tmp");
    let io = |p: &Path| {
        let p = p.to_path_buf();
        move |source| LedgerError::Io { path: p, source }
    };
    let mut file = File::create(&temp).map_err(io(&temp))?;
    file.write_all(contents).map_err(io(&temp))?;
    file.sync_all().map_err(io(&temp))?;
    drop(file);
    std::fs::rename(&temp, path).map_err(io(path))?;
    fsync_dir(dir)
}
