//! `wisp shred` against loop devices and files the tests create.

use std::io::{Read, Seek, SeekFrom, Write};
use std::os::unix::fs::FileExt;
use std::path::{Path, PathBuf};
use std::process::{Output, Stdio};

use crate::util::*;

const MARKER: &[u8] = b"SSN 078-05-1120 PLANTED-MARKER-wisp";

/// A backing file of `bytes` with the marker planted at the start, the middle,
/// the very end, and straddling a 4 MiB chunk boundary.
fn disk_with_markers(dir: &Path, bytes: u64) -> PathBuf {
    let path = sparse_file(dir, "disk.img", bytes);
    let file = std::fs::OpenOptions::new().write(true).open(&path).unwrap();
    for offset in [0, bytes / 2, (4 << 20) - 10, bytes - MARKER.len() as u64] {
        file.write_all_at(MARKER, offset).unwrap();
    }
    file.sync_all().unwrap();
    path
}

fn count_markers(path: &Path) -> usize {
    let data = std::fs::read(path).unwrap();
    data.windows(MARKER.len()).filter(|w| *w == MARKER).count()
}

fn direct_loop(backing: &Path) -> LoopDevice {
    LoopDevice::attach(
        backing,
        &LoopOptions {
            direct_io: true,
            ..LoopOptions::default()
        },
    )
}

/// Starts a long (dod-7, unverified) wipe of `dev` that checkpoints every 20 ms,
/// and returns once its resume journal is durable (or after a minute).
fn journaled_wipe(bench: &LedgerFixture, dev: &str, stderr: Stdio) -> std::process::Child {
    let child = bench
        .command()
        .args([
            "shred",
            "--yes",
            "--method",
            "dod-7",
            "--verify",
            "off",
            "--checkpoint-ms",
            "20",
            dev,
        ])
        .stdout(Stdio::null())
        .stderr(stderr)
        .spawn()
        .unwrap();
    let resume_dir = bench.ledger().join("resume");
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(60);
    // The journal's .json appears by rename once progress is durable.
    let journaled = || {
        std::fs::read_dir(&resume_dir)
            .map(|d| {
                d.flatten()
                    .any(|e| e.path().extension().is_some_and(|x| x == "json"))
            })
            .unwrap_or(false)
    };
    while !journaled() && std::time::Instant::now() < deadline {
        std::thread::sleep(std::time::Duration::from_millis(5));
    }
    child
}

fn json_reports(out: &Output) -> Vec<serde_json::Value> {
    stdout(out)
        .lines()
        .map(|l| serde_json::from_str(l).unwrap_or_else(|e| panic!("{e}: {l}")))
        .collect()
}

#[test]
fn device_wipe_leaves_no_marker_and_is_certified() {
    require_loop_devices!();
    let bench = LedgerFixture::new();
    // Not a multiple of 4 KiB nor of the 4 MiB buffer: the tail must be covered too.
    let bytes = (9 << 20) + 7 * 512;
    let backing = disk_with_markers(bench.dir.path(), bytes);
    assert_eq!(count_markers(&backing), 4);
    let device = direct_loop(&backing);
    let dev = device.path.display().to_string();

    let out = bench.wisp(&["shred", "--yes", "--verify", "full", "--json", &dev]);
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
    let reports = json_reports(&out);
    assert_eq!(reports.len(), 1);
    let report = &reports[0]["report"];
    assert_eq!(report["passes"][0]["bytes"], bytes);
    assert_eq!(report["verification"]["result"], "passed");
    assert_eq!(report["verification"]["bytes_read"], bytes);
    drop(device);
    assert_eq!(
        count_markers(&backing),
        0,
        "a planted marker survived the wipe"
    );

    let certificates = bench.certificates();
    assert_eq!(certificates.len(), 1);
    let cert = &certificates[0];
    assert_eq!(cert["media"]["size_bytes"], bytes);
    assert_eq!(cert["sanitization"]["category"], "clear");
    assert_eq!(cert["sanitization"]["verification"]["result"], "passed");
    assert_eq!(cert["operator"]["name"], "Test Operator");
    assert_eq!(
        cert["sanitization"]["verification"]["nonce"],
        report["verification"]["nonce"]
    );
    assert_eq!(bench.verify(&[]).status.code(), Some(0));
}

