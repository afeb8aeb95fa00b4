//! The catalog: what each file held when it was last read, keyed by its identity,
//! so a rescan only reads files that changed, and retention can date records by
//! when wisp first saw them (copies and restores reset mtime; this does not).
//!
//! It stores counts, masked samples and keyed fingerprints of the values found
//! (so "which files hold this SSN?" has an answer), never a value.

use std::os::unix::fs::MetadataExt;
use std::path::{Path, PathBuf};
use std::sync::Mutex;

use rusqlite::{params, Connection, OptionalExtension};

use crate::fingerprint::ValueFingerprint;
use crate::read::{FileKind, FileReport};
use crate::scan::{Counts, Findings, Sample};

#[derive(Debug, thiserror::Error)]
#[error("catalog {}: {source}", path.display())]
pub struct CatalogError {
    path: PathBuf,
    #[source]
    source: rusqlite::Error,
}

/// What identifies a file's content without reading it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Identity {
    pub device: u64,
    pub inode: u64,
    pub size: u64,
    pub mtime_ns: i64,
    pub ctime_ns: i64,
}

impl Identity {
    pub fn of(meta: &std::fs::Metadata) -> Identity {
        Identity {
            device: meta.dev(),
            inode: meta.ino(),
            size: meta.size(),
            mtime_ns: meta.mtime() * 1_000_000_000 + meta.mtime_nsec(),
            ctime_ns: meta.ctime() * 1_000_000_000 + meta.ctime_nsec(),
        }
    }
}

/// The kind of a row for a file a sweep has seen (to start its first-seen clock)
/// but nobody has read yet: never taken for findings.
const UNSCANNED: &str = "unscanned";

pub struct Catalog {
    path: PathBuf,
    connection: Mutex<Connection>,
}

const SCHEMA: &str = "
CREATE TABLE IF NOT EXISTS files (
    path TEXT PRIMARY KEY,
    device INTEGER NOT NULL, inode INTEGER NOT NULL, size INTEGER NOT NULL,
    mtime_ns INTEGER NOT NULL, ctime_ns INTEGER NOT NULL,
    kind TEXT NOT NULL,
    ssn INTEGER NOT NULL, card INTEGER NOT NULL, license INTEGER NOT NULL,
    account INTEGER NOT NULL, names INTEGER NOT NULL, pi_records INTEGER NOT NULL,
    samples TEXT NOT NULL, error TEXT,
    first_seen INTEGER NOT NULL, last_scanned INTEGER NOT NULL
);
-- Narrow and covering: a sweep reads every first-seen date without the rows' samples.
CREATE INDEX IF NOT EXISTS files_first_seen ON files (path, first_seen);
CREATE TABLE IF NOT EXISTS value_fingerprints (
    fingerprint TEXT NOT NULL, element TEXT NOT NULL, path TEXT NOT NULL,
    PRIMARY KEY (fingerprint, element, path)
) WITHOUT ROWID;
CREATE INDEX IF NOT EXISTS value_fingerprints_by_path ON value_fingerprints (path);";

impl Catalog {
    pub fn open(path: &Path) -> Result<Catalog, CatalogError> {
        let err = |source| CatalogError {
            path: path.to_path_buf(),
            source,
        };
        if let Some(dir) = path.parent() {
            let _ = std::fs::create_dir_all(dir);
        }
        let connection = Connection::open(path).map_err(err)?;
        // WAL and NORMAL sync: a crash loses at most the last scan's updates,
        // never the catalog, and a rescan simply reads those files again.
        connection
            .execute_batch("PRAGMA journal_mode = WAL; PRAGMA synchronous = NORMAL;")
            .and_then(|()| connection.execute_batch(SCHEMA))
            .map_err(err)?;
        Ok(Catalog {
            path: path.to_path_buf(),
            connection: Mutex::new(connection),
        })
    }

    fn err(&self, source: rusqlite::Error) -> CatalogError {
        CatalogError {
            path: self.path.clone(),
            source,
        }
    }

