//! The sweep's write-ahead journal and run lock.
//!
//! Before any byte of a record is overwritten, an *intent* naming it (root,
//! relative path, device, inode, and the evidence taken before destruction) is
//! durable here; once its certificate is in the ledger and the file is gone, a
//! *done* line closes it. After a crash at any instant the next run reads the open
//! intents and finishes each: a record is removed only after its certificate is
//! durable, and a certificate is recorded only for a record that is then removed.

use std::fs::{File, OpenOptions};
use std::io::{BufRead, BufReader, Write};
use std::os::unix::fs::OpenOptionsExt;
use std::path::{Path, PathBuf};

use nix::fcntl::{Flock, FlockArg};
use serde::{Deserialize, Serialize};

use crate::error::SweepError;

/// A record about to be destroyed, with what the certificate needs that can
/// only be learnt before destruction.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Intent {
    pub id: String,
    pub root: PathBuf,
    pub rel: PathBuf,
    pub device: u64,
    pub inode: u64,
    pub size: u64,
    pub series: String,
    /// How many certificates the ledger held when this was written: the
    /// certificate, if any, is after that.
    pub ledger_size: u64,
    pub fingerprint: Option<String>,
    pub findings: Option<certs::Findings>,
    /// For a record shredded from quarantine: where it was before.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub original: Option<PathBuf>,
}

impl Intent {
    pub fn path(&self) -> PathBuf {
        self.root.join(&self.rel)
    }
}

#[derive(Debug, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
enum Line {
    Intent(Intent),
    /// Certified and removed, or found already gone.
    Done(String),
    /// Given up before anything was certified (the record is still there).
    Abandoned(String),
}

pub struct Journal {
    path: PathBuf,
    file: File,
    /// Ids of the intents not yet closed.
    open: std::collections::HashSet<String>,
}

pub const JOURNAL_FILE: &str = "journal.jsonl";
pub const LOCK_FILE: &str = "lock";

fn sync_dir(dir: &Path) -> Result<(), SweepError> {
    File::open(dir)
        .and_then(|d| d.sync_all())
        .map_err(SweepError::io(dir))
}

impl Journal {
    /// Opens (creating) the journal in `dir` and returns the intents still open.
    /// A torn last line (a crash mid-write) is dropped: its intent was never
    /// durable, so nothing was done under it.
    pub fn open(dir: &Path) -> Result<(Journal, Vec<Intent>), SweepError> {
        std::fs::create_dir_all(dir).map_err(SweepError::io(dir))?;
        let path = dir.join(JOURNAL_FILE);
        let existed = path.exists();
        let file = OpenOptions::new()
            .create(true)
            .append(true)
            .read(true)
            .mode(0o600)
            .open(&path)
            .map_err(SweepError::io(&path))?;
        if !existed {
            sync_dir(dir)?;
        }
        let mut open: Vec<Intent> = Vec::new();
        let mut reader = BufReader::new(&file);
        let mut number = 0;
        let mut good_bytes = 0u64;
        loop {
            let mut line = Vec::new();
            let read = reader
                .read_until(b'\n', &mut line)
                .map_err(SweepError::io(&path))?;
            if read == 0 {
                break;
            }
            number += 1;
            if line.last() != Some(&b'\n') {
                break; // torn: never durable
            }
            let parsed: Line = serde_json::from_slice(&line).map_err(|e| SweepError::Journal {
                path: path.clone(),
                line: number,
                why: e.to_string(),
            })?;
            good_bytes += read as u64;
            match parsed {
                Line::Intent(intent) => open.push(intent),
                Line::Done(id) | Line::Abandoned(id) => open.retain(|i| i.id != id),
            }
        }
        drop(reader);
        if file.metadata().map_err(SweepError::io(&path))?.len() != good_bytes {
            file.set_len(good_bytes).map_err(SweepError::io(&path))?;
            file.sync_data().map_err(SweepError::io(&path))?;
        }
        let ids = open.iter().map(|i| i.id.clone()).collect();
        Ok((
            Journal {
                path,
                file,
                open: ids,
            },
            open,
        ))
    }

    fn write(&mut self, lines: &[Line]) -> Result<(), SweepError> {
        if lines.is_empty() {
            return Ok(());
        }
        let mut buffer = Vec::new();
        for line in lines {
            serde_json::to_writer(&mut buffer, line).expect("journal lines serialize");
            buffer.push(b'\n');
        }
        self.file
            .write_all(&buffer)
            .map_err(SweepError::io(&self.path))?;
        self.file.sync_data().map_err(SweepError::io(&self.path))
    }

    /// Makes these intents durable before any of their records is touched.
    pub fn intend(&mut self, intents: &[Intent]) -> Result<(), SweepError> {
        self.write(
            &intents
                .iter()
                .cloned()
                .map(Line::Intent)
                .collect::<Vec<_>>(),
        )?;
        self.open.extend(intents.iter().map(|i| i.id.clone()));
        Ok(())
    }

