//! `cargo xtask image-test`: boots the stick in qemu (software emulation: KVM
//! does not work on these machines) with target disks on virtio, AHCI and NVMe,
//! unattended, and checks from the host that every chosen target was wiped, no
//! other disk was touched, the stick changed only in its certificate
//! partition, and the stick's ledger verifies and names each drive's serial.

use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use anyhow::{bail, Context};

use crate::image::{self, Console, ImageOptions, CERTS_MIB, CERTS_OFFSET_MIB, ESP_OFFSET_MIB};
use crate::system;

const OVMF_CODE: &str = "/usr/share/OVMF/OVMF_CODE_4M.secboot.fd";
const OVMF_VARS_MS: &str = "/usr/share/OVMF/OVMF_VARS_4M.ms.fd";
const OVMF_CODE_PLAIN: &str = "/usr/share/OVMF/OVMF_CODE_4M.fd";
const OVMF_VARS_PLAIN: &str = "/usr/share/OVMF/OVMF_VARS_4M.fd";
const TARGET_MIB: u64 = 48;
const BOOT_LIMIT: Duration = Duration::from_secs(600);
const PLANTED: &[u8] = b"WISP-PLANTED-MARKER";
/// Written into the stick's `wisp.toml`; every certificate must name it.
const ORGANIZATION: &str = "Harbor Test Dental LLC";

#[derive(Clone, Copy)]
enum Firmware {
    /// OVMF with Secure Boot enforcing and Microsoft's keys enrolled: shim → GRUB → kernel.
    SecureBootUefi,
    /// OVMF without Secure Boot: shim and GRUB all the same.
    Uefi,
    /// SeaBIOS: syslinux from the protective MBR.
    LegacyBios,
}

#[derive(Clone, Copy)]
enum Bus {
    Virtio,
    Ahci,
    Nvme,
}

struct Disk {
    bus: Bus,
    serial: &'static str,
    path: PathBuf,
}

const DISKS: [(Bus, &str); 3] = [
    (Bus::Virtio, "VIRT0001"),
    (Bus::Ahci, "SATA0002"),
    (Bus::Nvme, "NVME0003"),
];

/// Whether this machine can run the test, or why not (to print when skipping).
pub fn can_run() -> Result<(), String> {
    if system::is_root() || system::which("qemu-system-x86_64").is_some() {
        Ok(())
    } else {
        Err("qemu-system-x86_64 is not installed and installing it needs root".into())
    }
}

