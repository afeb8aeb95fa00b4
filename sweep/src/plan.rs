//! Finding what is due: walk the policy's roots, decide every record, and write
//! the result as a plan a person can read, save, and apply later.

use std::collections::HashMap;
use std::io::Read;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};

use inventory::{Catalog, FileReport, Identity};
use jiff::Timestamp;
use nix::sys::stat::FileStat;
use retention::{Clock, Content, Policy, Record, Verdict};
use serde::{Deserialize, Serialize};

use crate::error::SweepError;
use crate::walk::{Dir, FileEntry, Walk, WalkCounts, WalkProblem};

pub const PLAN_SCHEMA: &str = "wisp-sweep-plan/1";

/// A record the policy says to act on now.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct PlanItem {
    pub path: PathBuf,
    pub root: PathBuf,
    pub rel: PathBuf,
    pub series: String,
    pub action: String,
    pub clock: String,
    pub since: Timestamp,
    pub due_at: Timestamp,
    pub age_days: i64,
    pub device: u64,
    pub inode: u64,
    pub size: u64,
    pub mtime_ns: i64,
    /// For a record already in quarantine: where it was before.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub original: Option<PathBuf>,
}

/// How many records got each verdict.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Tally {
    pub files: u64,
    pub not_covered: u64,
    pub held: u64,
    pub kept: u64,
    pub not_due: u64,
    pub undated: u64,
    pub unclassified: u64,
    pub due: u64,
    /// Records a series covers whose other hard links would be destroyed too.
    pub hard_linked: u64,
}

#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct Plan {
    pub schema: String,
    pub policy: PathBuf,
    pub policy_hash: String,
    pub now: Timestamp,
    pub tally: Tally,
    pub items: Vec<PlanItem>,
    /// Directories and files that could not be read.
    pub problems: Vec<String>,
}

impl Plan {
    pub fn load(path: &Path) -> Result<Plan, SweepError> {
        let text = std::fs::read(path).map_err(SweepError::io(path))?;
        let plan: Plan = serde_json::from_slice(&text).map_err(|e| SweepError::Plan {
            path: path.to_path_buf(),
            why: format!("line {}, column {}: {e}", e.line(), e.column()),
        })?;
        if plan.schema != PLAN_SCHEMA {
            return Err(SweepError::Plan {
                path: path.to_path_buf(),
                why: format!("schema `{}` is not `{PLAN_SCHEMA}`", plan.schema),
            });
        }
        Ok(plan)
    }
}

pub(crate) fn mtime_ns(stat: &FileStat) -> i64 {
    stat.st_mtime * 1_000_000_000 + stat.st_mtime_nsec
}

pub(crate) fn identity(stat: &FileStat) -> Identity {
    Identity {
        device: stat.st_dev,
        inode: stat.st_ino,
        size: stat.st_size as u64,
        mtime_ns: mtime_ns(stat),
        ctime_ns: stat.st_ctime * 1_000_000_000 + stat.st_ctime_nsec,
    }
}

fn timestamp(seconds: i64, nanos: i64) -> Timestamp {
    Timestamp::new(seconds, nanos as i32).unwrap_or(Timestamp::UNIX_EPOCH)
}

pub(crate) fn record<'a>(path: &'a Path, stat: &FileStat, first_seen: Option<i64>) -> Record<'a> {
    Record {
        path,
        modified: timestamp(stat.st_mtime, stat.st_mtime_nsec),
        changed: timestamp(stat.st_ctime, stat.st_ctime_nsec),
        first_seen: first_seen.and_then(|s| Timestamp::from_second(s).ok()),
    }
}

pub(crate) fn content_of(report: &FileReport) -> Result<Content, String> {
    let counts = &report.findings.counts;
    // A file that could not be read and showed nothing cannot be classified.
    if let (Some(error), 0) = (&report.error, counts.elements() + counts.names) {
        return Err(error.clone());
    }
    Ok(Content {
        pi: report.findings.holds_pi(),
        ssn: counts.ssn > 0,
        card: counts.card > 0,
        license: counts.license > 0,
        account: counts.account > 0,
    })
}

/// Reads the findings of a file through the descriptor `dir` holds: the catalog's
/// if the file is unchanged, else a fresh scan, returned with the bytes it read
/// (so the caller knows to store it, and need not read the file again).
pub(crate) fn findings_of(
    catalog: Option<&Catalog>,
    key: Option<&inventory::ValueKey>,
    dir: &Dir,
    name: &std::ffi::OsStr,
    path: &Path,
    stat: &FileStat,
) -> Result<(FileReport, Option<Vec<u8>>), String> {
    let id = identity(stat);
    if let Some(catalog) = catalog {
        if let Ok(Some(cached)) = catalog.unchanged(path, &id) {
            return Ok((cached, None));
        }
    }
    if stat.st_size as u64 > inventory::read::MAX_BYTES {
        return Err(format!(
            "larger than {} MiB; not read",
            inventory::read::MAX_BYTES >> 20
        ));
    }
    let mut file = dir
        .open_file(name, stat.st_dev, stat.st_ino)
        .map_err(|e| format!("cannot read: {}", e.desc()))?;
    let mut bytes = Vec::with_capacity(stat.st_size as usize);
    file.read_to_end(&mut bytes)
        .map_err(|e| format!("cannot read: {e}"))?;
    let report = inventory::scan_bytes(path, &bytes, key);
    Ok((report, Some(bytes)))
}