    /// The findings recorded for `path` if its identity is unchanged.
    pub fn unchanged(
        &self,
        path: &Path,
        identity: &Identity,
    ) -> Result<Option<FileReport>, CatalogError> {
        let connection = self.connection.lock().expect("not poisoned");
        let row = connection
            .query_row(
                "SELECT device, inode, size, mtime_ns, ctime_ns, kind, ssn, card, license, account, names,
                        pi_records, samples, error FROM files WHERE path = ?1",
                params![path.to_string_lossy()],
                |row| {
                    let stored = Identity {
                        device: row.get::<_, i64>(0)? as u64,
                        inode: row.get::<_, i64>(1)? as u64,
                        size: row.get::<_, i64>(2)? as u64,
                        mtime_ns: row.get(3)?,
                        ctime_ns: row.get(4)?,
                    };
                    let kind: String = row.get(5)?;
                    let counts = Counts {
                        ssn: row.get::<_, i64>(6)? as u64,
                        card: row.get::<_, i64>(7)? as u64,
                        license: row.get::<_, i64>(8)? as u64,
                        account: row.get::<_, i64>(9)? as u64,
                        names: row.get::<_, i64>(10)? as u64,
                    };
                    let pi_records = row.get::<_, i64>(11)? as u64;
                    let samples: String = row.get(12)?;
                    let error: Option<String> = row.get(13)?;
                    Ok((stored, kind, counts, pi_records, samples, error))
                },
            )
            .optional()
            .map_err(|e| self.err(e))?;
        let Some((stored, kind, counts, pi_records, samples, error)) = row else {
            return Ok(None);
        };
        if stored != *identity || kind == UNSCANNED {
            return Ok(None);
        }
        let samples: Vec<Sample> = serde_json::from_str(&samples).unwrap_or_default();
        Ok(Some(FileReport {
            path: path.to_path_buf(),
            kind: FileKind::from_name(&kind).unwrap_or(FileKind::Text),
            bytes: identity.size,
            findings: Findings {
                counts,
                pi_records,
                samples,
                ..Findings::default()
            },
            error,
            cached: true,
            fingerprints: Vec::new(),
        }))
    }

