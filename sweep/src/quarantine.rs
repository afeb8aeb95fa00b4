//! Quarantine: a due record is first moved into its series' quarantine folder
//! (same filesystem, one rename, nothing overwritten), where a person can still
//! take it back; once it has sat there for the grace period it is shredded and
//! certified under its original path.
//!
//! The manifest `quarantine.jsonl` beside the journal says where each quarantined
//! file came from. It is written (and synced) before the rename, so a file is
//! never in quarantine without a line saying whence.

use std::fs::OpenOptions;
use std::io::{BufRead, BufReader, Write};
use std::os::fd::AsFd;
use std::os::unix::fs::OpenOptionsExt;
use std::path::{Path, PathBuf};
use std::sync::Arc;

use jiff::Timestamp;
use retention::Policy;
use serde::{Deserialize, Serialize};

use crate::error::SweepError;
use crate::execute::{Executor, ItemResult};
use crate::plan::{mtime_ns, PlanItem};
use crate::walk::Dir;

pub const MANIFEST_FILE: &str = "quarantine.jsonl";

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Quarantined {
    /// The file's name in the quarantine folder.
    pub name: String,
    pub folder: PathBuf,
    pub original: PathBuf,
    pub series: String,
    pub quarantined_at: Timestamp,
    pub device: u64,
    pub inode: u64,
}

pub fn manifest(dir: &Path) -> Result<Vec<Quarantined>, SweepError> {
    let path = dir.join(MANIFEST_FILE);
    let file = match std::fs::File::open(&path) {
        Ok(file) => file,
        Err(err) if err.kind() == std::io::ErrorKind::NotFound => return Ok(Vec::new()),
        Err(source) => return Err(SweepError::Io { path, source }),
    };
    let mut entries = Vec::new();
    for line in BufReader::new(file).lines() {
        let line = line.map_err(SweepError::io(&path))?;
        // A torn last line was never followed by its rename: nothing to find.
        if let Ok(entry) = serde_json::from_str::<Quarantined>(&line) {
            entries.push(entry);
        }
    }
    Ok(entries)
}

fn append(dir: &Path, entry: &Quarantined) -> Result<(), SweepError> {
    let path = dir.join(MANIFEST_FILE);
    let mut file = OpenOptions::new()
        .create(true)
        .append(true)
        .mode(0o600)
        .open(&path)
        .map_err(SweepError::io(&path))?;
    let mut line = serde_json::to_vec(entry).expect("manifest lines serialize");
    line.push(b'\n');
    file.write_all(&line).map_err(SweepError::io(&path))?;
    file.sync_data().map_err(SweepError::io(&path))?;
    std::fs::File::open(dir)
        .and_then(|d| d.sync_all())
        .map_err(SweepError::io(dir))
}

/// The quarantined files whose grace period has run out, as plan items that
/// shred them (root: the quarantine folder).
pub fn due(
    policy: &Policy,
    state_dir: &Path,
    now: Timestamp,
) -> Result<(Vec<PlanItem>, Vec<String>), SweepError> {
    let entries = manifest(state_dir)?;
    let mut items = Vec::new();
    let mut problems = Vec::new();
    for (series, folder, grace) in policy.quarantines() {
        let dir = match Dir::open_root(folder) {
            Ok(dir) => dir,
            Err(_) if !folder.exists() => continue,
            Err(err) => {
                problems.push(err.to_string());
                continue;
            }
        };
        for entry in entries
            .iter()
            .filter(|e| e.folder == folder && e.series == series.id)
        {
            let Ok(stat) = dir.stat(std::ffi::OsStr::new(&entry.name)) else {
                continue; // taken back by a person, or already shredded
            };
            if stat.st_ino != entry.inode || stat.st_dev != entry.device {
                continue;
            }
            let due_at = grace.after(entry.quarantined_at);
            if due_at > now {
                continue;
            }
            items.push(PlanItem {
                path: folder.join(&entry.name),
                root: folder.to_path_buf(),
                rel: PathBuf::from(&entry.name),
                series: series.id.clone(),
                action: "shred".into(),
                clock: "quarantined".into(),
                since: entry.quarantined_at,
                due_at,
                age_days: (now.as_second() - entry.quarantined_at.as_second()) / 86_400,
                device: stat.st_dev,
                inode: stat.st_ino,
                size: stat.st_size as u64,
                mtime_ns: mtime_ns(&stat),
                original: Some(entry.original.clone()),
            });
        }
    }
    Ok((items, problems))
}

impl Executor<'_> {
    /// Moves a due record into its series' quarantine folder.
    pub(crate) fn quarantine(&self, item: &PlanItem) -> Result<ItemResult, SweepError> {
        let skip = |why: String| Ok(ItemResult::Skipped { why });
        let Some(retention::Action::Quarantine { dir: folder, .. }) =
            self.policy.action_of(&item.series)
        else {
            return skip(format!("series {} no longer quarantines", item.series));
        };
        if let Some(hold) = self.policy.hold_on(&item.path) {
            return skip(format!("under the legal hold \"{}\"", hold.name));
        }
        let (Some(name), parent) = (
            item.rel.file_name(),
            item.rel.parent().unwrap_or(Path::new("")),
        ) else {
            return skip("the plan names no file".into());
        };
        let Ok(root) = Dir::open_root(&item.root) else {
            return skip(format!("its root {} cannot be opened", item.root.display()));
        };
        let Ok(from) = Arc::new(root).descend(parent) else {
            return skip("its folder is no longer reachable without following a link".into());
        };
        match from.stat(name) {
            Ok(stat)
                if stat.st_ino == item.inode
                    && stat.st_dev == item.device
                    && stat.st_size as u64 == item.size
                    && mtime_ns(&stat) == item.mtime_ns => {}
            _ => return skip("changed since it was planned".into()),
        }
        std::fs::create_dir_all(folder).map_err(SweepError::io(folder))?;
        let to = match Dir::open_root(folder) {
            Ok(dir) => dir,
            Err(err) => {
                return Ok(ItemResult::Failed {
                    why: err.to_string(),
                })
            }
        };
        let new_name = format!(
            "{}.{}.{}",
            self.now.strftime("%Y%m%dT%H%M%SZ"),
            item.series,
            name.to_string_lossy()
        );
        let entry = Quarantined {
            name: new_name.clone(),
            folder: folder.clone(),
            original: item.path.clone(),
            series: item.series.clone(),
            quarantined_at: self.now,
            device: item.device,
            inode: item.inode,
        };
        append(&self.state_dir(), &entry)?;
        match shred::remove::rename_noreplace(
            from.as_fd(),
            name,
            to.as_fd(),
            std::ffi::OsStr::new(&new_name),
        ) {
            Ok(()) => {}
            Err(nix::errno::Errno::EXDEV) => {
                return Ok(ItemResult::Failed {
                    why: format!(
                    "the quarantine folder {} is on another filesystem; a move would copy the data",
                    folder.display()
                ),
                })
            }
            Err(errno) => {
                return Ok(ItemResult::Failed {
                    why: format!("cannot move it into quarantine: {}", errno.desc()),
                })
            }
        }
        for dir in [&*from, &to] {
            nix::unistd::fsync(dir.as_fd()).map_err(|e| SweepError::Io {
                path: folder.clone(),
                source: e.into(),
            })?;
        }
        Ok(ItemResult::Quarantined {
            to: folder.join(new_name),
        })
    }

    pub(crate) fn state_dir(&self) -> PathBuf {
        crate::state_dir(self.ledger.dir())
    }
}
