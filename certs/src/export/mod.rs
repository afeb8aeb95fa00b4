//! Exports for auditors: CSV for spreadsheets, JSON for programs, PDF for people.
//!
//! The CSV columns are fixed and documented in [`CSV_COLUMNS`]; new columns are
//! only ever added at the end, so spreadsheets built on an export keep working.

mod pdf;

use std::io::Write;

use serde::Serialize;

use crate::certificate::{hex, Certificate, Media};
use crate::checkpoint::SignedCheckpoint;
use crate::error::LedgerError;
use crate::ledger::Ledger;
use crate::merkle::Hash;

pub use pdf::render_pdf;

/// A certificate with its hash, as exported.
#[derive(Debug, Clone)]
pub struct ExportEntry {
    pub certificate: Certificate,
    pub hash: Hash,
}

/// Everything the exports show: the certificates a signed checkpoint covers, and
/// that checkpoint.
#[derive(Debug, Clone)]
pub struct Export {
    pub entries: Vec<ExportEntry>,
    pub checkpoint: Option<SignedCheckpoint>,
}

impl Export {
    /// Reads the certificates covered by the ledger's signed checkpoint.
    pub fn from_ledger(ledger: &Ledger) -> Result<Export, LedgerError> {
        let _lock = ledger.read_lock()?;
        let head = ledger.head()?;
        let size = head.as_ref().map_or(0, |h| h.checkpoint.checkpoint.size);
        let mut entries = Vec::with_capacity(size as usize);
        for line in ledger.lines()? {
            let line = line?;
            if entries.len() as u64 == size {
                break;
            }
            let certificate = line
                .certificate()
                .map_err(|message| LedgerError::Malformed {
                    path: ledger.log_path(),
                    line: entries.len() + 1,
                    message,
                })?;
            entries.push(ExportEntry {
                hash: line.leaf(),
                certificate,
            });
        }
        Ok(Export {
            entries,
            checkpoint: head.map(|h| h.checkpoint),
        })
    }
}

/// The CSV columns, in order.
pub const CSV_COLUMNS: [&str; 43] = [
    "sequence",
    "certificate_hash",
    "recorded_at",
    "organization",
    "operator_name",
    "operator_title",
    "location",
    "contact",
    "media_kind",
    "media_type",
    "manufacturer",
    "model",
    "serial",
    "wwn",
    "property_number",
    "path",
    "description",
    "size_bytes",
    "category",
    "technique",
    "method",
    "passes",
    "bytes_written",
    "random_generator",
    "tool",
    "tool_version",
    "verification_method",
    "verification_result",
    "verification_nonce",
    "sampled_blocks",
    "started_at",
    "finished_at",
    "exceptions",
    "destination",
    "held_pi",
    "ssn_count",
    "card_count",
    "license_count",
    "account_count",
    "names_count",
    "retention_rule",
    "retention_reason",
    "policy_hash",
];

