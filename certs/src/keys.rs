//! The ledger's Ed25519 signing key, its public half, and the organization's
//! fingerprint key, as small text files (secret ones created 0600, never wider).

use std::fs::OpenOptions;
use std::io::Write;
use std::os::unix::fs::OpenOptionsExt;
use std::path::{Path, PathBuf};

use base64::engine::general_purpose::STANDARD as BASE64;
use base64::Engine;
use ed25519_dalek::{Signer, SigningKey, VerifyingKey};

use crate::env::RandomSource;
use crate::error::LedgerError;
use crate::fs_util::{fsync_dir, read_file};

pub const SIGNING_KEY_FILE: &str = "signing.key";
pub const PUBLIC_KEY_FILE: &str = "signing.pub";
pub const FINGERPRINT_KEY_FILE: &str = "fingerprint.key";

const SECRET_HEADER: &str = "wisp-ed25519-secret";
const PUBLIC_HEADER: &str = "wisp-ed25519";
const FINGERPRINT_HEADER: &str = "wisp-fingerprint-key";

/// The public key that checkpoints are verified against.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct PublicKey(pub(crate) VerifyingKey);

impl PublicKey {
    /// The first 4 bytes of the key's BLAKE3 hash; names the key in signatures.
    pub fn key_hash(&self) -> [u8; 4] {
        let hash = blake3::Hasher::new_derive_key("wisp checkpoint key id")
            .update(self.0.as_bytes())
            .finalize();
        hash.as_bytes()[..4].try_into().expect("4 bytes")
    }

    /// A short, stable name for the key: its key hash in hex.
    pub fn key_id(&self) -> String {
        self.key_hash().iter().map(|b| format!("{b:02x}")).collect()
    }

    /// The text form written to `signing.pub` and given to auditors.
    pub fn to_text(&self) -> String {
        format!("{PUBLIC_HEADER} {}\n", BASE64.encode(self.0.as_bytes()))
    }

    pub fn parse(text: &str, path: &Path) -> Result<PublicKey, LedgerError> {
        let malformed = |message: &str| LedgerError::Malformed {
            path: path.to_path_buf(),
            line: 1,
            message: message.to_string(),
        };
        let line = text.lines().next().unwrap_or("").trim();
        let encoded = line
            .strip_prefix(PUBLIC_HEADER)
            .map(str::trim)
            .ok_or_else(|| malformed("expected `wisp-ed25519 <base64 key>`"))?;
        let bytes: [u8; 32] = BASE64
            .decode(encoded)
            .ok()
            .and_then(|b| b.try_into().ok())
            .ok_or_else(|| malformed("the key is not 32 bytes of base64"))?;
        VerifyingKey::from_bytes(&bytes)
            .map(PublicKey)
            .map_err(|_| malformed("not a valid Ed25519 public key"))
    }

    pub fn load(path: &Path) -> Result<PublicKey, LedgerError> {
        let text = read_file(path)?;
        PublicKey::parse(&String::from_utf8_lossy(&text), path)
    }
}

/// The private signing key; only the ledger's writer loads it.
pub struct SecretKey(SigningKey);

impl SecretKey {
    pub fn public(&self) -> PublicKey {
        PublicKey(self.0.verifying_key())
    }

    pub fn sign(&self, message: &[u8]) -> [u8; 64] {
        self.0.sign(message).to_bytes()
    }

    pub fn load(path: &Path) -> Result<SecretKey, LedgerError> {
        let text = match read_file(path) {
            Err(LedgerError::Io { source, .. })
                if source.kind() == std::io::ErrorKind::NotFound =>
            {
                return Err(LedgerError::NoSigningKey {
                    path: path.to_path_buf(),
                })
            }
            other => other?,
        };
        let seed = decode_secret(&text, SECRET_HEADER, path)?;
        Ok(SecretKey(SigningKey::from_bytes(&seed)))
    }
}

/// The organization's key for content fingerprints: a keyed hash of a short record
/// (one SSN, say) cannot be brute-forced by someone who lacks it.
pub struct FingerprintKey([u8; 32]);

impl FingerprintKey {
    pub fn load(path: &Path) -> Result<FingerprintKey, LedgerError> {
        let text = read_file(path)?;
        decode_secret(&text, FINGERPRINT_HEADER, path).map(FingerprintKey)
    }

