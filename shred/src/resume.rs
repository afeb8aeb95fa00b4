//! The resume journal: where an interrupted device wipe had durably got to, keyed
//! by the device's identity (serial, WWN, size), so `--resume` continues the same
//! wipe — same method, same nonce, same random stream — on the same drive only.

use std::path::{Path, PathBuf};

use jiff::Timestamp;
use serde::{Deserialize, Serialize};

use crate::error::ShredError;
use crate::target::DeviceTarget;

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ResumeState {
    pub identity: String,
    pub method: String,
    pub passes: usize,
    pub nonce: String,
    /// The pass in progress (from 0) and the offset below which it is durable.
    pub pass: usize,
    pub offset: u64,
    pub started_at: Timestamp,
}

pub struct Journal {
    path: PathBuf,
    identity: String,
}

/// What identifies a drive across reboots and renames: never its kernel name.
pub fn identity(target: &DeviceTarget) -> String {
    let disk = &target.disk;
    let part = target.partition.as_deref().map(|p| {
        // The partition's number, not its kernel name, survives a rename of the disk.
        p.trim_start_matches(&disk.name).to_string()
    });
    match (&disk.serial, &disk.wwn) {
        (None, None) => format!(
            "backing={};size={};part={}",
            disk.backing_file
                .as_deref()
                .map(|p| p.display().to_string())
                .unwrap_or_else(|| disk.name.clone()),
            target.size_bytes,
            part.unwrap_or_default()
        ),
        (serial, wwn) => format!(
            "serial={};wwn={};size={};part={}",
            serial.as_deref().unwrap_or(""),
            wwn.as_deref().unwrap_or(""),
            target.size_bytes,
            part.unwrap_or_default()
        ),
    }
}

impl Journal {
    pub fn for_target(dir: &Path, target: &DeviceTarget) -> Journal {
        let identity = identity(target);
        let name = blake3::hash(identity.as_bytes()).to_hex();
        Journal {
            path: dir.join(format!("{}.json", &name[..24])),
            identity,
        }
    }

    pub fn identity(&self) -> &str {
        &self.identity
    }

    fn err(&self, message: impl Into<String>) -> ShredError {
        ShredError::Journal {
            path: self.path.clone(),
            message: message.into(),
        }
    }

    pub fn load(&self) -> Result<Option<ResumeState>, ShredError> {
        let bytes = match std::fs::read(&self.path) {
            Ok(bytes) => bytes,
            Err(err) if err.kind() == std::io::ErrorKind::NotFound => return Ok(None),
            Err(source) => {
                return Err(ShredError::Io {
                    path: self.path.clone(),
                    source,
                })
            }
        };
        let state: ResumeState =
            serde_json::from_slice(&bytes).map_err(|e| self.err(e.to_string()))?;
        if state.identity != self.identity {
            return Err(self.err("belongs to another device"));
        }
        Ok(Some(state))
    }

    /// Records progress durably: temp file, fsync, rename, directory fsync.
    pub fn save(&self, state: &ResumeState) -> Result<(), ShredError> {
        let dir = self.path.parent().unwrap_or(Path::new("."));
        let io = |source| ShredError::Io {
            path: self.path.clone(),
            source,
        };
        std::fs::create_dir_all(dir).map_err(io)?;
        let temp = self.path.with_extension("tmp");
        let bytes = serde_json::to_vec_pretty(state).map_err(|e| self.err(e.to_string()))?;
        {
            use std::io::Write;
            let mut file = std::fs::File::create(&temp).map_err(io)?;
            file.write_all(&bytes).map_err(io)?;
            file.sync_all().map_err(io)?;
        }
        std::fs::rename(&temp, &self.path).map_err(io)?;
        std::fs::File::open(dir)
            .and_then(|d| d.sync_all())
            .map_err(io)
    }

    pub fn clear(&self) -> Result<(), ShredError> {
        // A temp file left by a writer killed mid-save is stale too.
        let _ = std::fs::remove_file(self.path.with_extension("tmp"));
        match std::fs::remove_file(&self.path) {
            Ok(()) => Ok(()),
            Err(err) if err.kind() == std::io::ErrorKind::NotFound => Ok(()),
            Err(source) => Err(ShredError::Io {
                path: self.path.clone(),
                source,
            }),
        }
    }
}

pub fn nonce_hex(nonce: &[u8; 16]) -> String {
    nonce.iter().map(|b| format!("{b:02x}")).collect()
}

pub fn parse_nonce(text: &str) -> Option<[u8; 16]> {
    if text.len() != 32 || !text.is_ascii() {
        return None;
    }
    let mut out = [0u8; 16];
    for (i, byte) in out.iter_mut().enumerate() {
        *byte = u8::from_str_radix(&text[2 * i..2 * i + 2], 16).ok()?;
    }
    Some(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn nonce_round_trip() {
        let nonce = [0xab; 16];
        assert_eq!(parse_nonce(&nonce_hex(&nonce)), Some(nonce));
        assert_eq!(parse_nonce("xyz"), None);
    }
}