pub fn run() -> anyhow::Result<()> {
    ensure_qemu()?;
    system::ensure_tools(&[("fsck.vfat", "dosfstools"), ("mcopy", "mtools")])?;
    system::ensure_files(&[
        (OVMF_CODE, "ovmf"),
        (OVMF_VARS_MS, "ovmf"),
        (OVMF_CODE_PLAIN, "ovmf"),
        (OVMF_VARS_PLAIN, "ovmf"),
    ])?;
    let root = system::workspace_root();
    let work = root.join("target/image-test");
    let _ = std::fs::remove_dir_all(&work);
    std::fs::create_dir_all(&work)?;
    let built = image::run(&ImageOptions {
        out: work.join("stick.img"),
        append: "wisp.auto=all".into(),
        console: Console::Serial,
    })?;
    // A second, different stick plugged in beside the first: it must come
    // out untouched, and the booted stick's ledger must get the certificates.
    let other_stick = image::run(&ImageOptions {
        out: work.join("other-stick.img"),
        append: String::new(),
        console: Console::Serial,
    })?
    .image;
    let wisp = crate::dist::build_static(&root, "wisp", "wisp")?;
    let scenarios = [
        Scenario {
            name: "uefi",
            what: "UEFI with Secure Boot enforcing, wisp.auto=all",
            firmware: Firmware::SecureBootUefi,
            wisp_args: "wisp.auto=all",
            chosen: None,
            other_stick: Some(&other_stick),
            operator: &[],
        },
        Scenario {
            name: "bios",
            what: "legacy BIOS, one drive chosen by serial; the others must stay as they were",
            firmware: Firmware::LegacyBios,
            wisp_args: "wisp.target=serial:NVME0003",
            chosen: Some("NVME0003"),
            other_stick: None,
            operator: &[],
        },
        Scenario {
            name: "interactive",
            what: "UEFI without Secure Boot, an operator choosing every drive on the console",
            firmware: Firmware::Uefi,
            wisp_args: "",
            chosen: None,
            other_stick: None,
            operator: &[
                // Keys queue up: select all, then Enter to the confirmation.
                ("choose drives to ERASE", "a\r"),
                ("Type ERASE and press Enter", "ERASE\r"),
                ("Press Enter to power off", "\r"),
            ],
        },
    ];
    // The operator fills in the stick's settings on an office PC beforehand.
    let settings = work.join("wisp.toml");
    std::fs::write(
        &settings,
        format!("[operator]\nname = \"Test Operator\"\norganization = \"{ORGANIZATION}\"\n"),
    )?;
    system::run(
        Command::new("mcopy")
            .env("MTOOLS_SKIP_CHECK", "1")
            .arg("-o")
            .arg("-i")
            .arg(format!("{}@@{CERTS_OFFSET_MIB}M", built.image.display()))
            .arg(&settings)
            .arg("::/wisp.toml"),
    )?;
    let mut certificates = 0;
    for scenario in &scenarios {
        let dir = work.join(scenario.name);
        set_boot_args(&built.image, &work, scenario.wisp_args)?;
        let disks = make_disks(&dir)?;
        let chosen = |disk: &Disk| scenario.chosen.is_none_or(|serial| serial == disk.serial);
        let untouched: Vec<(&str, Vec<u8>)> = disks
            .iter()
            .filter(|d| !chosen(d))
            .map(|d| Ok((d.serial, std::fs::read(&d.path)?)))
            .collect::<std::io::Result<_>>()?;
        let before = std::fs::read(&built.image)?;
        let other_before = scenario.other_stick.map(std::fs::read).transpose()?;
        eprintln!("image-test: {}", scenario.what);
        boot(
            scenario.firmware,
            &built.image,
            scenario.other_stick,
            &disks,
            &dir,
            &dir.join("console.log"),
            scenario.operator,
        )?;
        for disk in &disks {
            match untouched.iter().find(|(serial, _)| *serial == disk.serial) {
                None => check_wiped(disk)?,
                Some((_, original)) if &std::fs::read(&disk.path)? != original => {
                    bail!(
                        "{} ({}) was not chosen but changed",
                        disk.serial,
                        disk.path.display()
                    )
                }
                Some(_) => {}
            }
        }
        check_stick(&before, &built.image)?;
        if let (Some(path), Some(original)) = (scenario.other_stick, &other_before) {
            if &std::fs::read(path)? != original {
                bail!("the second wisp stick {} was changed", path.display());
            }
        }
        let wiped: Vec<&str> = disks
            .iter()
            .filter(|d| chosen(d))
            .map(|d| d.serial)
            .collect();
        certificates += wiped.len();
        check_ledger(
            &wisp,
            &built.image,
            &built.public_key,
            &dir,
            &wiped,
            certificates,
        )?;
        eprintln!(
            "image-test: {}: {} wiped, certified in the stick's ledger ({certificates} so far)",
            scenario.name,
            wiped.join(", ")
        );
    }
    eprintln!("image-test: passed");
    Ok(())
}

/// One boot of the stick and what it must do.
struct Scenario<'a> {
    name: &'a str,
    what: &'a str,
    firmware: Firmware,
    /// The `wisp.*` words every boot entry gets.
    wisp_args: &'a str,
    /// The one serial to be wiped; `None`: every target.
    chosen: Option<&'a str>,
    /// Another wisp stick plugged in too.
    other_stick: Option<&'a Path>,
    operator: Script<'a>,
}

/// Installs qemu. Debian's qemu-system-x86 breaks a newer backported
/// qemu-utils (some machines have one preinstalled), so qemu-utils is pinned to
/// the same version, downgrading it if need be.
fn ensure_qemu() -> anyhow::Result<()> {
    if system::which("qemu-system-x86_64").is_some() || !system::is_root() {
        return Ok(());
    }
    system::run(Command::new("apt-get").args(["update", "-qq"]))?;
    let policy = system::output(Command::new("apt-cache").args(["policy", "qemu-system-x86"]))?;
    let version = policy
        .lines()
        .find_map(|l| l.trim().strip_prefix("Candidate: "))
        .filter(|v| *v != "(none)")
        .context("apt has no qemu-system-x86 to install")?
        .to_string();
    system::run(
        Command::new("apt-get")
            .args([
                "install",
                "-y",
                "-qq",
                "--no-install-recommends",
                "--allow-downgrades",
            ])
            .arg(format!("qemu-system-x86={version}"))
            .arg(format!("qemu-utils={version}"))
            .args(["ovmf", "seabios"])
            .env("DEBIAN_FRONTEND", "noninteractive"),
    )
}