    /// Keyed BLAKE3 over everything `reader` yields, as hex.
    /// A key for one other use of the organization's secret, separated from this
    /// one and from every other by `context` (BLAKE3 key derivation).
    pub fn derive(&self, context: &str) -> [u8; 32] {
        blake3::derive_key(context, &self.0)
    }

    pub fn fingerprint(&self, reader: &mut dyn std::io::Read) -> std::io::Result<String> {
        let mut hasher = blake3::Hasher::new_keyed(&self.0);
        std::io::copy(reader, &mut hasher)?;
        Ok(hasher.finalize().to_hex().to_string())
    }
}

fn decode_secret(text: &[u8], header: &str, path: &Path) -> Result<[u8; 32], LedgerError> {
    let text = String::from_utf8_lossy(text);
    let mut lines = text.lines();
    let malformed = |line: usize, message: &str| LedgerError::Malformed {
        path: path.to_path_buf(),
        line,
        message: message.to_string(),
    };
    if lines.next().map(str::trim) != Some(header) {
        return Err(malformed(1, &format!("expected the header `{header}`")));
    }
    BASE64
        .decode(lines.next().unwrap_or("").trim())
        .ok()
        .and_then(|bytes| bytes.try_into().ok())
        .ok_or_else(|| malformed(2, "expected 32 bytes of base64"))
}

/// The files `generate` wrote.
#[derive(Debug, Clone)]
pub struct GeneratedKeys {
    pub public: PublicKey,
    pub signing_key: PathBuf,
    pub public_key: PathBuf,
    pub fingerprint_key: PathBuf,
}

/// Creates the signing key pair and the fingerprint key in `dir`. Refuses to
/// replace existing keys: checkpoints signed by a lost key could no longer be
/// verified, and old fingerprints could no longer be matched.
pub fn generate(dir: &Path, random: &mut dyn RandomSource) -> Result<GeneratedKeys, LedgerError> {
    std::fs::create_dir_all(dir).map_err(|source| LedgerError::Io {
        path: dir.to_path_buf(),
        source,
    })?;
    let signing_key = dir.join(SIGNING_KEY_FILE);
    let public_key = dir.join(PUBLIC_KEY_FILE);
    let fingerprint_key = dir.join(FINGERPRINT_KEY_FILE);
    for existing in [&signing_key, &public_key, &fingerprint_key] {
        if existing.exists() {
            return Err(LedgerError::KeyExists {
                path: existing.clone(),
            });
        }
    }
    let io = |path: &Path| {
        let path = path.to_path_buf();
        move |source| LedgerError::Io { path, source }
    };
    let mut seed = [0u8; 32];
    random.fill(&mut seed).map_err(io(&signing_key))?;
    let mut fingerprint = [0u8; 32];
    random
        .fill(&mut fingerprint)
        .map_err(io(&fingerprint_key))?;
    let secret = SecretKey(SigningKey::from_bytes(&seed));
    let public = secret.public();

    write_new(
        &signing_key,
        format!("{SECRET_HEADER}\n{}\n", BASE64.encode(seed)).as_bytes(),
        0o600,
    )?;
    write_new(
        &fingerprint_key,
        format!("{FINGERPRINT_HEADER}\n{}\n", BASE64.encode(fingerprint)).as_bytes(),
        0o600,
    )?;
    write_new(&public_key, public.to_text().as_bytes(), 0o644)?;
    fsync_dir(dir)?;
    Ok(GeneratedKeys {
        public,
        signing_key,
        public_key,
        fingerprint_key,
    })
}

/// Creates `path` exclusively with `mode` from the start, so a secret is never
/// readable by others even for an instant, and writes it durably.
fn write_new(path: &Path, contents: &[u8], mode: u32) -> Result<(), LedgerError> {
    let io = |source| LedgerError::Io {
        path: path.to_path_buf(),
        source,
    };
    let mut file = OpenOptions::new()
        .write(true)
        .create_new(true)
        .mode(mode)
        .open(path)
        .map_err(io)?;
    file.write_all(contents).map_err(io)?;
    file.sync_all().map_err(io)
}