#[test]
fn zero_method_covers_every_byte_of_an_odd_size() {
    require_loop_devices!();
    let bench = LedgerFixture::new();
    let bytes = (4 << 20) + 3 * 512;
    let backing = disk_with_markers(bench.dir.path(), bytes);
    let device = direct_loop(&backing);
    let dev = device.path.display().to_string();
    let out = bench.wisp(&[
        "shred", "--yes", "--method", "zero", "--verify", "last", &dev,
    ]);
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
    drop(device);
    let data = std::fs::read(&backing).unwrap();
    assert_eq!(data.len() as u64, bytes);
    assert!(data.iter().all(|&b| b == 0), "a byte was not overwritten");
}

#[test]
fn verify_only_redoes_the_check_and_catches_a_change() {
    require_loop_devices!();
    let bench = LedgerFixture::new();
    let backing = disk_with_markers(bench.dir.path(), 16 << 20);
    let device = direct_loop(&backing);
    let dev = device.path.display().to_string();
    let out = bench.wisp(&["shred", "--yes", "--json", &dev]);
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
    let nonce = json_reports(&out)[0]["report"]["verification"]["nonce"]
        .as_str()
        .unwrap()
        .to_string();

    let check = |verify: &str| {
        bench.wisp(&[
            "shred",
            "--verify-only",
            "--nonce",
            &nonce,
            "--verify",
            verify,
            &dev,
        ])
    };
    let ok = check("last");
    assert_eq!(ok.status.code(), Some(0), "{}{}", stdout(&ok), stderr(&ok));
    assert!(stdout(&ok).starts_with("verified"), "{}", stdout(&ok));

    // One byte changed after the wipe, written through the device.
    let mut node = std::fs::OpenOptions::new()
        .write(true)
        .open(&device.path)
        .unwrap();
    node.seek(SeekFrom::Start(5 << 20)).unwrap();
    let mut block = vec![0u8; 512];
    node.write_all(&block).unwrap();
    node.sync_all().unwrap();
    let bad = check("last");
    assert_eq!(bad.status.code(), Some(1), "{}", stdout(&bad));
    assert!(stdout(&bad).starts_with("FAILED"), "{}", stdout(&bad));
    // A wrong nonce regenerates a different stream: also a failure.
    let wrong = bench.wisp(&[
        "shred",
        "--verify-only",
        "--nonce",
        &"0".repeat(32),
        "--verify",
        "sample",
        &dev,
    ]);
    assert_eq!(wrong.status.code(), Some(1));
    let mut file = std::fs::File::open(&backing).unwrap();
    file.read_exact(&mut block).unwrap();
}

#[test]
fn mounted_device_is_refused_and_untouched() {
    require_loop_devices!();
    let bench = LedgerFixture::new();
    let backing = sparse_file(bench.dir.path(), "fs.img", 32 << 20);
    let device = direct_loop(&backing);
    let mounted = Mounted::ext4(&device.path);
    std::fs::write(mounted.mountpoint.path().join("payroll.csv"), MARKER).unwrap();
    let dev = device.path.display().to_string();
    let out = bench.wisp(&["shred", "--yes", &dev]);
    assert_eq!(out.status.code(), Some(1), "{}", stderr(&out));
    assert!(stderr(&out).contains("refusing"), "{}", stderr(&out));
    assert!(stderr(&out).contains("mounted"), "{}", stderr(&out));
    assert!(bench.certificates().is_empty());
    drop(mounted);
    assert!(
        count_markers(&backing) >= 1,
        "the mounted filesystem's data was touched"
    );
}

#[test]
fn killed_device_wipe_resumes_and_completes() {
    require_loop_devices!();
    let bench = LedgerFixture::new();
    let backing = disk_with_markers(bench.dir.path(), 256 << 20);
    let device = direct_loop(&backing);
    let dev = device.path.display().to_string();
    let resume_dir = bench.ledger().join("resume");
    // Kill it once it has recorded durable progress.
    let mut child = journaled_wipe(&bench, &dev, Stdio::null());
    child.kill().unwrap();
    let status = child.wait().unwrap();
    assert!(
        !status.success(),
        "the wipe finished before it could be killed"
    );
    assert!(
        bench.certificates().is_empty(),
        "an unfinished wipe was certified"
    );

    let out = bench.wisp(&[
        "shred", "--yes", "--resume", "--method", "dod-7", "--verify", "last", "--json", &dev,
    ]);
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
    let report = &json_reports(&out)[0]["report"];
    assert_eq!(report["resumed"], true);
    assert_eq!(report["verification"]["result"], "passed");
    let left: Vec<_> = std::fs::read_dir(&resume_dir)
        .unwrap()
        .flatten()
        .map(|e| e.path())
        .collect();
    assert!(left.is_empty(), "journal left behind: {left:?}");
    drop(device);
    assert_eq!(count_markers(&backing), 0);
    assert_eq!(bench.certificates().len(), 1);

    // Nothing left to resume now.
    let device = direct_loop(&backing);
    let again = bench.wisp(&[
        "shred",
        "--yes",
        "--resume",
        "--method",
        "dod-7",
        &device.path.display().to_string(),
    ]);
    assert_eq!(again.status.code(), Some(2));
    assert!(
        stderr(&again).contains("no interrupted wipe"),
        "{}",
        stderr(&again)
    );
}

