//! The certificate of sanitization, schema `wisp-certificate/1`.
//!
//! Field by field it follows the form auditors know, NIST SP 800-88 Rev. 1
//! Appendix G (who, the media, the method and its verification, where the media
//! goes next), with Rev. 2 and IEEE 2883-2022 cited as the method references. What
//! a disposal tool reports is a [`Disposal`]; the ledger wraps it in a
//! [`Certificate`] with its place in the log.

use jiff::Timestamp;
use serde::{Deserialize, Serialize};

use crate::merkle::Hash;

pub const SCHEMA: &str = "wisp-certificate/1";

/// The standards the method and the form refer to, printed on every certificate.
pub const REFERENCES: [&str; 3] = [
    "NIST SP 800-88 Rev. 1, Appendix G (certificate fields)",
    "NIST SP 800-88 Rev. 2 (sanitization program)",
    "IEEE 2883-2022 (sanitization techniques)",
];

/// Who performed the sanitization (Appendix G, "Person performing sanitization").
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Operator {
    pub name: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub title: Option<String>,
    pub organization: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub location: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub contact: Option<String>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum MediaType {
    Hdd,
    Ssd,
    Flash,
    Optical,
    Tape,
    Paper,
    File,
    Other,
}

impl MediaType {
    /// The name a person reads on the form.
    pub fn description(self) -> &'static str {
        match self {
            MediaType::Hdd => "hard disk drive",
            MediaType::Ssd => "solid-state drive",
            MediaType::Flash => "flash memory (USB stick, card)",
            MediaType::Optical => "optical disc",
            MediaType::Tape => "magnetic tape",
            MediaType::Paper => "paper",
            MediaType::File => "file on a filesystem",
            MediaType::Other => "other",
        }
    }
}

/// A whole drive or other block device.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct DeviceMedia {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub manufacturer: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub model: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub serial: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub wwn: Option<String>,
    pub size_bytes: u64,
    pub media_type: MediaType,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub transport: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub property_number: Option<String>,
}

/// A file destroyed in place on a filesystem.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct FileMedia {
    pub path: String,
    pub size_bytes: u64,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub inode: Option<u64>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub filesystem: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub device: Option<String>,
}

/// Media destroyed physically, by the organization or a vendor: paper, drives
/// sent to a shredder, tapes, optical discs.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct PhysicalMedia {
    pub description: String,
    pub media_type: MediaType,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub quantity: Option<u64>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub serials: Option<Vec<String>>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub property_number: Option<String>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "kind", rename_all = "kebab-case")]
pub enum Media {
    Device(DeviceMedia),
    File(FileMedia),
    Physical(PhysicalMedia),
}

impl Media {
    pub fn kind(&self) -> &'static str {
        match self {
            Media::Device(_) => "device",
            Media::File(_) => "file",
            Media::Physical(_) => "physical",
        }
    }

    pub fn media_type(&self) -> MediaType {
        match self {
            Media::Device(device) => device.media_type,
            Media::File(_) => MediaType::File,
            Media::Physical(physical) => physical.media_type,
        }
    }

    /// A short identification for listings: serial, path or description.
    pub fn label(&self) -> String {
        match self {
            Media::Device(d) => {
                let model = d.model.as_deref().unwrap_or("device");
                match &d.serial {
                    Some(serial) => format!("{model} s/n {serial}"),
                    None => model.to_string(),
                }
            }
            Media::File(f) => f.path.clone(),
            Media::Physical(p) => p.description.clone(),
        }
    }
}

/// NIST SP 800-88's sanitization categories.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum Category {
    Clear,
    Purge,
    Destroy,
}

impl Category {
    pub fn as_str(self) -> &'static str {
        match self {
            Category::Clear => "Clear",
            Category::Purge => "Purge",
            Category::Destroy => "Destroy",
        }
    }
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Tool {
    pub name: String,
    pub version: String,
}

/// One overwrite pass: what was written, how much and how fast.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Pass {
    /// `random`, `zero`, or a byte pattern such as `0x55`.
    pub pattern: String,
    pub bytes: u64,
    /// Integer milliseconds: certificates hold no floating point, so their
    /// canonical bytes are the same on every platform.
    pub milliseconds: u64,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum VerificationResult {
    Passed,
    Failed,
    NotPerformed,
}

