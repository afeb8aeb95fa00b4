//! One wipe of one target, start to finish: every pass, the verification asked
//! for, what could not be reached, and a report of it all.

use std::sync::atomic::AtomicBool;
use std::time::Instant;

use jiff::Timestamp;
use serde::Serialize;

use crate::engine::{verify_regions, write_pass, Medium, Progress};
use crate::error::ShredError;
use crate::method::PassPlan;
use crate::resume::{nonce_hex, Journal, ResumeState};
use crate::sample::{covered, sample_plan, Region};
use crate::stream::{stream_key, Pattern};
use crate::target::{IoMode, Opened, Target};

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum VerifyMode {
    /// Read back everything after every pass.
    Full,
    /// NIST sampling after the last pass (at least 10%, first and last blocks).
    Sample,
    /// Read back everything after the last pass.
    Last,
    Off,
}

impl VerifyMode {
    pub fn name(self) -> &'static str {
        match self {
            VerifyMode::Full => "full",
            VerifyMode::Sample => "sample",
            VerifyMode::Last => "last",
            VerifyMode::Off => "off",
        }
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum VerifyResult {
    Passed,
    Failed,
    NotPerformed,
}

#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct PassReport {
    pub pattern: String,
    pub bytes: u64,
    pub milliseconds: u64,
    pub megabytes_per_second: f64,
}

#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct VerificationReport {
    pub mode: VerifyMode,
    pub result: VerifyResult,
    /// The nonce the sample locations (and the random stream) derive from.
    pub nonce: String,
    pub regions: usize,
    pub bytes_read: u64,
    pub coverage_percent: f64,
    /// Hash of what was read back (see `engine::VerifyOutcome::hash`).
    pub read_hash: Option<String>,
    pub mismatched: Vec<Region>,
    pub unreadable: Vec<Region>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum ExceptionKind {
    SectorsNotErased,
    CopyOnWrite,
    OtherHardLinks,
    HiddenArea,
}

/// Something the wipe did not reach, said so that nobody assumes it did.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct WipeException {
    pub kind: ExceptionKind,
    pub description: String,
    pub ranges: Vec<Region>,
}

#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct ShredReport {
    pub target: Target,
    pub method: String,
    pub io: IoMode,
    pub passes: Vec<PassReport>,
    pub verification: VerificationReport,
    pub exceptions: Vec<WipeException>,
    pub started_at: Timestamp,
    pub finished_at: Timestamp,
    /// Set when this wipe continued an interrupted one.
    pub resumed: bool,
}

impl ShredReport {
    /// Whether every byte was written and every check passed.
    pub fn succeeded(&self) -> bool {
        self.verification.result != VerifyResult::Failed
            && !self
                .exceptions
                .iter()
                .any(|e| e.kind == ExceptionKind::SectorsNotErased)
    }
}

/// What the progress display is told besides bytes.
pub trait WipeProgress: Progress {
    /// A new phase begins: a pass (`pass` of `passes`) or verification.
    fn phase(&self, label: &str, bytes: u64);
}

/// Where an interrupted wipe stands.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ResumePoint {
    pub pass: usize,
    pub offset: u64,
    pub started_at: Timestamp,
}

pub struct WipeJob<'a> {
    pub target: &'a Target,
    pub opened: &'a Opened,
    pub plan: &'a PassPlan,
    pub verify: VerifyMode,
    pub nonce: [u8; 16],
    pub resume: Option<ResumePoint>,
    pub journal: Option<&'a Journal>,
    pub workers: usize,
    pub checkpoint_every: std::time::Duration,
    pub progress: &'a dyn WipeProgress,
    pub now: &'a (dyn Fn() -> Timestamp + Sync),
    pub stop: &'a AtomicBool,
}

