//! Walking folders and shares in parallel and scanning every regular file.
//!
//! Nothing is skipped by .gitignore or hidden-file rules (a share's records are
//! not a source tree), symbolic links are never followed, and a file that cannot
//! be read is reported in its row while the scan goes on.

use std::path::{Path, PathBuf};

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
    let scanner = Scanner {
        options,
        catalog,
        report,
        seen: Mutex::new(Vec::new()),
    };
    let leftovers = Mutex::new(Vec::new());
    builder.build_parallel().visit(&mut BatcherBuilder {
        scanner: &scanner,
        problem,
        leftovers: &leftovers,
    });
    // What the threads had not yet filled a batch with: the last files of
    // each kind, scanned by all threads in their kinds' order.
    let mut leftovers = leftovers.into_inner().unwrap_or_else(|p| p.into_inner());
    leftovers.sort_by_key(|(key, _): &(KindKey, PathBuf)| *key);
    let next = std::sync::atomic::AtomicUsize::new(0);
    std::thread::scope(|threads| {
        for _ in 0..options.threads.max(1) {
            threads.spawn(|| loop {
                let at = next.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
                let Some((_, path)) = leftovers.get(at) else {
                    break;
                };
                scanner.scan(path, problem);
            });
        }
    });
    let seen = scanner.seen;
    if let Some(catalog) = catalog {
        let seen = seen.into_inner().expect("not poisoned");
        catalog
            .store(&seen, options.now)
            .map_err(WalkError::Catalog)?;
    }
    Ok(())
}

/// What every thread scans a file with.
struct Scanner<'a> {
    options: &'a ScanOptions,
    catalog: Option<&'a Catalog>,
    report: &'a (dyn Fn(FileReport) + Sync),
    /// The files read, with their identities, for the catalog.
    seen: Mutex<Vec<(FileReport, Identity)>>,
}

impl Scanner<'_> {
    fn scan(&self, path: &Path, problem: &(dyn Fn(WalkProblem) + Sync)) {
        // Identity is for the catalog only: no stat without one.
        let identity = self
            .catalog
            .and_then(|_| std::fs::symlink_metadata(path).ok())
            .map(|m| Identity::of(&m));
        let cached = match (self.catalog, &identity) {
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
        let file_report =
            cached.unwrap_or_else(|| scan_file_keyed(path, self.options.value_key.as_ref()));
        if let (Some(_), Some(identity)) = (self.catalog, identity) {
            self.seen
                .lock()
                .expect("not poisoned")
                .push((file_report.clone(), identity));
        }
        (self.report)(file_report);
    }
}

/// Files of one kind scanned one after another run several times faster
/// than a folder's mix in the order the walk meets it, one file of each
/// kind in turn: each kind's code and tables stay in the caches. So each
/// thread holds the files it meets in a batch per extension and scans a
/// batch when it is full. The extension is only a guess at the kind, for
/// this order; what a file is read as is decided by its name and content.
const BATCH_FILES: usize = 32;

/// Extensions a thread keeps batches for; files of any further extension
/// share the last batch.
const BATCH_KINDS: usize = 16;

/// A file's extension, lowercased and cut to eight bytes: which batch it
/// joins.
type KindKey = [u8; 8];

fn kind_key(path: &Path) -> KindKey {
    let mut key = [0u8; 8];
    if let Some(ext) = path.extension() {
        for (slot, byte) in key.iter_mut().zip(ext.as_encoded_bytes()) {
            *slot = byte.to_ascii_lowercase();
        }
    }
    key
}

struct BatcherBuilder<'s> {
    scanner: &'s Scanner<'s>,
    problem: &'s (dyn Fn(WalkProblem) + Sync),
    leftovers: &'s Mutex<Vec<(KindKey, PathBuf)>>,
}

impl<'s> ignore::ParallelVisitorBuilder<'s> for BatcherBuilder<'s> {
    fn build(&mut self) -> Box<dyn ignore::ParallelVisitor + 's> {
        Box::new(Batcher {
            scanner: self.scanner,
            problem: self.problem,
            leftovers: self.leftovers,
            batches: Vec::new(),
        })
    }
}

/// One walk thread's files, held by kind until a batch is full.
struct Batcher<'s> {
    scanner: &'s Scanner<'s>,
    problem: &'s (dyn Fn(WalkProblem) + Sync),
    leftovers: &'s Mutex<Vec<(KindKey, PathBuf)>>,
    batches: Vec<(KindKey, Vec<PathBuf>)>,
}

impl Batcher<'_> {
    fn hold(&mut self, path: PathBuf) {
        let key = kind_key(&path);
        let slot = match self.batches.iter().position(|(k, _)| *k == key) {
            Some(slot) => slot,
            None if self.batches.len() < BATCH_KINDS => {
                self.batches.push((key, Vec::with_capacity(BATCH_FILES)));
                self.batches.len() - 1
            }
            None => BATCH_KINDS - 1,
        };
        let batch = &mut self.batches[slot].1;
        batch.push(path);
        if batch.len() == BATCH_FILES {
            let full = std::mem::replace(batch, Vec::with_capacity(BATCH_FILES));
            for path in &full {
                self.scanner.scan(path, self.problem);
            }
        }
    }
}

impl ignore::ParallelVisitor for Batcher<'_> {
    fn visit(&mut self, entry: Result<ignore::DirEntry, ignore::Error>) -> WalkState {
        match entry {
            Ok(entry) => {
                if entry.file_type().is_some_and(|t| t.is_file()) {
                    self.hold(entry.into_path());
                }
            }
            Err(err) => (self.problem)(WalkProblem {
                path: walk_error_path(&err),
                message: err.to_string(),
            }),
        }
        WalkState::Continue
    }
}

impl Drop for Batcher<'_> {
    /// The walk is over: what is held goes to the scan of the leftovers,
    /// which every thread shares once the walk has ended.
    fn drop(&mut self) {
        let mut leftovers = self.leftovers.lock().unwrap_or_else(|p| p.into_inner());
        for (key, batch) in self.batches.drain(..) {
            leftovers.extend(batch.into_iter().map(|path| (key, path)));
        }
    }
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