pub struct Planner<'a> {
    pub policy: &'a Policy,
    pub catalog: Option<&'a Catalog>,
    /// Fingerprints the values of the records read, for the catalog.
    pub value_key: Option<&'a inventory::ValueKey>,
    pub now: Timestamp,
}

struct Gathered {
    items: Mutex<Vec<PlanItem>>,
    scanned: Mutex<Vec<(FileReport, Identity)>>,
    seen: Mutex<Vec<(PathBuf, Identity)>>,
    problems: Mutex<Vec<String>>,
    not_covered: AtomicU64,
    held: AtomicU64,
    kept: AtomicU64,
    not_due: AtomicU64,
    undated: AtomicU64,
    unclassified: AtomicU64,
    hard_linked: AtomicU64,
    /// Records whose first-seen date is still loading.
    deferred: Mutex<Vec<Deferred>>,
}

struct Deferred {
    root: Arc<PathBuf>,
    rel: PathBuf,
    path: PathBuf,
    stat: FileStat,
}

impl Planner<'_> {
    /// Walks every root and decides every record. The catalog's first-seen dates
    /// load on another thread while the walk runs; records that need them wait
    /// in a list and are decided once the dates are in.
    pub fn plan(&self) -> Result<Plan, SweepError> {
        crate::walk::raise_open_file_limit();
        let catalog_dates = self.catalog.filter(|_| {
            self.policy
                .series
                .iter()
                .any(|s| matches!(s.clock, Clock::FirstSeen))
        });
        let gathered = Gathered {
            items: Mutex::default(),
            scanned: Mutex::default(),
            seen: Mutex::default(),
            problems: Mutex::default(),
            deferred: Mutex::default(),
            not_covered: AtomicU64::new(0),
            held: AtomicU64::new(0),
            kept: AtomicU64::new(0),
            not_due: AtomicU64::new(0),
            undated: AtomicU64::new(0),
            unclassified: AtomicU64::new(0),
            hard_linked: AtomicU64::new(0),
        };
        let counts = WalkCounts::default();
        let first_seen = std::thread::scope(|scope| {
            let loader = catalog_dates.map(|catalog| scope.spawn(|| catalog.first_seen_all()));
            for root in self.policy.walk_roots() {
                let dir = match Dir::open_root(&root) {
                    Ok(dir) => Arc::new(dir),
                    Err(err) => {
                        gathered
                            .problems
                            .lock()
                            .expect("not poisoned")
                            .push(err.to_string());
                        continue;
                    }
                };
                let root = Arc::new(root);
                let visit =
                    |entry: FileEntry| self.visit(&root, entry, catalog_dates.is_some(), &gathered);
                let problem = |p: WalkProblem| {
                    gathered
                        .problems
                        .lock()
                        .expect("not poisoned")
                        .push(format!("{}: {}", p.path.display(), p.why));
                };
                Walk {
                    root_path: &root,
                    one_file_system: self.policy.one_file_system,
                    visit: &visit,
                    problem: &problem,
                    counts: &counts,
                }
                .run(dir);
            }
            match loader {
                Some(loader) => loader.join().expect("the catalog loader does not panic"),
                None => Ok(HashMap::new()),
            }
        })?;
        use rayon::prelude::*;
        let deferred = std::mem::take(&mut *gathered.deferred.lock().expect("not poisoned"));
        deferred.into_par_iter().for_each(|waiting| {
            let seen = first_seen.get(&waiting.path).copied();
            if seen.is_none() {
                gathered
                    .seen
                    .lock()
                    .expect("not poisoned")
                    .push((waiting.path.clone(), identity(&waiting.stat)));
            }
            let name = waiting.rel.file_name().unwrap_or_default().to_os_string();
            let parent = waiting.rel.parent().unwrap_or(Path::new("")).to_path_buf();
            // Reached again from the root, never through a link, only if the content is needed.
            let open_dir = || {
                Dir::open_root(&waiting.root)
                    .map_err(|e| e.to_string())
                    .and_then(|root| {
                        Arc::new(root)
                            .descend(&parent)
                            .map_err(|e| format!("cannot reach its folder: {}", e.desc()))
                    })
            };
            self.decide_one(
                &waiting.root,
                &waiting.rel,
                &waiting.path,
                &waiting.stat,
                seen,
                &name,
                &open_dir,
                &gathered,
            );
        });
        if let Some(catalog) = self.catalog {
            let now = self.now.as_second();
            catalog.store(&gathered.scanned.into_inner().expect("not poisoned"), now)?;
            catalog.note_seen(&gathered.seen.into_inner().expect("not poisoned"), now)?;
        }
        let mut items = gathered.items.into_inner().expect("not poisoned");
        items.sort_by(|a, b| a.path.cmp(&b.path));
        let mut problems = gathered.problems.into_inner().expect("not poisoned");
        problems.sort();
        let load = |n: &AtomicU64| n.load(Ordering::Relaxed);
        Ok(Plan {
            schema: PLAN_SCHEMA.into(),
            policy: self.policy.path.clone(),
            policy_hash: self.policy.hash_hex(),
            now: self.now,
            tally: Tally {
                files: load(&counts.files),
                not_covered: load(&gathered.not_covered),
                held: load(&gathered.held),
                kept: load(&gathered.kept),
                not_due: load(&gathered.not_due),
                undated: load(&gathered.undated),
                unclassified: load(&gathered.unclassified),
                due: items.len() as u64,
                hard_linked: load(&gathered.hard_linked),
            },
            items,
            problems,
        })
    }

    fn visit(
        &self,
        root: &Arc<PathBuf>,
        entry: FileEntry,
        dates_pending: bool,
        gathered: &Gathered,
    ) {
        let path = root.join(&entry.rel);
        let covering = self.policy.series.iter().filter(|s| s.covers(&path));
        let mut any = false;
        let mut first_seen_clock = false;
        for series in covering {
            any = true;
            first_seen_clock |= matches!(series.clock, Clock::FirstSeen);
        }
        if !any {
            gathered.not_covered.fetch_add(1, Ordering::Relaxed);
            return;
        }
        if first_seen_clock && dates_pending {
            gathered
                .deferred
                .lock()
                .expect("not poisoned")
                .push(Deferred {
                    root: Arc::clone(root),
                    rel: entry.rel,
                    path,
                    stat: entry.stat,
                });
            return;
        }
        // Without a catalog a first-seen clock cannot start: the record stays undated.
        self.decide_one(
            root,
            &entry.rel,
            &path,
            &entry.stat,
            None,
            entry.name,
            &|| Ok(Arc::clone(entry.dir)),
            gathered,
        );
    }

    #[allow(clippy::too_many_arguments)]
    fn decide_one(
        &self,
        root: &Path,
        rel: &Path,
        path: &Path,
        stat: &FileStat,
        seen: Option<i64>,
        name: &std::ffi::OsStr,
        open_dir: &dyn Fn() -> Result<Arc<Dir>, String>,
        gathered: &Gathered,
    ) {
        let record = record(path, stat, seen);
        let mut content = || {
            let dir = open_dir()?;
            let (report, read) = findings_of(self.catalog, self.value_key, &dir, name, path, stat)?;
            let content = content_of(&report);
            if read.is_some() {
                gathered
                    .scanned
                    .lock()
                    .expect("not poisoned")
                    .push((report, identity(stat)));
            }
            content
        };
        let verdict = self.policy.decide(&record, self.now, &mut content);
        let counter = match &verdict {
            Verdict::NotCovered => &gathered.not_covered,
            Verdict::Held { .. } => &gathered.held,
            Verdict::Kept { .. } => &gathered.kept,
            Verdict::NotDue { .. } => &gathered.not_due,
            Verdict::Undated { .. } => &gathered.undated,
            Verdict::Unclassified { why } => {
                gathered
                    .problems
                    .lock()
                    .expect("not poisoned")
                    .push(format!(
                        "{}: kept, its content could not be read: {why}",
                        path.display()
                    ));
                &gathered.unclassified
            }
            Verdict::Due {
                series,
                clock,
                since,
                due_at,
                age_days,
                action,
            } => {
                if stat.st_nlink > 1 && action != "report" {
                    // Overwriting would destroy the data under its other names too,
                    // which may lie outside the roots.
                    gathered.problems.lock().expect("not poisoned").push(format!(
                        "{}: due under {series} but not disposed of: it has {} other hard link(s), which may lie outside the policy's roots",
                        path.display(),
                        stat.st_nlink - 1
                    ));
                    gathered.hard_linked.fetch_add(1, Ordering::Relaxed);
                    return;
                }
                gathered.items.lock().expect("not poisoned").push(PlanItem {
                    path: path.to_path_buf(),
                    root: root.to_path_buf(),
                    rel: rel.to_path_buf(),
                    series: series.clone(),
                    action: action.clone(),
                    clock: clock.to_string(),
                    since: *since,
                    due_at: *due_at,
                    age_days: *age_days,
                    device: stat.st_dev,
                    inode: stat.st_ino,
                    size: stat.st_size as u64,
                    mtime_ns: mtime_ns(stat),
                    original: None,
                });
                return;
            }
        };
        counter.fetch_add(1, Ordering::Relaxed);
    }
}