impl VerificationResult {
    pub fn as_str(self) -> &'static str {
        match self {
            VerificationResult::Passed => "passed",
            VerificationResult::Failed => "failed",
            VerificationResult::NotPerformed => "not performed",
        }
    }
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Verification {
    /// `full`, `sample`, `last`, `off`, or for physical destruction `visual`/`witnessed`.
    pub method: String,
    pub result: VerificationResult,
    /// The nonce the sample locations derive from, so anyone can redo the check.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub nonce: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub sampled_blocks: Option<u64>,
    /// A hash over the sampled blocks as read back.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub sample_hash: Option<String>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Sanitization {
    pub category: Category,
    /// `overwrite`, `block-erase`, `crypto-erase`, `shred`, `pulverize`, `incinerate`, `degauss`…
    pub technique: String,
    /// The named method: `clear`, `zero`, `dod-3`, `gutmann`, or a vendor's process.
    pub method: String,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub passes: Vec<Pass>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub random_generator: Option<String>,
    pub tool: Tool,
    pub verification: Verification,
    pub started_at: Timestamp,
    pub finished_at: Timestamp,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum ExceptionKind {
    SectorsNotErased,
    CopyOnWrite,
    OtherHardLinks,
    HiddenArea,
    Other,
}

/// Something the sanitization did not reach, stated so nobody assumes it did.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Exception {
    pub kind: ExceptionKind,
    pub description: String,
    /// Byte ranges `[start, end)` affected, where known.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub ranges: Vec<[u64; 2]>,
}

/// What the inventory found in the record before it was destroyed: counts only,
/// never values.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Findings {
    pub ssn: u64,
    pub card: u64,
    pub license: u64,
    pub account: u64,
    pub names: u64,
    pub held_pi: bool,
}

/// Why a retention sweep disposed of the record.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RetentionContext {
    pub rule: String,
    pub reason: String,
    /// BLAKE3 of the policy file in force, hex.
    pub policy_hash: String,
    /// The sweep's journal entry for this disposal, so an interrupted sweep can
    /// tell whether the certificate was already recorded.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub disposal_id: Option<String>,
}

/// What a disposal tool (or a person recording a vendor's destruction) reports.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Disposal {
    pub operator: Operator,
    pub media: Media,
    pub sanitization: Sanitization,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub exceptions: Vec<Exception>,
    /// Where the media goes next (Appendix G "post-sanitization destination").
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub destination: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub findings: Option<Findings>,
    /// Keyed BLAKE3 of the content taken before destruction, hex.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub content_fingerprint: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub retention: Option<RetentionContext>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub notes: Option<String>,
}

/// A disposal as recorded in the ledger. (No `deny_unknown_fields` here: serde does
/// not support it with `flatten`; the flattened [`Disposal`] rejects unknown fields.)
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Certificate {
    pub schema: String,
    /// Position in the ledger, from 0.
    pub sequence: u64,
    /// Leaf hash of the previous certificate (hex), chaining each to its predecessor.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub previous: Option<String>,
    pub recorded_at: Timestamp,
    pub references: Vec<String>,
    #[serde(flatten)]
    pub disposal: Disposal,
}

impl Certificate {
    pub fn new(
        disposal: Disposal,
        sequence: u64,
        previous: Option<&Hash>,
        recorded_at: Timestamp,
    ) -> Certificate {
        Certificate {
            schema: SCHEMA.to_string(),
            sequence,
            previous: previous.map(hex),
            recorded_at,
            references: REFERENCES.iter().map(|r| r.to_string()).collect(),
            disposal,
        }
    }

    /// The exact bytes that are logged, hashed and signed over: JSON with object keys
    /// sorted and no insignificant whitespace. Certificates hold only strings,
    /// integers, booleans, arrays and objects, for which this is RFC 8785's form.
    pub fn canonical_bytes(&self) -> Vec<u8> {
        let value = serde_json::to_value(self).expect("certificates serialize");
        serde_json::to_vec(&value).expect("JSON values serialize")
    }
}

pub fn hex(bytes: &[u8; 32]) -> String {
    let mut out = String::with_capacity(64);
    for byte in bytes {
        out.push_str(&format!("{byte:02x}"));
    }
    out
}

/// Decodes 64 hex digits (either case) into a hash.
pub fn parse_hex(text: &[u8]) -> Option<[u8; 32]> {
    fn nibble(digit: u8) -> Option<u8> {
        match digit {
            b'0'..=b'9' => Some(digit - b'0'),
            b'a'..=b'f' => Some(digit - b'a' + 10),
            b'A'..=b'F' => Some(digit - b'A' + 10),
            _ => None,
        }
    }
    if text.len() != 64 {
        return None;
    }
    let mut out = [0u8; 32];
    for (byte, pair) in out.iter_mut().zip(text.chunks_exact(2)) {
        *byte = nibble(pair[0])? << 4 | nibble(pair[1])?;
    }
    Some(out)
}
