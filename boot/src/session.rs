//! One boot's work once the stick is mounted: which drives there are, which may
//! be wiped, the wipe itself through `sweep::dispose`, and the exports an
//! auditor opens on an office PC.

use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{Arc, Mutex};

use certs::{Ledger, SystemClock};
use shred::method::{FinalPass, Method, PassPlan};
use shred::target::{self, Force, Target};
use shred::wipe::{VerifyMode, WipeProgress};
use shred::BlockDevice;
use sweep::dispose::{
    error_chain, DisposeOptions, Disposer, Removal, Scope, Start, TargetOutcome, Watcher,
};

use crate::cmdline::Selection;
use crate::config::StickConfig;
use crate::stick::Stick;

/// A drive as the operator sees it, and whether it may be wiped.
#[derive(Debug, Clone)]
pub struct Drive {
    pub device: BlockDevice,
    pub status: DriveStatus,
}

#[derive(Debug, Clone)]
pub enum DriveStatus {
    /// May be wiped.
    Available(Box<Target>),
    /// The stick this system booted from.
    BootStick,
    /// Refused by `shred::target::check_safe`, with its reason.
    Refused(String),
}

impl Drive {
    pub fn target(&self) -> Option<&Target> {
        match &self.status {
            DriveStatus::Available(target) => Some(target),
            _ => None,
        }
    }
}

/// Every drive present, the stick and drives in use marked as not wipeable.
pub fn drives(devices: &[BlockDevice], stick: &Stick) -> Vec<Drive> {
    devices
        .iter()
        .map(|device| {
            let status = if device.name == stick.disk {
                DriveStatus::BootStick
            } else if stick.other_sticks.contains(&device.name) {
                DriveStatus::Refused(
                    "it is another wisp stick, whose ledger holds certificates".into(),
                )
            } else if device.read_only {
                // Shown rather than hidden: the operator should see why a drive is not offered.
                DriveStatus::Refused("it is read-only (write-protected)".into())
            } else {
                match target::resolve(&device.path, devices)
                    .and_then(|t| target::check_safe(&t, Force::No).map(|()| t))
                {
                    Ok(target) => DriveStatus::Available(Box::new(target)),
                    Err(err) => DriveStatus::Refused(err.to_string()),
                }
            };
            Drive {
                device: device.clone(),
                status,
            }
        })
        .collect()
}

#[derive(Debug, thiserror::Error)]
pub enum SelectError {
    #[error("no drive with serial {0:?} is present")]
    Missing(String),
    #[error("the drive with serial {serial:?} ({name}) cannot be wiped: {why}")]
    Unavailable {
        serial: String,
        name: String,
        why: String,
    },
    #[error("there is no drive to wipe (only the stick, or drives in use)")]
    Nothing,
}

/// The targets an unattended run wipes. Asking by serial for a drive that is
/// absent or refused fails the whole run: wiping the others would leave the
/// operator thinking that one is done.
pub fn select(drives: &[Drive], selection: &Selection) -> Result<Vec<Target>, SelectError> {
    let chosen: Vec<Target> = match selection {
        Selection::All => drives.iter().filter_map(Drive::target).cloned().collect(),
        Selection::Serials(serials) => {
            let mut chosen = Vec::new();
            for serial in serials {
                let drive = drives
                    .iter()
                    .find(|d| d.device.serial.as_deref() == Some(serial.as_str()))
                    .ok_or_else(|| SelectError::Missing(serial.clone()))?;
                let unavailable = |why: String| SelectError::Unavailable {
                    serial: serial.clone(),
                    name: drive.device.name.clone(),
                    why,
                };
                match &drive.status {
                    DriveStatus::Available(target) => chosen.push((**target).clone()),
                    DriveStatus::BootStick => {
                        return Err(unavailable("it is the boot stick".into()))
                    }
                    DriveStatus::Refused(why) => return Err(unavailable(why.clone())),
                }
            }
            chosen
        }
    };
    if chosen.is_empty() {
        return Err(SelectError::Nothing);
    }
    Ok(chosen)
}

/// Per-drive progress, shared between the wiping threads and the display.
#[derive(Debug)]
pub struct Slot {
    pub name: PathBuf,
    /// The current phase's label and when it began.
    pub phase: Mutex<(String, std::time::Instant)>,
    pub done: AtomicU64,
    pub total: AtomicU64,
}

impl Slot {
    /// Bytes per second in the current phase, once it has run long enough to tell.
    pub fn rate(&self) -> Option<f64> {
        let elapsed = self.phase.lock().expect("not poisoned").1.elapsed();
        (elapsed.as_millis() >= 500)
            .then(|| self.done.load(Ordering::Relaxed) as f64 / elapsed.as_secs_f64())
    }
}

/// All drives' progress; the display reads it while the wipe runs.
#[derive(Debug, Default)]
pub struct Board {
    pub slots: Mutex<Vec<Arc<Slot>>>,
}

