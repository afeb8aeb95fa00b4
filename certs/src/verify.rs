//! Offline verification of a whole ledger, or of a bundle handed to an auditor.
//!
//! Three outcomes, kept apart on purpose: the evidence holds ([`Verdict::Valid`]);
//! the evidence shows tampering ([`Verdict::Tampered`], naming the first bad entry);
//! or the input cannot be judged ([`LedgerError`]: missing or unreadable files).

use std::path::{Path, PathBuf};

use rayon::prelude::*;

use crate::certificate::{parse_hex, Certificate};
use crate::checkpoint::SignedCheckpoint;
use crate::error::LedgerError;
use crate::keys::PublicKey;
use crate::ledger::{Ledger, HEAD_FILE, LOG_FILE};
use crate::merkle::{leaf_hash, verify_inclusion, Frontier, Hash};

/// What verification needs of each certificate: its position and its link.
struct ChainFields {
    sequence: u64,
    previous: Option<Hash>,
}

static PREVIOUS_KEY: std::sync::LazyLock<memchr::memmem::Finder<'static>> =
    std::sync::LazyLock::new(|| memchr::memmem::Finder::new(br#""previous":""#));
const SEQUENCE_KEY: &[u8] = br#","sequence":"#;
const SCHEMA_FIELD: &[u8] = br#""schema":"wisp-certificate/1""#;

impl ChainFields {
    /// Reads the two fields from a line in the canonical form the ledger writes,
    /// where keys are sorted, so `"schema"` then `"sequence"` close the object, and
    /// `"previous":"` can only occur as a key (quotes inside strings are escaped).
    /// This is sound without a full JSON parse because integrity rests on the leaf
    /// hashes and the signed root: any change to a line changes its leaf. It keeps
    /// verification near hashing speed; `list` and `export` parse every field.
    fn extract(line: &[u8]) -> Result<ChainFields, String> {
        let body = line
            .strip_suffix(b"}")
            .ok_or("not a JSON object in canonical form")?;
        let at = memchr::memmem::rfind(body, SEQUENCE_KEY).ok_or("no sequence number")?;
        let digits = &body[at + SEQUENCE_KEY.len()..];
        let sequence = parse_decimal(digits).ok_or("the sequence number is not a whole number")?;
        if !body[..at].ends_with(SCHEMA_FIELD) {
            return Err(format!("not a {} certificate", crate::certificate::SCHEMA));
        }
        let previous = match PREVIOUS_KEY.find(body) {
            None => None,
            Some(start) => {
                let value = start + PREVIOUS_KEY.needle().len();
                let hash = body
                    .get(value..value + 65)
                    .filter(|v| v[64] == b'"')
                    .and_then(|v| parse_hex(&v[..64]))
                    .ok_or("previous is not a hash")?;
                Some(hash)
            }
        };
        Ok(ChainFields { sequence, previous })
    }
}

fn parse_decimal(digits: &[u8]) -> Option<u64> {
    if digits.is_empty() || digits.len() > 19 {
        return None;
    }
    digits.iter().try_fold(0u64, |acc, &d| {
        d.is_ascii_digit().then(|| acc * 10 + u64::from(d - b'0'))
    })
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Verified {
    /// Certificates covered by the signed checkpoint (or in the bundle).
    pub size: u64,
    pub root: Hash,
    pub key_id: String,
    /// Complete certificates after the signed checkpoint, left by a writer that
    /// stopped before signing; the next append signs them.
    pub uncovered: u64,
    /// A partial last line left by a writer that stopped mid-write.
    pub torn_tail: bool,
    /// The size of the auditor's earlier checkpoint this log was shown to extend.
    pub extends: Option<u64>,
    /// Sequence numbers checked, for bundles.
    pub certificates: Vec<u64>,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Tamper {
    /// The first certificate found bad, where one can be named.
    pub entry: Option<u64>,
    pub file: PathBuf,
    pub reason: String,
}

impl std::fmt::Display for Tamper {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self.entry {
            Some(entry) => write!(
                f,
                "{}: certificate #{entry}: {}",
                self.file.display(),
                self.reason
            ),
            None => write!(f, "{}: {}", self.file.display(), self.reason),
        }
    }
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Verdict {
    Valid(Verified),
    Tampered(Tamper),
}

/// Checks every certificate's bytes against its leaf and its chain link, the tree
/// against the signed checkpoint, the signature against `key`, and, given the
/// auditor's earlier checkpoint, that the log only grew since.
pub fn verify_ledger(
    ledger: &Ledger,
    key: &PublicKey,
    since: Option<&SignedCheckpoint>,
) -> Result<Verdict, LedgerError> {
    let _lock = ledger.read_lock()?;
    let log = ledger.dir().join(LOG_FILE);
    let head_path = ledger.dir().join(HEAD_FILE);
    let tamper = |entry: Option<u64>, file: &Path, reason: String| {
        Ok(Verdict::Tampered(Tamper {
            entry,
            file: file.to_path_buf(),
            reason,
        }))
    };
    if let Some(since) = since {
        since
            .verify(key)
            .map_err(|problem| LedgerError::Malformed {
                path: PathBuf::from("the checkpoint given with --since"),
                line: 5,
                message: problem.to_string(),
            })?;
    }

    let head = match ledger.head() {
        Ok(head) => head,
        Err(LedgerError::Malformed { message, line, .. }) => {
            return tamper(None, &head_path, format!("line {line}: {message}"))
        }
        Err(other) => return Err(other),
    };
    let (size, signed_root) = match &head {
        Some(head) if !head.canonical => {
            return tamper(
                None,
                &head_path,
                "the file is not as wisp wrote it (edited)".into(),
            )
        }
        Some(head) => {
            if let Err(problem) = head.checkpoint.verify(key) {
                return tamper(None, &head_path, format!("checkpoint: {problem}"));
            }
            (
                head.checkpoint.checkpoint.size,
                head.checkpoint.checkpoint.root,
            )
        }
        None => (0, Frontier::new().root()),
    };
    let has_lines = ledger.lines()?.next().is_some();
    if head.is_none() && has_lines {
        return tamper(
            None,
            &head_path,
            "missing: no signed checkpoint covers the log (if the very first append was interrupted, the next append signs it)".into(),
        );
    }

    let mut frontier = Frontier::new();
    let mut previous: Option<Hash> = None;
    let mut covered_bytes = 0u64;
    let mut since_root: Option<Hash> = None;
    let mut uncovered = 0u64;
    let mut torn_tail = false;
    let mut outcome: Option<Tamper> = None;
    ledger.for_each_block(|block, block_offset| {
        if outcome.is_some() {
            return Ok(());
        }
        // Hash and parse the block's lines on every core, then walk the chain in order.
        let mut lines: Vec<(u64, &[u8], bool)> = Vec::new();
        let mut start = 0;
        for end in memchr::memchr_iter(b'\n', block) {
            lines.push((block_offset + start as u64, &block[start..end], true));
            start = end + 1;
        }
        if start < block.len() {
            lines.push((block_offset + start as u64, &block[start..], false));
        }
        let checked: Vec<(Hash, Result<ChainFields, String>)> = lines
            .par_iter()
            .map(|(_, line, _)| (leaf_hash(line), ChainFields::extract(line)))
            .collect();
        for ((offset, line, complete), (leaf, fields)) in lines.iter().zip(checked) {
            let index = frontier.size();
            let found = |entry: Option<u64>, reason: String| Tamper {
                entry,
                file: log.clone(),
                reason,
            };
            if index >= size {
                if *complete {
                    uncovered += 1;
                } else {
                    torn_tail = true;
                }
                continue;
            }
            if !complete {
                outcome = Some(found(Some(index), "the line is cut short inside the signed log".into()));
                return Ok(());
            }
            let fields = match fields {
                Ok(fields) => fields,
                Err(err) => {
                    outcome = Some(found(Some(index), format!("not a certificate: {err}")));
                    return Ok(());
                }
            };
            if fields.sequence != index {
                outcome = Some(found(
                    Some(index),
                    format!(
                        "the line in position #{index} is certificate #{}: certificates were dropped, duplicated or reordered",
                        fields.sequence
                    ),
                ));
                return Ok(());
            }
            if fields.previous != previous {
                let culprit = index.saturating_sub(1);
                outcome = Some(found(
                    Some(culprit),
                    format!("its hash differs from the one certificate #{index} records for it: #{culprit} was altered, or #{index}'s link was"),
                ));
                return Ok(());
            }
            frontier.push(leaf);
            previous = Some(leaf);
            covered_bytes = offset + line.len() as u64 + 1;
            if let Some(since) = since {
                if frontier.size() == since.checkpoint.size {
                    since_root = Some(frontier.root());
                }
            }
        }
        Ok(())
    })?;
    if let Some(tamper) = outcome {
        return Ok(Verdict::Tampered(tamper));
    }
    if frontier.size() < size {
        return tamper(
            None,
            &log,
            format!(
                "the log holds {} certificates but the signed checkpoint covers {size}: certificates were removed",
                frontier.size()
            ),
        );
    }
    if frontier.root() != signed_root {
        let last = size.saturating_sub(1);
        return tamper(
            Some(last),
            &log,
            "the Merkle root differs from the signed checkpoint's; every chain link holds, so the last certificate was altered or the whole log rewritten".into(),
        );
    }
    if let Some(head) = &head {
        if head.log_bytes != covered_bytes
            || head.frontier != frontier
            || head.last_leaf != previous
        {
            return tamper(
                None,
                &head_path,
                "the head's stored state (length, last leaf, frontier) does not match the log"
                    .into(),
            );
        }
    }
    let mut extends = None;
    if let Some(since) = since {
        let kept = &since.checkpoint;
        if kept.size > size {
            return tamper(
                None,
                &log,
                format!(
                    "the log was rolled back: it holds {size} certificates, the checkpoint you kept has {}",
                    kept.size
                ),
            );
        }
        let root_then = if kept.size == 0 {
            Some(Frontier::new().root())
        } else {
            since_root
        };
        if root_then != Some(kept.root) {
            return tamper(
                None,
                &log,
                format!(
                    "the log is not an extension of the checkpoint you kept: its first {} certificates were rewritten",
                    kept.size
                ),
            );
        }
        extends = Some(kept.size);
    }
    Ok(Verdict::Valid(Verified {
        size,
        root: signed_root,
        key_id: key.key_id(),
        uncovered,
        torn_tail,
        extends,
        certificates: Vec::new(),
    }))
}

/// The files of a bundle.
pub const BUNDLE_CHECKPOINT: &str = "checkpoint";
pub const BUNDLE_PUBLIC_KEY: &str = "signing.pub";
pub const BUNDLE_CERTIFICATES: &str = "certificates";
pub const BUNDLE_PROOFS: &str = "proofs";

#[derive(Debug, Clone, serde::Serialize, serde::Deserialize)]
#[serde(deny_unknown_fields)]
pub struct InclusionProof {
    pub sequence: u64,
    pub tree_size: u64,
    pub leaf_hash: String,
    pub audit_path: Vec<String>,
}

/// Checks a bundle with no ledger: each certificate's bytes hash to its leaf, the
/// leaf's audit path leads to the checkpoint's root, and `key` signed the checkpoint.
pub fn verify_bundle(dir: &Path, key: &PublicKey) -> Result<Verdict, LedgerError> {
    let checkpoint_path = dir.join(BUNDLE_CHECKPOINT);
    let checkpoint = SignedCheckpoint::load(&checkpoint_path)?;
    if let Err(problem) = checkpoint.verify(key) {
        return Ok(Verdict::Tampered(Tamper {
            entry: None,
            file: checkpoint_path,
            reason: problem.to_string(),
        }));
    }
    let certificates_dir = dir.join(BUNDLE_CERTIFICATES);
    let entries = std::fs::read_dir(&certificates_dir).map_err(|source| LedgerError::Io {
        path: certificates_dir.clone(),
        source,
    })?;
    let mut files: Vec<PathBuf> = entries
        .flatten()
        .map(|e| e.path())
        .filter(|p| p.extension().is_some_and(|e| e == "json"))
        .collect();
    files.sort();
    if files.is_empty() {
        return Err(LedgerError::Io {
            path: certificates_dir,
            source: std::io::Error::new(
                std::io::ErrorKind::NotFound,
                "no certificates in the bundle",
            ),
        });
    }
    let mut checked = Vec::new();
    for file in files {
        let bytes = crate::fs_util::read_file(&file)?;
        let line = bytes.strip_suffix(b"\n").unwrap_or(&bytes);
        let certificate: Certificate = match serde_json::from_slice(line) {
            Ok(c) => c,
            Err(err) => {
                return Ok(Verdict::Tampered(Tamper {
                    entry: None,
                    file,
                    reason: format!("not a certificate: {err}"),
                }))
            }
        };
        let sequence = certificate.sequence;
        let proof_path = dir.join(BUNDLE_PROOFS).join(format!("{sequence}.json"));
        let proof_bytes = crate::fs_util::read_file(&proof_path)?;
        let proof: InclusionProof =
            serde_json::from_slice(&proof_bytes).map_err(|err| LedgerError::Malformed {
                path: proof_path.clone(),
                line: err.line(),
                message: err.to_string(),
            })?;
        let path: Option<Vec<Hash>> = proof
            .audit_path
            .iter()
            .map(|h| parse_hex(h.as_bytes()))
            .collect();
        let Some(path) = path else {
            return Err(LedgerError::Malformed {
                path: proof_path,
                line: 1,
                message: "audit_path holds a value that is not a hash".into(),
            });
        };
        let leaf = leaf_hash(line);
        let root = checkpoint.checkpoint.root;
        let holds = proof.sequence == sequence
            && proof.tree_size == checkpoint.checkpoint.size
            && verify_inclusion(&leaf, sequence, proof.tree_size, &path, &root);
        if !holds {
            return Ok(Verdict::Tampered(Tamper {
                entry: Some(sequence),
                file,
                reason: "the certificate is not included in the signed log (its bytes or its proof were changed)".into(),
            }));
        }
        checked.push(sequence);
    }
    Ok(Verdict::Valid(Verified {
        size: checkpoint.checkpoint.size,
        root: checkpoint.checkpoint.root,
        key_id: key.key_id(),
        uncovered: 0,
        torn_tail: false,
        extends: None,
        certificates: checked,
    }))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::certificate::hex;

    #[test]
    fn chain_fields_from_canonical_lines() {
        let disposal = crate::tests::sample_disposal("SN1");
        let previous = crate::merkle::leaf_hash(b"earlier");
        let at = "2026-11-25T09:30:00Z".parse().unwrap();
        let first = Certificate::new(disposal.clone(), 0, None, at).canonical_bytes();
        let fields = ChainFields::extract(&first).unwrap();
        assert_eq!((fields.sequence, fields.previous), (0, None));
        let later = Certificate::new(disposal, 41, Some(&previous), at).canonical_bytes();
        let fields = ChainFields::extract(&later).unwrap();
        assert_eq!((fields.sequence, fields.previous), (41, Some(previous)));
    }

    #[test]
    fn chain_fields_reject_non_certificates() {
        let good = format!(
            r#"{{"previous":"{}","schema":"wisp-certificate/1","sequence":7}}"#,
            hex(&[7; 32])
        );
        assert!(ChainFields::extract(good.as_bytes()).is_ok());
        for bad in [
            good.replace("\"sequence\":7}", "\"sequence\":7 }"),
            good.replace(":7}", ":x}"),
            good.replace(":7}", ":}"),
            good.replace("wisp-certificate/1", "wisp-certificate/2"),
            good.replacen("07", "0g", 1),
            good.replacen("0707", "07", 1),
            "not json".to_string(),
        ] {
            assert!(ChainFields::extract(bad.as_bytes()).is_err(), "{bad}");
        }
    }

    #[test]
    fn hex_round_trip() {
        let hash = crate::merkle::leaf_hash(b"x");
        assert_eq!(parse_hex(hex(&hash).as_bytes()), Some(hash));
        assert_eq!(parse_hex(hex(&hash).to_uppercase().as_bytes()), Some(hash));
        assert_eq!(parse_hex(b"00"), None);
        assert_eq!(parse_hex(&[b'z'; 64]), None);
    }

    #[test]
    fn decimal() {
        assert_eq!(parse_decimal(b"0"), Some(0));
        assert_eq!(
            parse_decimal(b"18446744073709551"),
            Some(18_446_744_073_709_551)
        );
        assert_eq!(parse_decimal(b""), None);
        assert_eq!(parse_decimal(b"1a"), None);
        assert_eq!(parse_decimal(b"99999999999999999999"), None);
    }
}