    pub fn done(&mut self, ids: &[String]) -> Result<(), SweepError> {
        self.write(&ids.iter().cloned().map(Line::Done).collect::<Vec<_>>())?;
        for id in ids {
            self.open.remove(id);
        }
        Ok(())
    }

    pub fn abandon(&mut self, ids: &[String]) -> Result<(), SweepError> {
        self.write(&ids.iter().cloned().map(Line::Abandoned).collect::<Vec<_>>())?;
        for id in ids {
            self.open.remove(id);
        }
        Ok(())
    }

    /// Whether every intent in the journal is closed.
    pub fn settled(&self) -> bool {
        self.open.is_empty()
    }

    /// Empties the journal; only when it is settled, so nothing open is lost.
    pub fn clear(&mut self) -> Result<(), SweepError> {
        if !self.settled() {
            return Ok(());
        }
        self.file.set_len(0).map_err(SweepError::io(&self.path))?;
        self.file.sync_data().map_err(SweepError::io(&self.path))
    }
}

/// Held for the whole run: two sweeps never overlap.
pub struct RunLock {
    _lock: Flock<File>,
}

impl RunLock {
    pub fn acquire(dir: &Path) -> Result<RunLock, SweepError> {
        std::fs::create_dir_all(dir).map_err(SweepError::io(dir))?;
        let path = dir.join(LOCK_FILE);
        let file = OpenOptions::new()
            .create(true)
            .truncate(false)
            .read(true)
            .write(true)
            .mode(0o600)
            .open(&path)
            .map_err(SweepError::io(&path))?;
        match Flock::lock(file, FlockArg::LockExclusiveNonblock) {
            Ok(lock) => {
                // The holder's pid, for the message another run prints.
                let _ = lock.set_len(0);
                let _ = (&*lock).write_all(format!("{}\n", std::process::id()).as_bytes());
                Ok(RunLock { _lock: lock })
            }
            Err((_, nix::errno::Errno::EWOULDBLOCK)) => Err(SweepError::Busy {
                holder: std::fs::read_to_string(&path)
                    .ok()
                    .map(|pid| format!("pid {}", pid.trim()))
                    .filter(|h| h != "pid "),
                path,
            }),
            Err((_, errno)) => Err(SweepError::Io {
                path,
                source: errno.into(),
            }),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn intent(id: &str) -> Intent {
        Intent {
            id: id.into(),
            root: "/srv/share".into(),
            rel: "a/b.txt".into(),
            device: 1,
            inode: 2,
            size: 3,
            series: "S".into(),
            ledger_size: 0,
            fingerprint: None,
            findings: None,
            original: None,
        }
    }

    #[test]
    fn open_intents_survive_reopening_and_a_torn_line_is_dropped() {
        let dir = tempfile::tempdir().unwrap();
        let (mut journal, open) = Journal::open(dir.path()).unwrap();
        assert!(open.is_empty());
        journal
            .intend(&[intent("a"), intent("b"), intent("c")])
            .unwrap();
        journal.done(&["a".into()]).unwrap();
        journal.abandon(&["c".into()]).unwrap();
        drop(journal);
        let path = dir.path().join(JOURNAL_FILE);
        let mut bytes = std::fs::read(&path).unwrap();
        bytes.extend_from_slice(b"{\"done\":\"b");
        std::fs::write(&path, &bytes).unwrap();
        let (mut journal, open) = Journal::open(dir.path()).unwrap();
        assert_eq!(open, vec![intent("b")], "the torn done line does not count");
        journal.done(&["b".into()]).unwrap();
        drop(journal);
        let (_, open) = Journal::open(dir.path()).unwrap();
        assert!(open.is_empty(), "appending after a torn line works");
    }

    #[test]
    fn a_damaged_line_in_the_middle_is_an_error_with_its_number() {
        let dir = tempfile::tempdir().unwrap();
        std::fs::write(
            dir.path().join(JOURNAL_FILE),
            "{\"done\":\"a\"}\nnot json\n{\"done\":\"b\"}\n",
        )
        .unwrap();
        let err = Journal::open(dir.path()).err().unwrap();
        assert!(err.to_string().contains("line 2"), "{err}");
    }

    #[test]
    fn a_second_run_lock_is_refused() {
        let dir = tempfile::tempdir().unwrap();
        let first = RunLock::acquire(dir.path()).unwrap();
        let err = RunLock::acquire(dir.path()).err().unwrap();
        assert!(matches!(err, SweepError::Busy { .. }), "{err}");
        assert!(
            err.to_string()
                .contains(&format!("pid {}", std::process::id())),
            "{err}"
        );
        drop(first);
        RunLock::acquire(dir.path()).unwrap();
    }
}