struct SlotProgress(Arc<Slot>);

impl shred::engine::Progress for SlotProgress {
    fn advance(&self, bytes: u64) {
        self.0.done.fetch_add(bytes, Ordering::Relaxed);
    }
}

impl WipeProgress for SlotProgress {
    fn phase(&self, label: &str, bytes: u64) {
        *self.0.phase.lock().expect("not poisoned") =
            (label.to_string(), std::time::Instant::now());
        self.0.total.store(bytes, Ordering::Relaxed);
        self.0.done.store(0, Ordering::Relaxed);
    }
}

impl Drop for SlotProgress {
    fn drop(&mut self) {
        self.0.phase.lock().expect("not poisoned").0 = "done".into();
    }
}

impl Watcher for Board {
    fn watch(&self, name: &Path, bytes: u64, _: Scope) -> Box<dyn WipeProgress + '_> {
        let slot = Arc::new(Slot {
            name: name.to_path_buf(),
            phase: Mutex::new(("starting".into(), std::time::Instant::now())),
            done: AtomicU64::new(0),
            total: AtomicU64::new(bytes),
        });
        self.slots.lock().expect("not poisoned").push(slot.clone());
        Box::new(SlotProgress(slot))
    }
}

/// How the operator (or the command line) asked for the wipe to be done.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Choice {
    pub method: Method,
    pub verify: VerifyMode,
}

pub fn options(choice: Choice, config: &StickConfig) -> DisposeOptions {
    DisposeOptions {
        plan: PassPlan::new(choice.method, 1, FinalPass::AsMethod),
        verify: choice.verify,
        removal: Removal::Keep,
        start: Start::Fresh,
        force: Force::No,
        // Enough queued writes to keep one drive busy; drives run side by side.
        workers: 4,
        checkpoint_every: std::time::Duration::from_secs(5),
        destination: config.destination.clone(),
    }
}

fn draw_nonce() -> Result<[u8; 16], String> {
    use certs::RandomSource;
    let mut nonce = [0u8; 16];
    certs::OsRandom
        .fill(&mut nonce)
        .map_err(|e| e.to_string())?;
    Ok(nonce)
}

/// Wipes `targets` side by side and records a certificate for each in the stick's ledger.
pub fn wipe(
    targets: &[Target],
    options: &DisposeOptions,
    ledger: &Ledger,
    config: &StickConfig,
    board: &Board,
    stop: &AtomicBool,
) -> Vec<TargetOutcome> {
    let disposer = Disposer {
        options,
        ledger,
        operator: &config.operator,
        stop,
        clock: &SystemClock,
        nonce: &draw_nonce,
        tool_version: env!("CARGO_PKG_VERSION"),
    };
    disposer.run(targets, board)
}

/// Writes CSV, JSON and PDF exports of the whole ledger beside it, each
/// durably (temporary file, fsync, rename, directory fsync) so a power cut
/// leaves the old export or the new one, never half of one.
pub fn write_exports(ledger: &Ledger, dir: &Path) -> Result<Vec<PathBuf>, String> {
    use certs::export::{render_pdf, write_csv, write_json, Export};
    let export = Export::from_ledger(ledger).map_err(|e| e.to_string())?;
    std::fs::create_dir_all(dir).map_err(|e| format!("{}: {e}", dir.display()))?;
    let mut written = Vec::new();
    for (name, bytes) in [
        ("certificates.csv", {
            let mut bytes = Vec::new();
            write_csv(&export, &mut bytes).map_err(|e| e.to_string())?;
            bytes
        }),
        ("certificates.json", {
            let mut bytes = Vec::new();
            write_json(&export, &mut bytes).map_err(|e| e.to_string())?;
            bytes
        }),
        (
            "certificates.pdf",
            render_pdf(&export, concat!("wisp ", env!("CARGO_PKG_VERSION"))),
        ),
    ] {
        let path = dir.join(name);
        write_durably(&path, &bytes).map_err(|e| format!("{}: {e}", path.display()))?;
        written.push(path);
    }
    Ok(written)
}

fn write_durably(path: &Path, bytes: &[u8]) -> std::io::Result<()> {
    use std::io::Write;
    let temporary = path.with_extension("tmp");
    let mut file = std::fs::File::create(&temporary)?;
    file.write_all(bytes)?;
    file.sync_all()?;
    std::fs::rename(&temporary, path)?;
    std::fs::File::open(path.parent().unwrap_or(Path::new(".")))?.sync_all()
}

