//! The append-only ledger of certificates.
//!
//! Layout of a ledger directory:
//! - `certificates.jsonl`: one certificate per line, in canonical JSON; line `i`
//!   is leaf `i` of the Merkle tree and carries `sequence = i` and the previous
//!   line's leaf hash.
//! - `head.json`: the signed checkpoint over the whole log, plus the state needed
//!   to append without rereading it (byte length, last leaf, Merkle frontier).
//!   Replaced atomically after every append.
//! - `lock`: `flock`ed exclusively by writers and shared by readers, so a sweep and
//!   a manual shred can append at once and a reader never sees half an append.
//! - `signing.key` (0600), `signing.pub`, `fingerprint.key` (0600): see [`crate::keys`].
//!
//! Crash safety: a certificate line is written and fdatasync'ed before the head
//! that covers it. After a crash the log may hold a torn last line (dropped) or
//! complete lines the head does not cover yet (adopted and signed by the next
//! append); no complete certificate is ever lost.

use std::fs::{File, OpenOptions};
use std::io::{BufRead, BufReader, Read, Seek, SeekFrom, Write};
use std::path::{Path, PathBuf};

use nix::fcntl::{Flock, FlockArg};
use serde::{Deserialize, Serialize};

use crate::certificate::{hex, parse_hex, Certificate, Disposal};
use crate::checkpoint::{origin_for, Checkpoint, SignedCheckpoint};
use crate::env::Clock;
use crate::error::LedgerError;
use crate::fs_util::{fsync_dir, read_file, replace_atomically};
use crate::keys::{SecretKey, PUBLIC_KEY_FILE, SIGNING_KEY_FILE};
use crate::merkle::{leaf_hash, Frontier, Hash};

pub const LOG_FILE: &str = "certificates.jsonl";
pub const HEAD_FILE: &str = "head.json";
const LOCK_FILE: &str = "lock";

/// A ledger directory.
#[derive(Debug, Clone)]
pub struct Ledger {
    dir: PathBuf,
}

/// The head as stored. Only `checkpoint` is signed; the rest is a cache that
/// `verify` checks against the log.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
struct HeadFile {
    checkpoint: String,
    log_bytes: u64,
    last_leaf: Option<String>,
    frontier: Vec<String>,
}

/// The head, parsed.
#[derive(Debug, Clone)]
pub struct Head {
    pub checkpoint: SignedCheckpoint,
    pub log_bytes: u64,
    pub last_leaf: Option<Hash>,
    pub frontier: Frontier,
    /// Whether the file's bytes are exactly what wisp writes for this content;
    /// anything else means it was edited.
    pub canonical: bool,
}

fn head_file_bytes(file: &HeadFile) -> Vec<u8> {
    let mut bytes = serde_json::to_vec_pretty(file).expect("head serializes");
    bytes.push(b'\n');
    bytes
}

/// What an append recorded.
#[derive(Debug, Clone)]
pub struct Appended {
    pub sequence: u64,
    pub leaf: Hash,
    pub certificate: Certificate,
}

/// Certificates the append found complete in the log but not yet covered by the
/// head (left by a writer that crashed), and whether a torn tail was dropped.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Recovery {
    pub adopted: u64,
    pub torn_bytes_dropped: u64,
}

/// One line of the log.
#[derive(Debug, Clone)]
pub struct LogLine {
    /// Byte offset of the line's start.
    pub offset: u64,
    /// The line without its newline.
    pub bytes: Vec<u8>,
    /// False for a last line with no newline: a torn write.
    pub complete: bool,
}

impl LogLine {
    pub fn leaf(&self) -> Hash {
        leaf_hash(&self.bytes)
    }

    pub fn certificate(&self) -> Result<Certificate, String> {
        serde_json::from_slice(&self.bytes).map_err(|err| err.to_string())
    }
}

/// Reads the log line by line without holding it all in memory.
pub struct LogReader {
    reader: BufReader<File>,
    offset: u64,
    path: PathBuf,
}

impl Iterator for LogReader {
    type Item = Result<LogLine, LedgerError>;