#[test]
fn two_devices_at_once() {
    require_loop_devices!();
    let bench = LedgerFixture::new();
    let first_dir = temp_dir();
    let second_dir = temp_dir();
    let first = disk_with_markers(first_dir.path(), 8 << 20);
    let second = disk_with_markers(second_dir.path(), 12 << 20);
    let (a, b) = (direct_loop(&first), direct_loop(&second));
    let out = bench.wisp(&[
        "shred",
        "--yes",
        &a.path.display().to_string(),
        &b.path.display().to_string(),
    ]);
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
    assert_eq!(
        stdout(&out)
            .lines()
            .filter(|l| l.starts_with("erased"))
            .count(),
        2
    );
    drop((a, b));
    assert_eq!(count_markers(&first) + count_markers(&second), 0);
    assert_eq!(bench.certificates().len(), 2);
}

#[test]
fn files_are_overwritten_in_place_and_removed_on_request() {
    let bench = LedgerFixture::new();
    let keep = bench.dir.path().join("keep.txt");
    let gone = bench.dir.path().join("gone.txt");
    let mut content = MARKER.repeat(300);
    content.extend_from_slice(b"tail");
    std::fs::write(&keep, &content).unwrap();
    std::fs::write(&gone, &content).unwrap();
    let out = bench.wisp(&["shred", "--json", &keep.display().to_string()]);
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
    let after = std::fs::read(&keep).unwrap();
    assert_eq!(after.len(), content.len(), "the file's length must be kept");
    assert_eq!(count_markers(&keep), 0);

    let out = bench.wisp(&["shred", "--remove", &gone.display().to_string()]);
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
    assert!(!gone.exists());
    let names: Vec<String> = std::fs::read_dir(bench.dir.path())
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .collect();
    assert_eq!(names.len(), 2, "a renamed leftover remains: {names:?}");

    let certificates = bench.certificates();
    assert_eq!(certificates.len(), 2);
    for cert in &certificates {
        assert_eq!(cert["media"]["kind"], "file");
        assert_eq!(cert["media"]["size_bytes"], content.len());
        assert_eq!(cert["content_fingerprint"].as_str().unwrap().len(), 64);
    }
    assert!(certificates[1]["destination"]
        .as_str()
        .unwrap()
        .contains("removed"));
    assert_eq!(bench.verify(&[]).status.code(), Some(0));
}

#[test]
fn hard_linked_files_are_refused_unless_forced() {
    let bench = LedgerFixture::new();
    let file = bench.dir.path().join("record.txt");
    std::fs::write(&file, MARKER).unwrap();
    std::fs::hard_link(&file, bench.dir.path().join("other-name.txt")).unwrap();
    let path = file.display().to_string();
    let out = bench.wisp(&["shred", &path]);
    assert_eq!(out.status.code(), Some(1));
    assert!(stderr(&out).contains("hard link"), "{}", stderr(&out));
    assert_eq!(std::fs::read(&file).unwrap(), MARKER);

    let out = bench.wisp(&["shred", "--force", "--json", &path]);
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
    let report = &json_reports(&out)[0]["report"];
    assert_eq!(report["exceptions"][0]["kind"], "other-hard-links");
    assert_ne!(std::fs::read(&file).unwrap(), MARKER);
}

#[test]
fn recursive_directories_and_dry_run() {
    let bench = LedgerFixture::new();
    let tree = bench.dir.path().join("records");
    std::fs::create_dir_all(tree.join("2019/q1")).unwrap();
    for name in ["a.txt", "2019/b.csv", "2019/q1/c.eml"] {
        std::fs::write(tree.join(name), MARKER).unwrap();
    }
    std::os::unix::fs::symlink("/etc/hostname", tree.join("link")).unwrap();
    let root = tree.display().to_string();
    let plan = bench.wisp(&["shred", "--recursive", "--remove", "--dry-run", &root]);
    assert_eq!(plan.status.code(), Some(0), "{}", stderr(&plan));
    assert!(
        stdout(&plan).starts_with("would erase 3 target(s)"),
        "{}",
        stdout(&plan)
    );
    assert!(tree.join("a.txt").exists());

    let out = bench.wisp(&["shred", "--recursive", "--remove", &root]);
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
    assert!(!tree.join("a.txt").exists() && !tree.join("2019/q1/c.eml").exists());
    assert!(
        tree.join("link").exists(),
        "a symlink in the tree must not be followed or removed"
    );
    assert!(Path::new("/etc/hostname").exists());
    assert_eq!(bench.certificates().len(), 3);
}

