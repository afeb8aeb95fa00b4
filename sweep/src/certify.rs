//! Where a shred report becomes a certificate's body: the one translation from
//! what `shred` did to what `certs` records, used by `wisp shred` and sweeps alike.

use certs::{Disposal, Findings, Operator, RetentionContext};
use shred::target::{self, Target};
use shred::wipe::{self, ShredReport, VerifyMode, VerifyResult};

/// What the certificate says beyond the wipe itself.
#[derive(Debug, Clone, Default)]
pub struct DisposalContext {
    /// Where the media goes next; for a removed file, said when not given.
    pub destination: Option<String>,
    /// The file was removed after overwriting.
    pub removed: bool,
    /// Keyed fingerprint of the content, taken before the first write.
    pub fingerprint: Option<String>,
    pub findings: Option<Findings>,
    pub retention: Option<RetentionContext>,
}

/// The certificate body for `report`. `tool_version` is the version of the wisp
/// that did the work.
pub fn disposal_of(
    report: &ShredReport,
    operator: &Operator,
    context: DisposalContext,
    tool_version: &str,
) -> Disposal {
    use certs::{
        Category, DeviceMedia, Exception, ExceptionKind, FileMedia, Media, MediaType, Pass,
        Sanitization, Tool, Verification, VerificationResult,
    };
    let media = match &report.target {
        Target::Device(d) => Media::Device(DeviceMedia {
            manufacturer: d.disk.vendor.clone(),
            model: d.disk.model.clone(),
            serial: d.disk.serial.clone(),
            wwn: d.disk.wwn.clone(),
            size_bytes: d.size_bytes,
            media_type: match (d.disk.rotational, d.disk.transport) {
                (true, _) => MediaType::Hdd,
                (false, shred::Transport::Usb | shred::Transport::Mmc) => MediaType::Flash,
                (false, shred::Transport::Loop) => MediaType::Other,
                (false, _) => MediaType::Ssd,
            },
            transport: Some(d.disk.transport.to_string()),
            property_number: None,
        }),
        Target::File(f) => Media::File(FileMedia {
            path: f.path.display().to_string(),
            size_bytes: f.size_bytes,
            inode: Some(f.inode),
            filesystem: Some(f.filesystem.clone()),
            device: Some(f.device.to_string()),
        }),
    };
    let random = report.passes.iter().any(|p| p.pattern == "random");
    let mut notes = Vec::new();
    if let Target::Device(d) = &report.target {
        if let Some(part) = &d.partition {
            notes.push(format!("partition {part} of {}", d.disk.path.display()));
        }
        if let Some(backing) = &d.disk.backing_file {
            notes.push(format!("loop device over {}", backing.display()));
        }
    }
    if report.resumed {
        notes.push("resumed after an interruption".into());
    }
    if report.io == target::IoMode::Buffered {
        notes.push(
            "written through the page cache (no O_DIRECT here), flushed after each pass".into(),
        );
    }
    Disposal {
        operator: operator.clone(),
        media,
        sanitization: Sanitization {
            category: Category::Clear,
            technique: "overwrite".into(),
            method: report.method.clone(),
            passes: report
                .passes
                .iter()
                .map(|p| Pass {
                    pattern: p.pattern.clone(),
                    bytes: p.bytes,
                    milliseconds: p.milliseconds,
                })
                .collect(),
            random_generator: random
                .then(|| "ChaCha8 in counter mode, keyed per pass from the nonce".into()),
            tool: Tool {
                name: "wisp".into(),
                version: tool_version.into(),
            },
            verification: Verification {
                method: report.verification.mode.name().into(),
                result: match report.verification.result {
                    VerifyResult::Passed => VerificationResult::Passed,
                    VerifyResult::Failed => VerificationResult::Failed,
                    VerifyResult::NotPerformed => VerificationResult::NotPerformed,
                },
                nonce: Some(report.verification.nonce.clone()),
                sampled_blocks: (report.verification.mode != VerifyMode::Off)
                    .then_some(report.verification.regions as u64),
                sample_hash: report.verification.read_hash.clone(),
            },
            started_at: report.started_at,
            finished_at: report.finished_at,
        },
        exceptions: report
            .exceptions
            .iter()
            .map(|e| Exception {
                kind: match e.kind {
                    wipe::ExceptionKind::SectorsNotErased => ExceptionKind::SectorsNotErased,
                    wipe::ExceptionKind::CopyOnWrite => ExceptionKind::CopyOnWrite,
                    wipe::ExceptionKind::OtherHardLinks => ExceptionKind::OtherHardLinks,
                    wipe::ExceptionKind::HiddenArea => ExceptionKind::HiddenArea,
                },
                description: e.description.clone(),
                ranges: e
                    .ranges
                    .iter()
                    .map(|r| [r.offset, r.offset + r.len])
                    .collect(),
            })
            .collect(),
        destination: context.destination.or_else(|| {
            context
                .removed
                .then(|| "file removed: truncated, name overwritten, unlinked".into())
        }),
        findings: context.findings,
        content_fingerprint: context.fingerprint,
        retention: context.retention,
        notes: (!notes.is_empty()).then(|| notes.join("; ")),
    }
}