    fn next(&mut self) -> Option<Self::Item> {
        let mut bytes = Vec::new();
        match self.reader.read_until(b'\n', &mut bytes) {
            Ok(0) => None,
            Ok(read) => {
                let offset = self.offset;
                self.offset += read as u64;
                let complete = bytes.last() == Some(&b'\n');
                if complete {
                    bytes.pop();
                }
                Some(Ok(LogLine {
                    offset,
                    bytes,
                    complete,
                }))
            }
            Err(source) => Some(Err(LedgerError::Io {
                path: self.path.clone(),
                source,
            })),
        }
    }
}

impl Ledger {
    pub fn new(dir: impl Into<PathBuf>) -> Ledger {
        Ledger { dir: dir.into() }
    }

    pub fn dir(&self) -> &Path {
        &self.dir
    }

    pub fn log_path(&self) -> PathBuf {
        self.dir.join(LOG_FILE)
    }

    pub fn head_path(&self) -> PathBuf {
        self.dir.join(HEAD_FILE)
    }

    pub fn public_key_path(&self) -> PathBuf {
        self.dir.join(PUBLIC_KEY_FILE)
    }

    fn io(&self, path: &Path) -> impl Fn(std::io::Error) -> LedgerError {
        let path = path.to_path_buf();
        move |source| LedgerError::Io {
            path: path.clone(),
            source,
        }
    }

    fn lock(&self, arg: FlockArg) -> Result<Flock<File>, LedgerError> {
        let path = self.dir.join(LOCK_FILE);
        let file = OpenOptions::new()
            .create(true)
            .truncate(false)
            .write(true)
            .open(&path)
            .map_err(self.io(&path))?;
        Flock::lock(file, arg).map_err(|(_, errno)| LedgerError::Io {
            path,
            source: errno.into(),
        })
    }

    /// Takes the readers' lock: no append is half-done while it is held.
    pub fn read_lock(&self) -> Result<Flock<File>, LedgerError> {
        if !self.dir.is_dir() {
            return Err(LedgerError::Io {
                path: self.dir.clone(),
                source: std::io::Error::new(std::io::ErrorKind::NotFound, "no ledger here"),
            });
        }
        self.lock(FlockArg::LockShared)
    }

    /// The head, or `None` for a ledger nothing was appended to yet.
    pub fn head(&self) -> Result<Option<Head>, LedgerError> {
        let path = self.head_path();
        let bytes = match std::fs::read(&path) {
            Ok(bytes) => bytes,
            Err(err) if err.kind() == std::io::ErrorKind::NotFound => return Ok(None),
            Err(source) => return Err(LedgerError::Io { path, source }),
        };
        let file: HeadFile =
            serde_json::from_slice(&bytes).map_err(|err| LedgerError::Malformed {
                path: path.clone(),
                line: err.line(),
                message: err.to_string(),
            })?;
        let malformed = |message: &str| LedgerError::Malformed {
            path: path.clone(),
            line: 1,
            message: message.to_string(),
        };
        let checkpoint = SignedCheckpoint::parse(&file.checkpoint, &path)?;
        let subtrees = file
            .frontier
            .iter()
            .map(|h| parse_hex(h.as_bytes()))
            .collect::<Option<Vec<Hash>>>()
            .ok_or_else(|| malformed("frontier holds a value that is not a hash"))?;
        let frontier = Frontier::from_parts(checkpoint.checkpoint.size, subtrees)
            .ok_or_else(|| malformed("frontier does not fit the checkpoint's size"))?;
        let last_leaf = match &file.last_leaf {
            None => None,
            Some(h) => {
                Some(parse_hex(h.as_bytes()).ok_or_else(|| malformed("last_leaf is not a hash"))?)
            }
        };
        Ok(Some(Head {
            checkpoint,
            log_bytes: file.log_bytes,
            last_leaf,
            frontier,
            canonical: head_file_bytes(&file) == bytes,
        }))
    }

    /// Iterates over the log's lines (an absent log has none).
    pub fn lines(&self) -> Result<LogReader, LedgerError> {
        let path = self.log_path();
        let file = match File::open(&path) {
            Ok(file) => file,
            Err(err) if err.kind() == std::io::ErrorKind::NotFound => {
                File::open("/dev/null").map_err(self.io(&path))?
            }
            Err(source) => return Err(LedgerError::Io { path, source }),
        };
        Ok(LogReader {
            reader: BufReader::with_capacity(1 << 20, file),
            offset: 0,
            path,
        })
    }

