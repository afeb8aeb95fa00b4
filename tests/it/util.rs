//! Fixtures: temp trees, sparse backing files, loop devices that are always
//! detached, mounts that are always unmounted — even when the test panics.

use std::fs::OpenOptions;
use std::io::{Seek, SeekFrom, Write};
use std::path::{Path, PathBuf};
use std::process::{Command, Output};

/// The binary under test.
pub fn wisp() -> Command {
    let mut command = Command::new(env!("CARGO_BIN_EXE_wisp"));
    command.env_remove("NO_COLOR");
    command
}

/// Runs `wisp` with `args` and returns its output, panicking with both streams on a
/// spawn failure so the cause is in the test log.
pub fn run(args: &[&str]) -> Output {
    wisp()
        .args(args)
        .output()
        .unwrap_or_else(|err| panic!("cannot run wisp {args:?}: {err}"))
}

pub fn stdout(output: &Output) -> String {
    String::from_utf8_lossy(&output.stdout).into_owned()
}

pub fn stderr(output: &Output) -> String {
    String::from_utf8_lossy(&output.stderr).into_owned()
}

/// CI runs as root with loop devices; there a missing capability is a failure,
/// elsewhere the test is skipped with the reason printed.
pub fn on_ci() -> bool {
    std::env::var("CI").is_ok_and(|value| !value.is_empty() && value != "false" && value != "0")
}

/// Why loop-device tests cannot run here, if they cannot.
pub fn loop_unavailable() -> Option<String> {
    if !nix::unistd::geteuid().is_root() {
        return Some("loop devices need root".into());
    }
    if !Path::new("/dev/loop-control").exists() {
        return Some("/dev/loop-control is missing".into());
    }
    for tool in [
        "losetup",
        "partx",
        "mkfs.ext4",
        "mount",
        "umount",
        "mkswap",
        "swapon",
    ] {
        if which(tool).is_none() {
            return Some(format!("{tool} is not installed"));
        }
    }
    None
}

/// Skips the calling test (returns from it) when loop devices are unavailable,
/// except on CI, where that is a failure.
macro_rules! require_loop_devices {
    () => {
        if let Some(reason) = $crate::util::loop_unavailable() {
            if $crate::util::on_ci() {
                panic!("CI must be able to run loop-device tests, but {reason}");
            }
            eprintln!("skipped: {reason}");
            return;
        }
    };
}

fn which(tool: &str) -> Option<PathBuf> {
    let path = std::env::var_os("PATH")?;
    std::env::split_paths(&path)
        .chain(["/sbin", "/usr/sbin"].map(PathBuf::from))
        .map(|dir| dir.join(tool))
        .find(|candidate| candidate.is_file())
}

/// Runs a system tool and panics with its stderr if it fails.
pub fn sh(program: &str, args: &[&str]) -> String {
    let output = Command::new(program)
        .args(args)
        .output()
        .unwrap_or_else(|err| panic!("cannot run {program}: {err}"));
    assert!(
        output.status.success(),
        "{program} {args:?} failed: {}",
        String::from_utf8_lossy(&output.stderr)
    );
    String::from_utf8_lossy(&output.stdout).trim().to_string()
}

pub fn temp_dir() -> tempfile::TempDir {
    tempfile::Builder::new()
        .prefix("wisp-test-")
        .tempdir()
        .expect("cannot create a temp dir")
}

/// A sparse file of exactly `bytes` bytes.
pub fn sparse_file(dir: &Path, name: &str, bytes: u64) -> PathBuf {
    let path = dir.join(name);
    let file = std::fs::File::create(&path).unwrap();
    file.set_len(bytes).unwrap();
    path
}

/// Writes an MBR partition table with Linux (0x83) partitions at the given
/// `(first_lba, sectors)` ranges, in 512-byte sectors.
pub fn write_mbr(image: &Path, partitions: &[(u32, u32)]) {
    assert!(partitions.len() <= 4);
    let mut sector = [0u8; 512];
    sector[440..444].copy_from_slice(&0x5749_5350u32.to_le_bytes()); // disk signature
    for (index, &(first, count)) in partitions.iter().enumerate() {
        let entry = &mut sector[446 + index * 16..446 + (index + 1) * 16];
        entry[1..4].copy_from_slice(&[0xfe, 0xff, 0xff]); // CHS unused: LBA only
        entry[4] = 0x83;
        entry[5..8].copy_from_slice(&[0xfe, 0xff, 0xff]);
        entry[8..12].copy_from_slice(&first.to_le_bytes());
        entry[12..16].copy_from_slice(&count.to_le_bytes());
    }
    sector[510] = 0x55;
    sector[511] = 0xaa;
    let mut file = OpenOptions::new().write(true).open(image).unwrap();
    file.seek(SeekFrom::Start(0)).unwrap();
    file.write_all(&sector).unwrap();
    file.sync_all().unwrap();
}

#[derive(Debug, Clone, Default)]
pub struct LoopOptions {
    pub read_only: bool,
    pub partition_scan: bool,
    pub sector_size: Option<u32>,
    /// `losetup --direct-io=on`: the loop device reads and writes its backing
    /// file with O_DIRECT, so what a test reads from the file is what was written.
    pub direct_io: bool,
}

/// A loop device over a file; detached on drop.
pub struct LoopDevice {
    pub path: PathBuf,
    pub backing: PathBuf,
}