/// Target disks with a marker in every 4 KiB block, so any block left unwritten shows.
fn make_disks(dir: &Path) -> anyhow::Result<Vec<Disk>> {
    std::fs::create_dir_all(dir)?;
    let mut disks = Vec::new();
    for (bus, serial) in DISKS {
        let path = dir.join(format!("{serial}.img"));
        let mut block = vec![0u8; 4096];
        let mut bytes = Vec::with_capacity((TARGET_MIB << 20) as usize);
        for index in 0..(TARGET_MIB << 20) / 4096 {
            let text = format!(
                "{} {serial} block {index} ",
                String::from_utf8_lossy(PLANTED)
            );
            for (i, byte) in block.iter_mut().enumerate() {
                *byte = text.as_bytes()[i % text.len()];
            }
            bytes.extend_from_slice(&block);
        }
        std::fs::write(&path, &bytes)?;
        disks.push(Disk { bus, serial, path });
    }
    Ok(disks)
}

/// An operator at the serial console: when the console shows `.0`, type `.1`.
/// What is shown is compared without whitespace: a terminal UI places its
/// words with cursor movements, not spaces.
type Script<'a> = &'a [(&'a str, &'a str)];

fn squeeze(text: &str) -> String {
    text.chars().filter(|c| !c.is_whitespace()).collect()
}

/// The printable text of terminal output: escape sequences and whitespace removed.
fn screen_text(bytes: &[u8]) -> String {
    let text = String::from_utf8_lossy(bytes);
    let mut out = String::new();
    let mut chars = text.chars().peekable();
    while let Some(c) = chars.next() {
        if c == '\u{1b}' {
            if chars.peek() == Some(&'[') {
                chars.next();
                // Parameters, then one final byte in @..~.
                for c in chars.by_ref() {
                    if ('@'..='~').contains(&c) {
                        break;
                    }
                }
            } else {
                chars.next();
            }
        } else if !c.is_whitespace() && !c.is_control() {
            out.push(c);
        }
    }
    out
}