    /// Calls `visit` with consecutive blocks of the log, each holding whole lines
    /// (newline included) except possibly a torn last line at the very end, and the
    /// block's byte offset. Reads in large blocks so that callers can work on line
    /// slices without a copy per line.
    pub fn for_each_block(
        &self,
        mut visit: impl FnMut(&[u8], u64) -> Result<(), LedgerError>,
    ) -> Result<(), LedgerError> {
        const BLOCK: usize = 8 << 20;
        let path = self.log_path();
        let mut file = match File::open(&path) {
            Ok(file) => file,
            Err(err) if err.kind() == std::io::ErrorKind::NotFound => return Ok(()),
            Err(source) => return Err(LedgerError::Io { path, source }),
        };
        let mut buffer: Vec<u8> = Vec::with_capacity(2 * BLOCK);
        let mut offset = 0u64;
        loop {
            // read_to_end fills spare capacity without zeroing it first.
            let read = (&mut file)
                .take(BLOCK as u64)
                .read_to_end(&mut buffer)
                .map_err(self.io(&path))?;
            if read == 0 {
                if !buffer.is_empty() {
                    visit(&buffer, offset)?;
                }
                return Ok(());
            }
            // Hand over whole lines; keep a partial last line for the next read.
            if let Some(last_newline) = memchr::memrchr(b'\n', &buffer) {
                let whole = last_newline + 1;
                visit(&buffer[..whole], offset)?;
                offset += whole as u64;
                buffer.drain(..whole);
            }
        }
    }

    /// Appends one certificate per disposal, under the writers' lock, and signs a
    /// new checkpoint over the whole log. The certificates are durable when this
    /// returns.
    pub fn append(
        &self,
        disposals: Vec<Disposal>,
        clock: &dyn Clock,
    ) -> Result<(Vec<Appended>, Recovery), LedgerError> {
        std::fs::create_dir_all(&self.dir).map_err(self.io(&self.dir))?;
        let _lock = self.lock(FlockArg::LockExclusive)?;
        let key = SecretKey::load(&self.dir.join(SIGNING_KEY_FILE))?;
        let log_path = self.log_path();
        let mut log = OpenOptions::new()
            .create(true)
            .truncate(false)
            .read(true)
            .write(true)
            .open(&log_path)
            .map_err(self.io(&log_path))?;
        let (mut state, recovery) = self.recover(&mut log)?;

        let mut appended = Vec::with_capacity(disposals.len());
        let mut buffer = Vec::new();
        for disposal in disposals {
            let sequence = state.frontier.size();
            let certificate =
                Certificate::new(disposal, sequence, state.last_leaf.as_ref(), clock.now());
            let bytes = certificate.canonical_bytes();
            let leaf = leaf_hash(&bytes);
            buffer.extend_from_slice(&bytes);
            buffer.push(b'\n');
            state.frontier.push(leaf);
            state.last_leaf = Some(leaf);
            appended.push(Appended {
                sequence,
                leaf,
                certificate,
            });
        }
        if appended.is_empty() && recovery == Recovery::default() && state.signed {
            return Ok((appended, recovery));
        }
        log.seek(SeekFrom::Start(state.log_bytes))
            .map_err(self.io(&log_path))?;
        log.write_all(&buffer).map_err(self.io(&log_path))?;
        log.sync_data().map_err(self.io(&log_path))?;
        if state.log_bytes == 0 {
            // The log file was just created: make its directory entry durable too.
            fsync_dir(&self.dir)?;
        }
        state.log_bytes += buffer.len() as u64;
        self.write_head(&key, &state)?;
        Ok((appended, recovery))
    }