pub fn wipe(job: &WipeJob) -> Result<ShredReport, ShredError> {
    let target = job.target;
    let io = |source: std::io::Error| ShredError::Io {
        path: target.path().to_path_buf(),
        source,
    };
    let medium = Medium {
        file: &job.opened.file,
        size: target.span(),
        block: target.block(),
        workers: job.workers,
        checkpoint_every: job.checkpoint_every,
    };
    let started_at = job.resume.map_or_else(job.now, |r| r.started_at);
    let total = job.plan.passes.len();
    let (first_pass, mut first_offset) = job.resume.map_or((0, 0), |r| (r.pass, r.offset));
    let mut passes = Vec::new();
    let mut exceptions = Vec::new();
    let mut mismatched = Vec::new();
    let mut unreadable = Vec::new();
    let mut read_hash = None;
    let mut regions_read = 0;
    let mut bytes_read = 0;

    for (index, &pattern) in job.plan.passes.iter().enumerate().skip(first_pass) {
        let key = stream_key(&job.nonce, index);
        job.progress.phase(
            &format!("pass {}/{total} {}", index + 1, pattern.name()),
            medium.size - first_offset,
        );
        let journal_state = |offset: u64| ResumeState {
            identity: job
                .journal
                .map(|j| j.identity().to_string())
                .unwrap_or_default(),
            method: job.plan.method.name().into(),
            passes: total,
            nonce: nonce_hex(&job.nonce),
            pass: index,
            offset,
            started_at,
        };
        let checkpoint = |offset: u64| {
            if let Some(journal) = job.journal {
                // A failed journal write loses only resumability, never data.
                let _ = journal.save(&journal_state(offset));
            }
        };
        let clock = Instant::now();
        let outcome = write_pass(
            &medium,
            pattern,
            &key,
            first_offset,
            job.progress,
            &checkpoint,
            job.stop,
        )
        .map_err(io)?;
        if job.stop.load(std::sync::atomic::Ordering::Relaxed) {
            return Err(ShredError::Io {
                path: target.path().to_path_buf(),
                source: std::io::Error::new(
                    std::io::ErrorKind::Interrupted,
                    "interrupted; resume with --resume",
                ),
            });
        }
        let elapsed = clock.elapsed();
        passes.push(PassReport {
            pattern: pattern.name(),
            bytes: outcome.bytes,
            milliseconds: elapsed.as_millis() as u64,
            megabytes_per_second: outcome.bytes as f64 / 1e6 / elapsed.as_secs_f64().max(1e-9),
        });
        if !outcome.failed.is_empty() {
            exceptions.push(WipeException {
                kind: ExceptionKind::SectorsNotErased,
                description: format!(
                    "pass {} could not write these ranges (media errors)",
                    index + 1
                ),
                ranges: outcome.failed,
            });
        }
        first_offset = 0;
        if job.verify == VerifyMode::Full || (index + 1 == total && job.verify == VerifyMode::Last)
        {
            let whole = [Region {
                offset: 0,
                len: medium.size,
            }];
            let checked = run_verify(job, &medium, pattern, &key, &whole)?;
            regions_read += whole.len();
            bytes_read += checked.bytes_read;
            mismatched.extend(checked.mismatched);
            unreadable.extend(checked.unreadable);
            read_hash = Some(hex32(&checked.hash));
        }
    }
    if job.verify == VerifyMode::Sample {
        let last = total - 1;
        let plan = sample_plan(medium.size, medium.block, &job.nonce);
        let checked = run_verify(
            job,
            &medium,
            job.plan.passes[last],
            &stream_key(&job.nonce, last),
            &plan,
        )?;
        regions_read = plan.len();
        bytes_read = checked.bytes_read;
        mismatched = checked.mismatched;
        unreadable = checked.unreadable;
        read_hash = Some(hex32(&checked.hash));
    }
    if !unreadable.is_empty() {
        exceptions.push(WipeException {
            kind: ExceptionKind::SectorsNotErased,
            description: "could not be read back, so their erasure is not verified".into(),
            ranges: unreadable.clone(),
        });
    }
    exceptions.extend(caveats(target));
    let result = match job.verify {
        VerifyMode::Off => VerifyResult::NotPerformed,
        _ if mismatched.is_empty() && unreadable.is_empty() => VerifyResult::Passed,
        _ => VerifyResult::Failed,
    };
    if let Some(journal) = job.journal {
        journal.clear()?;
    }
    Ok(ShredReport {
        target: target.clone(),
        method: job.plan.method.name().into(),
        io: job.opened.io,
        passes,
        verification: VerificationReport {
            mode: job.verify,
            result,
            nonce: nonce_hex(&job.nonce),
            regions: regions_read,
            bytes_read,
            coverage_percent: if medium.size == 0 {
                100.0
            } else {
                bytes_read as f64 * 100.0 / medium.size as f64
            },
            read_hash,
            mismatched,
            unreadable,
        },
        exceptions,
        started_at,
        finished_at: (job.now)(),
        resumed: job.resume.is_some(),
    })
}