fn boot(
    firmware: Firmware,
    stick: &Path,
    other_stick: Option<&Path>,
    disks: &[Disk],
    dir: &Path,
    log: &Path,
    operator: Script,
) -> anyhow::Result<()> {
    let mut qemu = Command::new("qemu-system-x86_64");
    qemu.args([
        "-accel", "tcg", "-m", "1024", "-smp", "2", "-display", "none", "-monitor", "none",
    ])
    .args(["-no-reboot", "-nic", "none", "-serial", "stdio"]);
    match firmware {
        Firmware::SecureBootUefi => {
            let vars = dir.join("OVMF_VARS.fd");
            std::fs::copy(OVMF_VARS_MS, &vars)?;
            qemu.args([
                "-machine",
                "q35,smm=on",
                "-global",
                "driver=cfi.pflash01,property=secure,value=on",
            ])
            .arg("-drive")
            .arg(format!("if=pflash,format=raw,readonly=on,file={OVMF_CODE}"))
            .arg("-drive")
            .arg(format!("if=pflash,format=raw,file={}", vars.display()));
        }
        Firmware::Uefi => {
            let vars = dir.join("OVMF_VARS.fd");
            std::fs::copy(OVMF_VARS_PLAIN, &vars)?;
            qemu.args(["-machine", "q35"])
                .arg("-drive")
                .arg(format!(
                    "if=pflash,format=raw,readonly=on,file={OVMF_CODE_PLAIN}"
                ))
                .arg("-drive")
                .arg(format!("if=pflash,format=raw,file={}", vars.display()));
        }
        Firmware::LegacyBios => {
            qemu.args(["-machine", "q35"]);
        }
    }
    qemu.args(["-device", "qemu-xhci,id=xhci"])
        .arg("-drive")
        .arg(format!(
            "file={},format=raw,if=none,id=stick",
            stick.display()
        ))
        .args([
            "-device",
            "usb-storage,bus=xhci.0,drive=stick,bootindex=0,serial=WISPSTICK",
        ]);
    if let Some(other) = other_stick {
        qemu.arg("-drive")
            .arg(format!(
                "file={},format=raw,if=none,id=other",
                other.display()
            ))
            .args([
                "-device",
                "usb-storage,bus=xhci.0,drive=other,serial=OTHERSTICK",
            ]);
    }
    for (index, disk) in disks.iter().enumerate() {
        let id = format!("t{index}");
        qemu.arg("-drive").arg(format!(
            "file={},format=raw,if=none,id={id},cache=unsafe",
            disk.path.display()
        ));
        let device = match disk.bus {
            Bus::Virtio => format!("virtio-blk-pci,drive={id},serial={}", disk.serial),
            Bus::Ahci => format!("ide-hd,drive={id},bus=ide.{index},serial={}", disk.serial),
            Bus::Nvme => format!("nvme,drive={id},serial={}", disk.serial),
        };
        qemu.arg("-device").arg(device);
    }
    eprintln!(
        "image-test: booting ({}), console in {}",
        match firmware {
            Firmware::SecureBootUefi => "UEFI, Secure Boot",
            Firmware::Uefi => "UEFI without Secure Boot",
            Firmware::LegacyBios => "legacy BIOS",
        },
        log.display()
    );
    let started = Instant::now();
    let mut child = qemu
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .spawn()
        .context("cannot start qemu-system-x86_64")?;
    let console = std::sync::Arc::new(std::sync::Mutex::new(Vec::<u8>::new()));
    let reader = {
        let (console, mut stdout) = (console.clone(), child.stdout.take().expect("piped"));
        let mut file = std::fs::File::create(log)?;
        std::thread::spawn(move || {
            use std::io::{Read, Write};
            let mut buf = [0u8; 4096];
            while let Ok(n @ 1..) = stdout.read(&mut buf) {
                let _ = file.write_all(&buf[..n]);
                console
                    .lock()
                    .expect("not poisoned")
                    .extend_from_slice(&buf[..n]);
            }
        })
    };
    let mut keyboard = child.stdin.take().expect("piped");
    let mut steps = operator.iter();
    let mut step = steps.next();
    let mut seen_until = 0;
    let status = loop {
        if let Some(status) = child.try_wait()? {
            break status;
        }
        if let Some((wait_for, keys)) = step {
            let shown = console.lock().expect("not poisoned").clone();
            if screen_text(&shown[seen_until..]).contains(&squeeze(wait_for)) {
                use std::io::Write;
                seen_until = shown.len();
                // Keys one at a time, as typed: a burst can outrun a serial line's FIFO.
                for key in keys.as_bytes() {
                    keyboard.write_all(&[*key])?;
                    keyboard.flush()?;
                    std::thread::sleep(Duration::from_millis(150));
                }
                step = steps.next();
            }
        }
        if started.elapsed() > BOOT_LIMIT {
            let _ = child.kill();
            let _ = child.wait();
            bail!(
                "the guest did not power off within {BOOT_LIMIT:?}; console:\n{}",
                tail(log)
            );
        }
        std::thread::sleep(Duration::from_millis(200));
    };
    let _ = reader.join();
    eprintln!(
        "image-test: guest powered off after {:.1} s",
        started.elapsed().as_secs_f64()
    );
    if let Some((wait_for, _)) = step {
        bail!(
            "the console never showed {wait_for:?}; console:\n{}",
            tail(log)
        );
    }
    let console = read_log(log);
    if !status.success() {
        bail!("qemu exited with {status}; console:\n{}", tail(log));
    }
    if operator.is_empty() && !console.contains("all drives erased and certified") {
        bail!("the guest did not report success; console:\n{}", tail(log));
    }
    Ok(())
}

/// The console log; firmware and GRUB write bytes that are not UTF-8.
fn read_log(log: &Path) -> String {
    String::from_utf8_lossy(&std::fs::read(log).unwrap_or_default()).into_owned()
}

fn tail(log: &Path) -> String {
    let text = read_log(log);
    let lines: Vec<&str> = text.lines().collect();
    lines[lines.len().saturating_sub(60)..].join("\n")
}

fn check_wiped(disk: &Disk) -> anyhow::Result<()> {
    let bytes = std::fs::read(&disk.path)?;
    if let Some(at) = memfind(&bytes, PLANTED) {
        bail!(
            "{} ({}): a planted marker survived at byte {at}",
            disk.serial,
            disk.path.display()
        );
    }
    if bytes.len() as u64 != TARGET_MIB << 20 {
        bail!("{}: size changed", disk.serial);
    }
    Ok(())
}

fn memfind(haystack: &[u8], needle: &[u8]) -> Option<usize> {
    haystack.windows(needle.len()).position(|w| w == needle)
}

