//! `cargo xtask bench`: benchmarks, each reported as a ratio against a named
//! baseline measured in the same run, interleaved so machine noise hits both.

use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use anyhow::Context;
use clap::ValueEnum;

use crate::system;

#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum Which {
    All,
    /// `wisp devices --json` against `lsblk --json --output-all`
    Devices,
}

pub fn run(which: Which) -> anyhow::Result<()> {
    let wisp = build_release()?;
    if matches!(which, Which::All | Which::Devices) {
        devices(&wisp)?;
    }
    Ok(())
}

fn build_release() -> anyhow::Result<PathBuf> {
    let root = system::workspace_root();
    system::run(Command::new(env!("CARGO")).current_dir(&root).args([
        "build",
        "--release",
        "--package",
        "wisp",
    ]))?;
    Ok(root.join("target/release/wisp"))
}

/// Loop devices attached for a benchmark; detached on drop.
struct LoopSet {
    devices: Vec<String>,
    _dir: tempfile::TempDir,
}

impl LoopSet {
    fn attach(count: usize, bytes: u64) -> anyhow::Result<LoopSet> {
        let dir = tempfile::Builder::new().prefix("wisp-bench-").tempdir()?;
        let mut set = LoopSet {
            devices: Vec::new(),
            _dir: dir,
        };
        for index in 0..count {
            let backing = set._dir.path().join(format!("disk{index}.img"));
            std::fs::File::create(&backing)?.set_len(bytes)?;
            let device = system::output(
                Command::new("losetup")
                    .args(["--find", "--show"])
                    .arg(&backing),
            )?;
            set.devices.push(device.trim().to_string());
        }
        Ok(set)
    }
}

impl Drop for LoopSet {
    fn drop(&mut self) {
        for device in &self.devices {
            let _ = Command::new("losetup").args(["--detach", device]).status();
        }
    }
}

fn time_once(program: &Path, args: &[&str]) -> anyhow::Result<Duration> {
    let start = Instant::now();
    let status = Command::new(program)
        .args(args)
        .stdout(Stdio::null())
        .status()
        .with_context(|| format!("cannot run {}", program.display()))?;
    anyhow::ensure!(status.success(), "{} {args:?} failed", program.display());
    Ok(start.elapsed())
}

fn median(mut samples: Vec<Duration>) -> Duration {
    samples.sort();
    samples[samples.len() / 2]
}

fn devices(wisp: &Path) -> anyhow::Result<()> {
    let Some(lsblk) = system::which("lsblk") else {
        eprintln!("bench devices: skipped, lsblk (the baseline) is not installed");
        return Ok(());
    };
    // With root, attach extra devices so discovery has more than one disk to read.
    let _loops = if system::is_root() && system::which("losetup").is_some() {
        Some(LoopSet::attach(8, 64 << 20)?)
    } else {
        None
    };
    let rounds = 200;
    let (mut ours, mut theirs) = (Vec::new(), Vec::new());
    for _ in 0..rounds {
        ours.push(time_once(wisp, &["devices", "--json"])?);
        theirs.push(time_once(&lsblk, &["--json", "--output-all"])?);
    }
    let (ours, theirs) = (median(ours), median(theirs));
    println!(
        "devices: wisp devices --json {:.2} ms, lsblk --json --output-all {:.2} ms (median of {rounds}); \
         wisp takes {:.2}x lsblk's time",
        ours.as_secs_f64() * 1e3,
        theirs.as_secs_f64() * 1e3,
        ours.as_secs_f64() / theirs.as_secs_f64()
    );
    Ok(())
}