    /// Records fresh reports (cached ones only get their scan time), in one
    /// transaction. `now` is seconds since the Unix epoch; first-seen dates of
    /// files already known are kept.
    pub fn store(&self, reports: &[(FileReport, Identity)], now: i64) -> Result<(), CatalogError> {
        let mut connection = self.connection.lock().expect("not poisoned");
        let tx = connection.transaction().map_err(|e| self.err(e))?;
        {
            let mut upsert = tx
                .prepare_cached(
                    "INSERT INTO files (path, device, inode, size, mtime_ns, ctime_ns, kind, ssn, card, license,
                         account, names, pi_records, samples, error, first_seen, last_scanned)
                     VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12, ?13, ?14, ?15, ?16, ?16)
                     ON CONFLICT(path) DO UPDATE SET device = ?2, inode = ?3, size = ?4, mtime_ns = ?5,
                         ctime_ns = ?6, kind = ?7, ssn = ?8, card = ?9, license = ?10, account = ?11,
                         names = ?12, pi_records = ?13, samples = ?14, error = ?15, last_scanned = ?16",
                )
                .map_err(|e| self.err(e))?;
            for (report, identity) in reports {
                let c = &report.findings.counts;
                let samples =
                    serde_json::to_string(&report.findings.samples).unwrap_or_else(|_| "[]".into());
                upsert
                    .execute(params![
                        report.path.to_string_lossy(),
                        identity.device as i64,
                        identity.inode as i64,
                        identity.size as i64,
                        identity.mtime_ns,
                        identity.ctime_ns,
                        report.kind.name(),
                        c.ssn as i64,
                        c.card as i64,
                        c.license as i64,
                        c.account as i64,
                        c.names as i64,
                        report.findings.pi_records as i64,
                        samples,
                        report.error,
                        now,
                    ])
                    .map_err(|e| self.err(e))?;
            }
            let mut clear = tx
                .prepare_cached("DELETE FROM value_fingerprints WHERE path = ?1")
                .map_err(|e| self.err(e))?;
            let mut insert = tx
                .prepare_cached(
                    "INSERT OR IGNORE INTO value_fingerprints (fingerprint, element, path) VALUES (?1, ?2, ?3)",
                )
                .map_err(|e| self.err(e))?;
            // A file read afresh replaces its fingerprints; a cached one keeps them.
            for (report, _) in reports.iter().filter(|(r, _)| !r.cached) {
                let path = report.path.to_string_lossy();
                clear.execute(params![path]).map_err(|e| self.err(e))?;
                for print in &report.fingerprints {
                    insert
                        .execute(params![print.fingerprint, print.element.name(), path])
                        .map_err(|e| self.err(e))?;
                }
            }
        }
        tx.commit().map_err(|e| self.err(e))
    }

    /// The files whose last scan found the value with this fingerprint.
    pub fn holding(&self, print: &ValueFingerprint) -> Result<Vec<PathBuf>, CatalogError> {
        let connection = self.connection.lock().expect("not poisoned");
        let mut query = connection
            .prepare_cached(
                "SELECT path FROM value_fingerprints WHERE fingerprint = ?1 AND element = ?2 ORDER BY path",
            )
            .map_err(|e| self.err(e))?;
        let rows = query
            .query_map(params![print.fingerprint, print.element.name()], |r| {
                Ok(PathBuf::from(r.get::<_, String>(0)?))
            })
            .map_err(|e| self.err(e))?;
        rows.collect::<Result<_, _>>().map_err(|e| self.err(e))
    }

    /// Records that these files were seen at `now` (seconds since the Unix epoch),
    /// without findings, so their first-seen clock starts; files already known
    /// keep their row.
    pub fn note_seen(&self, files: &[(PathBuf, Identity)], now: i64) -> Result<(), CatalogError> {
        let mut connection = self.connection.lock().expect("not poisoned");
        let tx = connection.transaction().map_err(|e| self.err(e))?;
        {
            let mut insert = tx
                .prepare_cached(
                    "INSERT INTO files (path, device, inode, size, mtime_ns, ctime_ns, kind, ssn, card, license,
                         account, names, pi_records, samples, error, first_seen, last_scanned)
                     VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, 0, 0, 0, 0, 0, 0, '[]', NULL, ?8, 0)
                     ON CONFLICT(path) DO NOTHING",
                )
                .map_err(|e| self.err(e))?;
            for (path, identity) in files {
                insert
                    .execute(params![
                        path.to_string_lossy(),
                        identity.device as i64,
                        identity.inode as i64,
                        identity.size as i64,
                        identity.mtime_ns,
                        identity.ctime_ns,
                        UNSCANNED,
                        now,
                    ])
                    .map_err(|e| self.err(e))?;
            }
        }
        tx.commit().map_err(|e| self.err(e))
    }

    /// Every first-seen date the catalog holds, by path: one query instead of one
    /// per file for a sweep over a large tree.
    pub fn first_seen_all(&self) -> Result<std::collections::HashMap<PathBuf, i64>, CatalogError> {
        let connection = self.connection.lock().expect("not poisoned");
        let mut query = connection
            .prepare("SELECT path, first_seen FROM files")
            .map_err(|e| self.err(e))?;
        let rows = query
            .query_map([], |r| {
                Ok((PathBuf::from(r.get::<_, String>(0)?), r.get(1)?))
            })
            .map_err(|e| self.err(e))?;
        rows.collect::<Result<_, _>>().map_err(|e| self.err(e))
    }

    /// Forgets files that were destroyed.
    pub fn forget(&self, paths: &[PathBuf]) -> Result<(), CatalogError> {
        let mut connection = self.connection.lock().expect("not poisoned");
        let tx = connection.transaction().map_err(|e| self.err(e))?;
        {
            let mut delete = tx
                .prepare_cached("DELETE FROM files WHERE path = ?1")
                .map_err(|e| self.err(e))?;
            let mut delete_prints = tx
                .prepare_cached("DELETE FROM value_fingerprints WHERE path = ?1")
                .map_err(|e| self.err(e))?;
            for path in paths {
                let path = path.to_string_lossy();
                delete.execute(params![path]).map_err(|e| self.err(e))?;
                delete_prints
                    .execute(params![path])
                    .map_err(|e| self.err(e))?;
            }
        }
        tx.commit().map_err(|e| self.err(e))
    }

    /// When wisp first saw `path` (seconds since the Unix epoch).
    pub fn first_seen(&self, path: &Path) -> Result<Option<i64>, CatalogError> {
        let connection = self.connection.lock().expect("not poisoned");
        connection
            .query_row(
                "SELECT first_seen FROM files WHERE path = ?1",
                params![path.to_string_lossy()],
                |r| r.get(0),
            )
            .optional()
            .map_err(|e| self.err(e))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::read::scan_file;

    #[test]
    fn unchanged_files_come_from_the_catalog_and_first_seen_is_kept() {
        let dir = tempfile::tempdir().unwrap();
        let file = dir.path().join("staff.csv");
        std::fs::write(&file, "Name,SSN\nJane Doe,123-45-6788\n").unwrap();
        let catalog = Catalog::open(&dir.path().join("catalog.sqlite")).unwrap();
        let identity = Identity::of(&std::fs::metadata(&file).unwrap());
        assert!(catalog.unchanged(&file, &identity).unwrap().is_none());
        catalog
            .store(&[(scan_file(&file), identity)], 1_000)
            .unwrap();

        let cached = catalog
            .unchanged(&file, &identity)
            .unwrap()
            .expect("cached");
        assert!(cached.cached);
        assert_eq!(cached.findings.counts.ssn, 1);
        assert!(cached.findings.holds_pi());
        assert_eq!(cached.findings.samples[0].masked, "***-**-6788");

        // Changed content: a new identity, read again; first seen stays.
        std::fs::write(
            &file,
            "Name,SSN\nJane Doe,123-45-6788\nJohn Roe,234-56-7890\n",
        )
        .unwrap();
        let changed = Identity::of(&std::fs::metadata(&file).unwrap());
        assert!(catalog.unchanged(&file, &changed).unwrap().is_none());
        catalog
            .store(&[(scan_file(&file), changed)], 2_000)
            .unwrap();
        assert_eq!(catalog.first_seen(&file).unwrap(), Some(1_000));
        assert_eq!(
            catalog
                .unchanged(&file, &changed)
                .unwrap()
                .unwrap()
                .findings
                .counts
                .ssn,
            2
        );

        // Fingerprints: which files hold a value, by its keyed fingerprint.
        let key = crate::ValueKey::from_derived([9; 32]);
        let other = dir.path().join("other.txt");
        std::fs::write(&other, "John Roe SSN 234-56-7890").unwrap();
        let reports = [
            (crate::read::scan_file_keyed(&file, Some(&key)), changed),
            (
                crate::read::scan_file_keyed(&other, Some(&key)),
                Identity::of(&std::fs::metadata(&other).unwrap()),
            ),
        ];
        assert!(
            reports.iter().all(|(r, _)| r.findings.values.is_empty()),
            "values dropped"
        );
        catalog.store(&reports, 3_000).unwrap();
        let print = key.fingerprint(crate::Element::Ssn, "234 56 7890");
        assert_eq!(
            catalog.holding(&print).unwrap(),
            [other.clone(), file.clone()]
        );
        let only_first = key.fingerprint(crate::Element::Ssn, "123-45-6788");
        assert_eq!(
            catalog.holding(&only_first).unwrap(),
            std::slice::from_ref(&file)
        );
        catalog.forget(std::slice::from_ref(&other)).unwrap();
        assert_eq!(
            catalog.holding(&print).unwrap(),
            std::slice::from_ref(&file)
        );

        // Nothing in the catalog holds a value.
        drop(catalog);
        let mut bytes = std::fs::read(dir.path().join("catalog.sqlite")).unwrap();
        if let Ok(wal) = std::fs::read(dir.path().join("catalog.sqlite-wal")) {
            bytes.extend(wal);
        }
        for value in [&b"123-45-6788"[..], b"123456788", b"234-56-7890"] {
            assert!(
                !bytes.windows(value.len()).any(|w| w == value),
                "the catalog holds a value"
            );
        }
    }
}