fn run_verify(
    job: &WipeJob,
    medium: &Medium,
    pattern: Pattern,
    key: &[u8; 32],
    regions: &[Region],
) -> Result<crate::engine::VerifyOutcome, ShredError> {
    job.progress.phase("verify", covered(regions));
    verify_regions(medium, pattern, key, regions, job.progress).map_err(|source| ShredError::Io {
        path: job.target.path().to_path_buf(),
        source,
    })
}

/// Re-checks a wiped target: the last pass of `plan` under `nonce`, read back by
/// `mode` (sample or whole).
pub fn verify_only(
    target: &Target,
    opened: &Opened,
    plan: &PassPlan,
    nonce: [u8; 16],
    mode: VerifyMode,
    workers: usize,
    progress: &dyn WipeProgress,
) -> Result<VerificationReport, ShredError> {
    let medium = Medium {
        file: &opened.file,
        size: target.span(),
        block: target.block(),
        workers,
        checkpoint_every: crate::engine::CHECKPOINT_EVERY,
    };
    let last = plan.passes.len() - 1;
    let regions = match mode {
        VerifyMode::Sample => sample_plan(medium.size, medium.block, &nonce),
        _ => vec![Region {
            offset: 0,
            len: medium.size,
        }],
    };
    progress.phase("verify", covered(&regions));
    let checked = verify_regions(
        &medium,
        plan.passes[last],
        &stream_key(&nonce, last),
        &regions,
        progress,
    )
    .map_err(|source| ShredError::Io {
        path: target.path().to_path_buf(),
        source,
    })?;
    let passed = checked.mismatched.is_empty() && checked.unreadable.is_empty();
    Ok(VerificationReport {
        mode,
        result: if passed {
            VerifyResult::Passed
        } else {
            VerifyResult::Failed
        },
        nonce: nonce_hex(&nonce),
        regions: regions.len(),
        bytes_read: checked.bytes_read,
        coverage_percent: checked.bytes_read as f64 * 100.0 / medium.size.max(1) as f64,
        read_hash: Some(hex32(&checked.hash)),
        mismatched: checked.mismatched,
        unreadable: checked.unreadable,
    })
}

/// What overwriting cannot reach on this kind of target, stated on every report.
fn caveats(target: &Target) -> Vec<WipeException> {
    let mut out = Vec::new();
    let note = |kind, description: &str| WipeException {
        kind,
        description: description.into(),
        ranges: Vec::new(),
    };
    match target {
        Target::File(file) => {
            if file.copy_on_write {
                out.push(note(
                    ExceptionKind::CopyOnWrite,
                    &format!(
                        "{} does not overwrite in place: earlier copies of the data may survive in other blocks or snapshots; this is a best-effort Clear",
                        file.filesystem
                    ),
                ));
            }
            if file.hard_links > 1 {
                out.push(note(
                    ExceptionKind::OtherHardLinks,
                    &format!("the file had {} other names (hard links); they now show the overwritten data", file.hard_links - 1),
                ));
            }
        }
        Target::Device(device) => {
            use crate::discovery::Transport::*;
            match device.disk.transport {
                Sata | Usb | Scsi => out.push(note(
                    ExceptionKind::HiddenArea,
                    "a Host Protected Area or Device Configuration Overlay, if set, was not inspected or erased",
                )),
                _ => {}
            }
            if !device.disk.rotational && !matches!(device.disk.transport, Loop | Ram | Zram) {
                out.push(note(
                    ExceptionKind::HiddenArea,
                    "flash over-provisioning and remapped blocks are not reachable by overwriting; a firmware sanitize is needed for Purge",
                ));
            }
        }
    }
    out
}

fn hex32(hash: &[u8; 32]) -> String {
    hash.iter().map(|b| format!("{b:02x}")).collect()
}