/// Everything outside the certificate partition is as it was before the boot.
fn check_stick(before: &[u8], stick: &Path) -> anyhow::Result<()> {
    let after = std::fs::read(stick)?;
    if after.len() != before.len() {
        bail!("the stick image changed size");
    }
    let (start, end) = (
        (CERTS_OFFSET_MIB << 20) as usize,
        ((CERTS_OFFSET_MIB + CERTS_MIB) << 20) as usize,
    );
    for (name, range) in [
        ("the GPT and the ESP", 0..start),
        ("the backup GPT", end..after.len()),
    ] {
        if after[range.clone()] != before[range.clone()] {
            let at = range
                .clone()
                .find(|&i| after[i] != before[i])
                .unwrap_or(range.start);
            bail!("{name} on the stick changed (first at byte {at})");
        }
    }
    let _ = ESP_OFFSET_MIB;
    Ok(())
}

/// The certificate partition is a clean FAT, its ledger verifies with the
/// public key kept at build time, and it has `expected` certificates naming `serials`.
fn check_ledger(
    wisp: &Path,
    stick: &Path,
    public_key: &Path,
    dir: &Path,
    serials: &[&str],
    expected: usize,
) -> anyhow::Result<()> {
    let partition = dir.join("certs.fat");
    {
        use std::io::{Read, Seek, SeekFrom};
        let mut file = std::fs::File::open(stick)?;
        file.seek(SeekFrom::Start(CERTS_OFFSET_MIB << 20))?;
        let mut bytes = vec![0u8; (CERTS_MIB << 20) as usize];
        file.read_exact(&mut bytes)?;
        std::fs::write(&partition, bytes)?;
    }
    system::run(Command::new("fsck.vfat").arg("-n").arg(&partition))?;
    let copy = dir.join("from-stick");
    let _ = std::fs::remove_dir_all(&copy);
    std::fs::create_dir_all(&copy)?;
    system::run(
        Command::new("mcopy")
            .env("MTOOLS_SKIP_CHECK", "1")
            .args(["-s", "-n", "-i"])
            .arg(&partition)
            .args(["::/ledger", "::/exports", "::/last-run.txt"])
            .arg(&copy),
    )?;
    let ledger = copy.join("ledger");
    system::run(
        Command::new(wisp)
            .args(["certs", "verify", "--ledger"])
            .arg(&ledger)
            .arg("--pubkey")
            .arg(public_key),
    )?;
    let listing = system::output(
        Command::new(wisp)
            .args(["certs", "list", "--json", "--ledger"])
            .arg(&ledger),
    )?;
    let count = listing.lines().filter(|l| !l.trim().is_empty()).count();
    let organizations = listing.matches(ORGANIZATION).count();
    if organizations < count {
        bail!(
            "{} of {count} certificates name the organization from wisp.toml:\n{listing}",
            organizations
        );
    }
    if count != expected {
        bail!("the stick's ledger holds {count} certificate(s), expected {expected}:\n{listing}");
    }
    let csv = std::fs::read_to_string(copy.join("exports/certificates.csv"))?;
    for serial in serials {
        if !listing.contains(serial) || !csv.contains(serial) {
            bail!("no certificate names serial {serial}:\n{listing}");
        }
    }
    Ok(())
}

/// Gives every boot entry (GRUB's and syslinux's) other `wisp.*` kernel
/// arguments, in place, through mtools.
fn set_boot_args(stick: &Path, work: &Path, wisp_args: &str) -> anyhow::Result<()> {
    let image_arg = format!("{}@@{}M", stick.display(), ESP_OFFSET_MIB);
    let mtools = |tool: &str| {
        let mut command = Command::new(tool);
        command.env("MTOOLS_SKIP_CHECK", "1");
        command
    };
    for file in [
        "/syslinux/syslinux.cfg",
        "/EFI/BOOT/grub.cfg",
        "/EFI/debian/grub.cfg",
    ] {
        let current =
            system::output(mtools("mtype").args(["-i", &image_arg, &format!("::{file}")]))?;
        let changed: String = current
            .lines()
            .map(|line| {
                let trimmed = line.trim_start();
                match ["APPEND ", "linux "]
                    .iter()
                    .find(|p| trimmed.starts_with(*p))
                {
                    Some(prefix) => {
                        let indent = &line[..line.len() - trimmed.len()];
                        let kept: Vec<&str> = trimmed[prefix.len()..]
                            .split_whitespace()
                            .filter(|w| !w.starts_with("wisp.") || w.starts_with("wisp.stick="))
                            .collect();
                        format!("{indent}{prefix}{} {wisp_args}\n", kept.join(" "))
                    }
                    None => format!("{line}\n"),
                }
            })
            .collect();
        let local = work.join("boot-entry.cfg");
        std::fs::write(&local, changed)?;
        system::run(
            mtools("mcopy")
                .args(["-o", "-i", &image_arg])
                .arg(&local)
                .arg(format!("::{file}")),
        )?;
    }
    Ok(())
}