#[test]
fn no_signing_key_means_nothing_is_touched() {
    let dir = temp_dir();
    let file = dir.path().join("x.txt");
    std::fs::write(&file, MARKER).unwrap();
    let out = wisp()
        .args([
            "shred",
            "--ledger",
            &dir.path().join("none").display().to_string(),
            &file.display().to_string(),
        ])
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(2));
    assert!(
        stderr(&out).contains("wisp certs keygen"),
        "{}",
        stderr(&out)
    );
    assert_eq!(std::fs::read(&file).unwrap(), MARKER);
}

#[test]
fn a_partition_is_wiped_and_its_neighbour_kept() {
    require_loop_devices!();
    let bench = LedgerFixture::new();
    let backing = sparse_file(bench.dir.path(), "parted.img", 24 << 20);
    // Partitions at 1 MiB (8 MiB long) and 10 MiB (8 MiB long).
    write_mbr(&backing, &[(2048, 16384), (20480, 16384)]);
    let file = std::fs::OpenOptions::new()
        .write(true)
        .open(&backing)
        .unwrap();
    file.write_all_at(MARKER, 2048 * 512 + 4096).unwrap();
    file.write_all_at(MARKER, 20480 * 512 + 4096).unwrap();
    file.sync_all().unwrap();
    let device = LoopDevice::attach(
        &backing,
        &LoopOptions {
            partition_scan: true,
            direct_io: true,
            ..LoopOptions::default()
        },
    );
    let out = bench.wisp(&[
        "shred",
        "--yes",
        "--json",
        &device.partition(1).display().to_string(),
    ]);
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
    let report = &json_reports(&out)[0]["report"];
    assert_eq!(report["passes"][0]["bytes"], 16384 * 512);
    drop(device);
    let data = std::fs::read(&backing).unwrap();
    let first = &data[2048 * 512..(2048 + 16384) * 512];
    let second = &data[20480 * 512..(20480 + 16384) * 512];
    assert!(
        !first.windows(MARKER.len()).any(|w| w == MARKER),
        "partition 1 kept its data"
    );
    assert!(
        second.windows(MARKER.len()).any(|w| w == MARKER),
        "partition 2 was touched"
    );
    // The partition table in the first sector lies outside partition 1.
    assert_eq!(data[510..512], [0x55, 0xaa], "partition table damaged");
}

#[test]
fn devices_need_yes_when_nobody_can_answer() {
    require_loop_devices!();
    let bench = LedgerFixture::new();
    let backing = disk_with_markers(bench.dir.path(), 8 << 20);
    let before = count_markers(&backing);
    let device = direct_loop(&backing);
    let out = bench
        .command()
        .args(["shred", &device.path.display().to_string()])
        .stdin(Stdio::null())
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(2));
    assert!(stderr(&out).contains("--yes"), "{}", stderr(&out));
    drop(device);
    assert_eq!(count_markers(&backing), before, "the device was written");
}

#[test]
fn interrupted_wipe_stops_cleanly_and_resumes() {
    require_loop_devices!();
    let bench = LedgerFixture::new();
    let backing = disk_with_markers(bench.dir.path(), 256 << 20);
    let device = direct_loop(&backing);
    let dev = device.path.display().to_string();
    let child = journaled_wipe(&bench, &dev, Stdio::piped());
    nix::sys::signal::kill(
        nix::unistd::Pid::from_raw(child.id() as i32),
        nix::sys::signal::Signal::SIGINT,
    )
    .unwrap();
    let out = child.wait_with_output().unwrap();
    assert_eq!(out.status.code(), Some(2), "{}", stderr(&out));
    assert!(stderr(&out).contains("--resume"), "{}", stderr(&out));
    assert!(bench.certificates().is_empty());
    let out = bench.wisp(&[
        "shred", "--yes", "--resume", "--method", "dod-7", "--verify", "sample", &dev,
    ]);
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
    drop(device);
    assert_eq!(count_markers(&backing), 0);
}