/// One line per outcome, for the console and the stick's `last-run.txt`.
pub fn summary_lines(outcomes: &[TargetOutcome], drives: &[Drive]) -> Vec<String> {
    outcomes
        .iter()
        .map(|outcome| {
            let serial = drives
                .iter()
                .find(|d| d.device.path == outcome.path)
                .and_then(|d| d.device.serial.clone())
                .unwrap_or_else(|| "-".into());
            match &outcome.result {
                Ok(done) if done.report.succeeded() => format!(
                    "ERASED   {} serial {}: {}, verification {}, certificate #{} {}",
                    outcome.path.display(),
                    serial,
                    done.report.method,
                    done.report.verification.mode.name(),
                    done.sequence,
                    &done.certificate[..16.min(done.certificate.len())]
                ),
                Ok(done) => format!(
                    "FAILED   {} serial {}: verification found {} range(s) not erased; certificate #{} records it",
                    outcome.path.display(),
                    serial,
                    done.report.verification.mismatched.len() + done.report.verification.unreadable.len(),
                    done.sequence
                ),
                Err(err) => format!(
                    "ERROR    {} serial {}: {}",
                    outcome.path.display(),
                    serial,
                    error_chain(err)
                ),
            }
        })
        .collect()
}

/// Whether every outcome is a verified erasure.
pub fn all_erased(outcomes: &[TargetOutcome]) -> bool {
    outcomes
        .iter()
        .all(|o| matches!(&o.result, Ok(done) if done.report.succeeded()))
}

pub fn human_bytes(bytes: u64) -> String {
    const UNITS: [&str; 6] = ["B", "KiB", "MiB", "GiB", "TiB", "PiB"];
    let mut value = bytes as f64;
    let mut unit = 0;
    while value >= 1024.0 && unit + 1 < UNITS.len() {
        value /= 1024.0;
        unit += 1;
    }
    if unit == 0 {
        format!("{bytes} B")
    } else {
        format!("{value:.1} {}", UNITS[unit])
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use shred::target::DeviceTarget;
    use shred::{DevNum, Transport};

    fn device(name: &str, serial: &str) -> BlockDevice {
        BlockDevice {
            name: name.into(),
            path: PathBuf::from(format!("/dev/{name}")),
            devnum: DevNum { major: 8, minor: 0 },
            vendor: None,
            model: Some("Disk".into()),
            serial: Some(serial.into()),
            wwn: None,
            size_bytes: 1 << 30,
            logical_sector_size: 512,
            physical_sector_size: 4096,
            rotational: false,
            removable: false,
            read_only: false,
            transport: Transport::Nvme,
            backing_file: None,
            partitions: Vec::new(),
            holders: Vec::new(),
            usage: Vec::new(),
        }
    }

    fn available(name: &str, serial: &str) -> Drive {
        let device = device(name, serial);
        Drive {
            status: DriveStatus::Available(Box::new(Target::Device(Box::new(DeviceTarget {
                path: device.path.clone(),
                disk: device.clone(),
                partition: None,
                size_bytes: device.size_bytes,
                block: 4096,
                usage: Vec::new(),
            })))),
            device,
        }
    }

    fn drives() -> Vec<Drive> {
        vec![
            available("nvme0n1", "N1"),
            Drive {
                device: device("sda", "STICK"),
                status: DriveStatus::BootStick,
            },
            Drive {
                device: device("sdb", "BUSY"),
                status: DriveStatus::Refused("it is mounted at /mnt".into()),
            },
            available("vda", "V1"),
        ]
    }

    fn paths(targets: &[Target]) -> Vec<String> {
        targets
            .iter()
            .map(|t| t.path().display().to_string())
            .collect()
    }

    #[test]
    fn all_means_every_wipeable_drive_never_the_stick() {
        let chosen = select(&drives(), &Selection::All).unwrap();
        assert_eq!(paths(&chosen), ["/dev/nvme0n1", "/dev/vda"]);
    }

    #[test]
    fn serials_choose_exactly_those_drives() {
        let chosen = select(&drives(), &Selection::Serials(vec!["V1".into()])).unwrap();
        assert_eq!(paths(&chosen), ["/dev/vda"]);
    }

    #[test]
    fn a_serial_that_cannot_be_wiped_fails_the_whole_run() {
        let ask = |serials: &[&str]| {
            select(
                &drives(),
                &Selection::Serials(serials.iter().map(|s| s.to_string()).collect()),
            )
        };
        assert!(matches!(ask(&["N1", "GONE"]), Err(SelectError::Missing(s)) if s == "GONE"));
        let stick = ask(&["STICK"]).unwrap_err().to_string();
        assert!(stick.contains("boot stick"), "{stick}");
        let busy = ask(&["N1", "BUSY"]).unwrap_err().to_string();
        assert!(busy.contains("mounted at /mnt"), "{busy}");
    }

    #[test]
    fn nothing_to_wipe_is_an_error() {
        let only_stick = vec![Drive {
            device: device("sda", "STICK"),
            status: DriveStatus::BootStick,
        }];
        assert!(matches!(
            select(&only_stick, &Selection::All),
            Err(SelectError::Nothing)
        ));
    }
}
