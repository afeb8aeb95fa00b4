//! Bundles: what an auditor needs to check some certificates with no ledger and
//! no network — the certificates as logged, their inclusion proofs, the signed
//! checkpoint and the public key.

use std::path::{Path, PathBuf};

use crate::certificate::hex;
use crate::error::LedgerError;
use crate::fs_util::fsync_dir;
use crate::ledger::Ledger;
use crate::merkle::{inclusion_proof, root, Hash};
use crate::verify::{
    InclusionProof, BUNDLE_CERTIFICATES, BUNDLE_CHECKPOINT, BUNDLE_PROOFS, BUNDLE_PUBLIC_KEY,
};

const README: &str = "\
This bundle proves that the certificates in certificates/ are entries of a signed,
append-only disposal ledger kept by wisp.

  checkpoint      the ledger's signed checkpoint: origin (key name), size, Merkle root
  signing.pub     the Ed25519 public key that signed it; compare it with the key the
                  organization gave you before trusting it
  certificates/   each certificate exactly as logged (canonical JSON)
  proofs/         for each, its Merkle audit path to the checkpoint's root

Verify with:   wisp certs verify --bundle THIS_DIR --pubkey KEY_YOU_TRUST
";

/// Writes a bundle for the certificates named by `ids` (sequence numbers or hash
/// prefixes) into `out`, which must not exist yet or be empty.
pub fn write_bundle(ledger: &Ledger, ids: &[String], out: &Path) -> Result<Vec<u64>, LedgerError> {
    let _lock = ledger.read_lock()?;
    let head = ledger.head()?.ok_or_else(|| LedgerError::NotFound {
        path: ledger.head_path(),
        id: "signed checkpoint".into(),
    })?;
    let size = head.checkpoint.checkpoint.size;
    let mut leaves: Vec<Hash> = Vec::with_capacity(size as usize);
    let mut lines: Vec<Vec<u8>> = Vec::new();
    for line in ledger.lines()? {
        let line = line?;
        if leaves.len() as u64 == size {
            break;
        }
        leaves.push(line.leaf());
        lines.push(line.bytes);
    }
    if leaves.len() as u64 != size || root(&leaves) != head.checkpoint.checkpoint.root {
        return Err(LedgerError::Inconsistent {
            path: ledger.log_path(),
            message: "the log does not match its signed checkpoint".into(),
        });
    }

    let mut sequences = Vec::new();
    for id in ids {
        let (_, certificate) = ledger.find(id)?;
        if certificate.sequence >= size {
            return Err(LedgerError::NotFound {
                path: ledger.head_path(),
                id: format!("{id} (not yet covered by a signed checkpoint)"),
            });
        }
        sequences.push(certificate.sequence);
    }
    sequences.sort_unstable();
    sequences.dedup();

    let io = |path: &Path| {
        let path: PathBuf = path.to_path_buf();
        move |source| LedgerError::Io { path, source }
    };
    let certificates_dir = out.join(BUNDLE_CERTIFICATES);
    let proofs_dir = out.join(BUNDLE_PROOFS);
    for dir in [out, &certificates_dir, &proofs_dir] {
        std::fs::create_dir_all(dir).map_err(io(dir))?;
    }
    for &sequence in &sequences {
        let index = sequence as usize;
        let mut bytes = lines[index].clone();
        bytes.push(b'\n');
        let cert_path = certificates_dir.join(format!("{sequence}.json"));
        std::fs::write(&cert_path, &bytes).map_err(io(&cert_path))?;
        let proof = InclusionProof {
            sequence,
            tree_size: size,
            leaf_hash: hex(&leaves[index]),
            audit_path: inclusion_proof(&leaves, index).iter().map(hex).collect(),
        };
        let proof_path = proofs_dir.join(format!("{sequence}.json"));
        let mut proof_bytes = serde_json::to_vec_pretty(&proof).expect("proofs serialize");
        proof_bytes.push(b'\n');
        std::fs::write(&proof_path, proof_bytes).map_err(io(&proof_path))?;
    }
    let checkpoint_path = out.join(BUNDLE_CHECKPOINT);
    std::fs::write(&checkpoint_path, head.checkpoint.to_text()).map_err(io(&checkpoint_path))?;
    let key_path = out.join(BUNDLE_PUBLIC_KEY);
    std::fs::write(&key_path, ledger.read(crate::keys::PUBLIC_KEY_FILE)?).map_err(io(&key_path))?;
    let readme = out.join("README.txt");
    std::fs::write(&readme, README).map_err(io(&readme))?;
    for dir in [&certificates_dir, &proofs_dir, out] {
        fsync_dir(dir)?;
    }
    Ok(sequences)
}