impl LoopDevice {
    pub fn attach(backing: &Path, options: &LoopOptions) -> LoopDevice {
        let mut args = vec!["--find".to_string(), "--show".to_string()];
        if options.read_only {
            args.push("--read-only".into());
        }
        if options.partition_scan {
            args.push("--partscan".into());
        }
        if options.direct_io {
            args.push("--direct-io=on".into());
        }
        if let Some(size) = options.sector_size {
            args.push(format!("--sector-size={size}"));
        }
        args.push(backing.display().to_string());
        // Tests attach concurrently; losetup can lose the race for a free device.
        let mut last_error = String::new();
        for _ in 0..10 {
            let output = Command::new("losetup").args(&args).output().unwrap();
            if output.status.success() {
                let path = PathBuf::from(String::from_utf8_lossy(&output.stdout).trim());
                if options.partition_scan {
                    settle_partitions(&path);
                }
                return LoopDevice {
                    path,
                    backing: backing.to_path_buf(),
                };
            }
            last_error = String::from_utf8_lossy(&output.stderr).into_owned();
            std::thread::sleep(std::time::Duration::from_millis(50));
        }
        panic!("losetup {args:?} failed: {last_error}");
    }

    pub fn partition(&self, number: u32) -> PathBuf {
        PathBuf::from(format!("{}p{number}", self.path.display()))
    }
}

impl Drop for LoopDevice {
    fn drop(&mut self) {
        let status = Command::new("losetup")
            .arg("--detach")
            .arg(&self.path)
            .status();
        if !matches!(status, Ok(s) if s.success()) {
            eprintln!("warning: could not detach {}", self.path.display());
        }
    }
}

/// Partition nodes appear asynchronously (devtmpfs); wait briefly for them. Some
/// kernels (this project's CI among them) are built without partition-table parsers,
/// so fall back to partx, which parses in user space and adds them with BLKPG.
fn settle_partitions(device: &Path) {
    let first = PathBuf::from(format!("{}p1", device.display()));
    let appeared = || {
        (0..50).any(|_| {
            std::thread::sleep(std::time::Duration::from_millis(20));
            first.exists()
        })
    };
    if !appeared() {
        sh("partx", &["--add", &device.display().to_string()]);
        assert!(
            appeared(),
            "partitions of {} never appeared",
            device.display()
        );
    }
}

/// A mounted filesystem; unmounted on drop.
pub struct Mounted {
    pub mountpoint: tempfile::TempDir,
}

impl Mounted {
    /// Makes an ext4 filesystem on `device` and mounts it on a fresh temp dir.
    pub fn ext4(device: &Path) -> Mounted {
        sh("mkfs.ext4", &["-q", "-F", &device.display().to_string()]);
        let mountpoint = temp_dir();
        sh(
            "mount",
            &[
                &device.display().to_string(),
                &mountpoint.path().display().to_string(),
            ],
        );
        Mounted { mountpoint }
    }
}

impl Drop for Mounted {
    fn drop(&mut self) {
        let status = Command::new("umount").arg(self.mountpoint.path()).status();
        if !matches!(status, Ok(s) if s.success()) {
            let _ = Command::new("umount")
                .arg("--lazy")
                .arg(self.mountpoint.path())
                .status();
        }
    }
}

/// Active swap on a device; turned off on drop.
pub struct Swap {
    device: PathBuf,
}

impl Swap {
    pub fn on(device: &Path) -> Swap {
        let path = device.display().to_string();
        sh("mkswap", &[&path]);
        sh("swapon", &[&path]);
        Swap {
            device: device.to_path_buf(),
        }
    }
}

impl Drop for Swap {
    fn drop(&mut self) {
        let _ = Command::new("swapoff").arg(&self.device).status();
    }
}

/// A temp dir holding a ledger with keys, and `wisp` commands bound to it through
/// the environment, as cron or a systemd unit would run them.
pub struct LedgerFixture {
    pub dir: tempfile::TempDir,
}

impl LedgerFixture {
    pub fn new() -> LedgerFixture {
        let fixture = LedgerFixture { dir: temp_dir() };
        let out = fixture.wisp(&["certs", "keygen"]);
        assert!(out.status.success(), "{}", stderr(&out));
        fixture
    }

    pub fn ledger(&self) -> PathBuf {
        self.dir.path().join("ledger")
    }

    pub fn path(&self, name: &str) -> PathBuf {
        self.dir.path().join(name)
    }

    pub fn command(&self) -> Command {
        let mut command = wisp();
        command
            .env("WISP_LEDGER", self.ledger())
            .env("WISP_OPERATOR", "Test Operator")
            .env("WISP_ORGANIZATION", "Test Org");
        command
    }

    pub fn wisp(&self, args: &[&str]) -> Output {
        self.command().args(args).output().unwrap()
    }

    /// `wisp certs verify` against the ledger's key given explicitly.
    pub fn verify(&self, extra: &[&str]) -> Output {
        let pubkey = self.ledger().join("signing.pub").display().to_string();
        let mut args = vec!["certs", "verify", "--pubkey", &pubkey];
        args.extend_from_slice(extra);
        self.wisp(&args)
    }

    /// The certificates, as `wisp certs list --json` shows them.
    pub fn certificates(&self) -> Vec<serde_json::Value> {
        let out = self.wisp(&["certs", "list", "--json"]);
        assert!(out.status.success(), "{}", stderr(&out));
        stdout(&out)
            .lines()
            .map(|l| serde_json::from_str::<serde_json::Value>(l).unwrap()["certificate"].clone())
            .collect()
    }
}
