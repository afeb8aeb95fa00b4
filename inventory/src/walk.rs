//! Walking folders and shares in parallel and scanning every regular file.
//!
//! Nothing is skipped by .gitignore or hidden-file rules (a share's records are
//! not a source tree), symbolic links are never followed, and a file that cannot
//! be read is reported in its row while the scan goes on.

use std::path::PathBuf;

use ignore::overrides::OverrideBuilder;
use ignore::{WalkBuilder, WalkState};

use std::sync::Mutex;

use crate::catalog::{Catalog, CatalogError, Identity};
use crate::read::{scan_file_keyed, FileReport};

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum FileSystems {
    /// Stay on the filesystem of each root (do not descend into mounts).
    One,
    All,
}

#[derive(Debug, Clone)]
pub struct ScanOptions {
    pub roots: Vec<PathBuf>,
    /// Glob patterns (gitignore syntax) of paths to leave out.
    pub excludes: Vec<String>,
    pub file_systems: FileSystems,
    pub threads: usize,
    /// Seconds since the Unix epoch, recorded as the scan time in the catalog.
    pub now: i64,
    /// Fingerprints the values found, for the catalog; none without it.
    pub value_key: Option<crate::ValueKey>,
}

#[derive(Debug, thiserror::Error)]
pub enum WalkError {
    #[error("{}: no such file or directory", path.display())]
    MissingRoot { path: PathBuf },
    #[error("--exclude {glob:?}: {message}")]
    BadGlob { glob: String, message: String },
    #[error(transparent)]
    Catalog(#[from] CatalogError),
}

/// A path the walk could not enter (permission denied, vanished).
#[derive(Debug, Clone)]
pub struct WalkProblem {
    pub path: Option<PathBuf>,
    pub message: String,
}

/// Scans every regular file under the roots, calling `report` from the worker
/// threads as each file is done, and `problem` for what could not be walked.
pub fn scan_tree(
    options: &ScanOptions,
    catalog: Option<&Catalog>,
    report: &(dyn Fn(FileReport) + Sync),
    problem: &(dyn Fn(WalkProblem) + Sync),
) -> Result<(), WalkError> {
    let Some((first, rest)) = options.roots.split_first() else {
        return Ok(());
    };
    for root in &options.roots {
        if std::fs::symlink_metadata(root).is_err() {
            return Err(WalkError::MissingRoot { path: root.clone() });
        }
    }
    let mut builder = WalkBuilder::new(first);
    for root in rest {
        builder.add(root);
    }
    let mut overrides = OverrideBuilder::new("/");
    for glob in &options.excludes {
        overrides
            .add(&format!("!{glob}"))
            .map_err(|err| WalkError::BadGlob {
                glob: glob.clone(),
                message: err.to_string(),
            })?;
    }
    let overrides = overrides.build().map_err(|err| WalkError::BadGlob {
        glob: options.excludes.join(" "),
        message: err.to_string(),
    })?;
    builder
        .standard_filters(false)
        .hidden(false)
        .follow_links(false)
        .same_file_system(options.file_systems == FileSystems::One)
        .overrides(overrides)
        .threads(options.threads);
    let seen: Mutex<Vec<(FileReport, Identity)>> = Mutex::new(Vec::new());
    builder.build_parallel().run(|| {
        Box::new(|entry| {
            match entry {
                Ok(entry) => {
                    if entry.file_type().is_some_and(|t| t.is_file()) {
                        let path = entry.path();
                        // Identity is for the catalog only: no stat without one.
                        let identity = catalog
                            .and_then(|_| entry.metadata().ok())
                            .map(|m| Identity::of(&m));
                        let cached = match (catalog, &identity) {
                            (Some(catalog), Some(identity)) => {
                                catalog.unchanged(path, identity).unwrap_or_else(|err| {
                                    problem(WalkProblem {
                                        path: Some(path.to_path_buf()),
                                        message: err.to_string(),
                                    });
                                    None
                                })
                            }
                            _ => None,
                        };
                        let file_report = cached
                            .unwrap_or_else(|| scan_file_keyed(path, options.value_key.as_ref()));
                        if let (Some(_), Some(identity)) = (catalog, identity) {
                            seen.lock()
                                .expect("not poisoned")
                                .push((file_report.clone(), identity));
                        }
                        report(file_report);
                    }
                }
                Err(err) => problem(WalkProblem {
                    path: walk_error_path(&err),
                    message: err.to_string(),
                }),
            }
            WalkState::Continue
        })
    });
    if let Some(catalog) = catalog {
        let seen = seen.into_inner().expect("not poisoned");
        catalog
            .store(&seen, options.now)
            .map_err(WalkError::Catalog)?;
    }
    Ok(())
}

fn walk_error_path(err: &ignore::Error) -> Option<PathBuf> {
    match err {
        ignore::Error::WithPath { path, .. } => Some(path.clone()),
        ignore::Error::WithDepth { err, .. } | ignore::Error::WithLineNumber { err, .. } => {
            walk_error_path(err)
        }
        _ => None,
    }
}