fn csv_row(entry: &ExportEntry) -> Vec<String> {
    let c = &entry.certificate;
    let d = &c.disposal;
    let s = &d.sanitization;
    let opt = |value: &Option<String>| value.clone().unwrap_or_default();
    let media = MediaColumns::of(&d.media);
    let size = match &d.media {
        Media::Device(m) => m.size_bytes.to_string(),
        Media::File(f) => f.size_bytes.to_string(),
        Media::Physical(_) => String::new(),
    };
    let findings = d.findings.as_ref();
    let count = |f: fn(&crate::certificate::Findings) -> u64| {
        findings.map(|x| f(x).to_string()).unwrap_or_default()
    };
    let retention = d.retention.as_ref();
    vec![
        c.sequence.to_string(),
        hex(&entry.hash),
        c.recorded_at.to_string(),
        d.operator.organization.clone(),
        d.operator.name.clone(),
        opt(&d.operator.title),
        opt(&d.operator.location),
        opt(&d.operator.contact),
        d.media.kind().to_string(),
        serde_plain(&d.media.media_type()),
        media.manufacturer,
        media.model,
        media.serial,
        media.wwn,
        media.property_number,
        media.path,
        media.description,
        size,
        s.category.as_str().to_string(),
        s.technique.clone(),
        s.method.clone(),
        s.passes.len().to_string(),
        s.passes.iter().map(|p| p.bytes).sum::<u64>().to_string(),
        opt(&s.random_generator),
        s.tool.name.clone(),
        s.tool.version.clone(),
        s.verification.method.clone(),
        s.verification.result.as_str().to_string(),
        opt(&s.verification.nonce),
        s.verification
            .sampled_blocks
            .map(|n| n.to_string())
            .unwrap_or_default(),
        s.started_at.to_string(),
        s.finished_at.to_string(),
        d.exceptions
            .iter()
            .map(|e| format!("{}: {}", serde_plain(&e.kind), e.description))
            .collect::<Vec<_>>()
            .join("; "),
        opt(&d.destination),
        findings
            .map(|f| if f.held_pi { "1" } else { "0" }.to_string())
            .unwrap_or_default(),
        count(|f| f.ssn),
        count(|f| f.card),
        count(|f| f.license),
        count(|f| f.account),
        count(|f| f.names),
        retention.map(|r| r.rule.clone()).unwrap_or_default(),
        retention.map(|r| r.reason.clone()).unwrap_or_default(),
        retention.map(|r| r.policy_hash.clone()).unwrap_or_default(),
    ]
}

/// The identification columns, filled from whichever kind of media it is.
#[derive(Default)]
struct MediaColumns {
    manufacturer: String,
    model: String,
    serial: String,
    wwn: String,
    property_number: String,
    path: String,
    description: String,
}

impl MediaColumns {
    fn of(media: &Media) -> MediaColumns {
        let opt = |value: &Option<String>| value.clone().unwrap_or_default();
        match media {
            Media::Device(m) => MediaColumns {
                manufacturer: opt(&m.manufacturer),
                model: opt(&m.model),
                serial: opt(&m.serial),
                wwn: opt(&m.wwn),
                property_number: opt(&m.property_number),
                ..MediaColumns::default()
            },
            Media::File(f) => MediaColumns {
                path: f.path.clone(),
                ..MediaColumns::default()
            },
            Media::Physical(p) => MediaColumns {
                serial: p.serials.clone().unwrap_or_default().join(" "),
                property_number: opt(&p.property_number),
                description: p.description.clone(),
                ..MediaColumns::default()
            },
        }
    }
}

/// The serde name of a unit enum value (`media_type: "hdd"`), for CSV cells.
fn serde_plain<T: Serialize>(value: &T) -> String {
    match serde_json::to_value(value) {
        Ok(serde_json::Value::String(s)) => s,
        _ => String::new(),
    }
}

pub fn write_csv(export: &Export, out: &mut dyn Write) -> std::io::Result<()> {
    let mut writer = csv::Writer::from_writer(out);
    writer.write_record(CSV_COLUMNS)?;
    for entry in &export.entries {
        writer.write_record(csv_row(entry))?;
    }
    writer.flush()
}

#[derive(Serialize)]
struct JsonExport<'a> {
    checkpoint: Option<JsonCheckpoint>,
    certificates: Vec<JsonEntry<'a>>,
}

#[derive(Serialize)]
struct JsonCheckpoint {
    origin: String,
    size: u64,
    root: String,
    text: String,
}

#[derive(Serialize)]
struct JsonEntry<'a> {
    certificate_hash: String,
    certificate: &'a Certificate,
}

pub fn write_json(export: &Export, out: &mut dyn Write) -> std::io::Result<()> {
    let document = JsonExport {
        checkpoint: export.checkpoint.as_ref().map(|c| JsonCheckpoint {
            origin: c.checkpoint.origin.clone(),
            size: c.checkpoint.size,
            root: hex(&c.checkpoint.root),
            text: c.to_text(),
        }),
        certificates: export
            .entries
            .iter()
            .map(|e| JsonEntry {
                certificate_hash: hex(&e.hash),
                certificate: &e.certificate,
            })
            .collect(),
    };
    serde_json::to_writer_pretty(&mut *out, &document)?;
    out.write_all(b"\n")
}