    /// Reconciles the log with the head after a possible crash: adopts complete
    /// certificates written after the head, drops a torn last line, and refuses a
    /// log that is shorter than the head or holds foreign lines.
    fn recover(&self, log: &mut File) -> Result<(AppendState, Recovery), LedgerError> {
        let log_path = self.log_path();
        let head = self.head()?;
        let mut state = match &head {
            Some(head) => AppendState {
                log_bytes: head.log_bytes,
                last_leaf: head.last_leaf,
                frontier: head.frontier.clone(),
                signed: true,
            },
            None => AppendState {
                log_bytes: 0,
                last_leaf: None,
                frontier: Frontier::new(),
                signed: false,
            },
        };
        let length = log.metadata().map_err(self.io(&log_path))?.len();
        let inconsistent = |message: String| LedgerError::Inconsistent {
            path: log_path.clone(),
            message,
        };
        if length < state.log_bytes {
            return Err(inconsistent(format!(
                "the log has {length} bytes but the head covers {}",
                state.log_bytes
            )));
        }
        let mut recovery = Recovery::default();
        if length == state.log_bytes {
            return Ok((state, recovery));
        }
        log.seek(SeekFrom::Start(state.log_bytes))
            .map_err(self.io(&log_path))?;
        let mut tail = Vec::new();
        log.read_to_end(&mut tail).map_err(self.io(&log_path))?;
        let mut consumed = 0usize;
        while let Some(end) = tail[consumed..].iter().position(|&b| b == b'\n') {
            let line = &tail[consumed..consumed + end];
            let certificate: Certificate = serde_json::from_slice(line).map_err(|err| {
                inconsistent(format!(
                    "byte {} holds a line that is not a certificate ({err})",
                    state.log_bytes
                ))
            })?;
            let expected_previous = state.last_leaf.as_ref().map(hex);
            if certificate.sequence != state.frontier.size()
                || certificate.previous != expected_previous
            {
                return Err(inconsistent(format!(
                    "certificate #{} after the head does not continue the chain",
                    certificate.sequence
                )));
            }
            let leaf = leaf_hash(line);
            state.frontier.push(leaf);
            state.last_leaf = Some(leaf);
            consumed += end + 1;
            state.log_bytes += end as u64 + 1;
            recovery.adopted += 1;
        }
        if consumed < tail.len() {
            recovery.torn_bytes_dropped = (tail.len() - consumed) as u64;
            log.set_len(state.log_bytes).map_err(self.io(&log_path))?;
            log.sync_all().map_err(self.io(&log_path))?;
        }
        Ok((state, recovery))
    }

    fn write_head(&self, key: &SecretKey, state: &AppendState) -> Result<(), LedgerError> {
        let checkpoint = Checkpoint {
            origin: origin_for(&key.public()),
            size: state.frontier.size(),
            root: state.frontier.root(),
        }
        .sign(key);
        let file = HeadFile {
            checkpoint: checkpoint.to_text(),
            log_bytes: state.log_bytes,
            last_leaf: state.last_leaf.as_ref().map(hex),
            frontier: state.frontier.subtrees().iter().map(hex).collect(),
        };
        replace_atomically(&self.head_path(), &head_file_bytes(&file))
    }

    /// Finds a certificate by sequence number (`17` or `#17`) or by a prefix of at
    /// least 6 hex digits of its hash.
    pub fn find(&self, id: &str) -> Result<(LogLine, Certificate), LedgerError> {
        let id = id.trim();
        let by_sequence: Option<u64> = match id.strip_prefix('#') {
            Some(number) => number.parse().ok(),
            None => id.parse().ok().filter(|_| id.len() < 6),
        };
        let id = id.trim_start_matches('#');
        let prefix = id.to_ascii_lowercase();
        for line in self.lines()? {
            let line = line?;
            if !line.complete {
                break;
            }
            let Ok(certificate) = line.certificate() else {
                continue;
            };
            let matches = match by_sequence {
                Some(sequence) => certificate.sequence == sequence,
                None => prefix.len() >= 6 && hex(&line.leaf()).starts_with(&prefix),
            };
            if matches {
                return Ok((line, certificate));
            }
        }
        Err(LedgerError::NotFound {
            path: self.log_path(),
            id: id.to_string(),
        })
    }

    /// The signed checkpoint an auditor keeps, as text.
    pub fn checkpoint_text(&self) -> Result<Option<String>, LedgerError> {
        Ok(self.head()?.map(|head| head.checkpoint.to_text()))
    }

    /// Reads a ledger file whole (for bundles).
    pub fn read(&self, name: &str) -> Result<Vec<u8>, LedgerError> {
        read_file(&self.dir.join(name))
    }
}

struct AppendState {
    log_bytes: u64,
    last_leaf: Option<Hash>,
    frontier: Frontier,
    /// Whether a signed head exists for this state.
    signed: bool,
}
