//! Signed checkpoints: "this log had `size` certificates with Merkle root `root`",
//! in the signed-note layout of C2SP's tlog-checkpoint, so an auditor can keep one
//! as a small text file and later prove the log only grew.
//!
//! ```text
//! wisp-ledger/3fa2c901          origin (names the signing key)
//! 42                            size
//! <base64 root>                 Merkle root
//!                               blank line
//! — wisp-ledger/3fa2c901 <base64(key hash ‖ Ed25519 signature over the three lines)>
//! ```

use std::path::Path;

use base64::engine::general_purpose::STANDARD as BASE64;
use base64::Engine;
use ed25519_dalek::Signature;

use crate::error::LedgerError;
use crate::keys::{PublicKey, SecretKey};
use crate::merkle::Hash;

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Checkpoint {
    pub origin: String,
    pub size: u64,
    pub root: Hash,
}

/// A checkpoint with its signature, as stored and as handed to auditors.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SignedCheckpoint {
    pub checkpoint: Checkpoint,
    pub key_hash: [u8; 4],
    pub signature: [u8; 64],
}

pub fn origin_for(key: &PublicKey) -> String {
    format!("wisp-ledger/{}", key.key_id())
}

impl Checkpoint {
    fn body(&self) -> String {
        format!(
            "{}\n{}\n{}\n",
            self.origin,
            self.size,
            BASE64.encode(self.root)
        )
    }

    pub fn sign(self, key: &SecretKey) -> SignedCheckpoint {
        let signature = key.sign(self.body().as_bytes());
        SignedCheckpoint {
            key_hash: key.public().key_hash(),
            checkpoint: self,
            signature,
        }
    }
}

/// Why a checkpoint's signature does not hold.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum SignatureProblem {
    OtherKey { expected: String, found: String },
    Invalid,
}

impl std::fmt::Display for SignatureProblem {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            SignatureProblem::OtherKey { expected, found } => write!(
                f,
                "signed by key {found}, not by the trusted key {expected}"
            ),
            SignatureProblem::Invalid => f.write_str("the signature does not match its contents"),
        }
    }
}

impl SignedCheckpoint {
    pub fn to_text(&self) -> String {
        let mut sig = Vec::with_capacity(68);
        sig.extend_from_slice(&self.key_hash);
        sig.extend_from_slice(&self.signature);
        format!(
            "{}\n\u{2014} {} {}\n",
            self.checkpoint.body(),
            self.checkpoint.origin,
            BASE64.encode(sig)
        )
    }

    pub fn parse(text: &str, path: &Path) -> Result<SignedCheckpoint, LedgerError> {
        let malformed = |line: usize, message: &str| LedgerError::Malformed {
            path: path.to_path_buf(),
            line,
            message: message.to_string(),
        };
        let lines: Vec<&str> = text.lines().collect();
        if lines.len() < 5 {
            return Err(malformed(lines.len().max(1), "a checkpoint has 5 lines"));
        }
        let origin = lines[0].to_string();
        let size = lines[1]
            .parse()
            .map_err(|_| malformed(2, "the size is not a whole number"))?;
        let root: Hash = BASE64
            .decode(lines[2])
            .ok()
            .and_then(|b| b.try_into().ok())
            .ok_or_else(|| malformed(3, "the root is not 32 bytes of base64"))?;
        if !lines[3].is_empty() {
            return Err(malformed(4, "expected a blank line before the signature"));
        }
        let signature_line = lines[4]
            .strip_prefix("\u{2014} ")
            .ok_or_else(|| malformed(5, "expected a signature line starting with '\u{2014} '"))?;
        let (name, encoded) = signature_line
            .split_once(' ')
            .ok_or_else(|| malformed(5, "expected '\u{2014} <key name> <signature>'"))?;
        if name != origin {
            return Err(malformed(
                5,
                "the signature's key name differs from the origin",
            ));
        }
        let sig = BASE64
            .decode(encoded)
            .ok()
            .filter(|bytes| bytes.len() == 68)
            .ok_or_else(|| malformed(5, "the signature is not 68 bytes of base64"))?;
        Ok(SignedCheckpoint {
            checkpoint: Checkpoint { origin, size, root },
            key_hash: sig[..4].try_into().expect("4 bytes"),
            signature: sig[4..].try_into().expect("64 bytes"),
        })
    }

    pub fn load(path: &Path) -> Result<SignedCheckpoint, LedgerError> {
        let bytes = crate::fs_util::read_file(path)?;
        SignedCheckpoint::parse(&String::from_utf8_lossy(&bytes), path)
    }

    pub fn verify(&self, key: &PublicKey) -> Result<(), SignatureProblem> {
        let expected = key.key_id();
        let found: String = self.key_hash.iter().map(|b| format!("{b:02x}")).collect();
        if found != expected || self.checkpoint.origin != origin_for(key) {
            return Err(SignatureProblem::OtherKey { expected, found });
        }
        key.0
            .verify_strict(
                self.checkpoint.body().as_bytes(),
                &Signature::from_bytes(&self.signature),
            )
            .map_err(|_| SignatureProblem::Invalid)
    }
}
