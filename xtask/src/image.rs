//! `cargo xtask image`: the bootable USB wipe stick, as a raw GPT disk image.
//!
//! Everything comes from Debian packages and this workspace, and nothing needs
//! root but apt-get: the kernel package is downloaded, not installed; the
//! initramfs is written here as a newc archive (so `/dev/console` needs no
//! mknod); FAT filesystems are made and filled with mtools; partitions with
//! sfdisk. No loop device, no mount.
//!
//! Layout (98 MiB):
//! - p1, ESP, FAT32, 64 MiB: shim (Debian-signed, for Secure Boot) as
//!   `EFI/BOOT/BOOTX64.EFI` with Debian's signed GRUB beside it, syslinux for
//!   legacy BIOS (`gptmbr.bin` in the MBR, the partition marked
//!   LegacyBIOSBootable), the kernel and the initramfs.
//! - p2, basic data, FAT16, 32 MiB, label WISPCERTS: the marker, `wisp.toml`,
//!   the certificate ledger (its signing key made at build time) and exports.
//!   A separate partition because Windows gives an ESP no drive letter.

use std::io::Write;
use std::path::{Path, PathBuf};
use std::process::Command;

use anyhow::{bail, Context};

use crate::system;

pub const ESP_OFFSET_MIB: u64 = 1;
pub const ESP_MIB: u64 = 64;
pub const CERTS_OFFSET_MIB: u64 = ESP_OFFSET_MIB + ESP_MIB;
pub const CERTS_MIB: u64 = 32;
/// 1 MiB at the end for the backup GPT.
pub const IMAGE_MIB: u64 = CERTS_OFFSET_MIB + CERTS_MIB + 1;

const SHIM: &str = "/usr/lib/shim/shimx64.efi.signed";
const MOK_MANAGER: &str = "/usr/lib/shim/mmx64.efi.signed";
const GRUB: &str = "/usr/lib/grub/x86_64-efi-signed/grubx64.efi.signed";
const GPT_MBR: &str = "/usr/lib/syslinux/mbr/gptmbr.bin";

/// Tools and files the build needs, with the Debian package providing each.
const IMAGE_NEEDS: &[(&str, &str)] = &[
    ("dpkg-deb", "dpkg"),
    ("depmod", "kmod"),
    ("mkfs.vfat", "dosfstools"),
    ("mcopy", "mtools"),
    ("sfdisk", "fdisk"),
    ("syslinux", "syslinux"),
];
const IMAGE_FILES: &[(&str, &str)] = &[
    (SHIM, "shim-signed"),
    (MOK_MANAGER, "shim-signed"),
    (GRUB, "grub-efi-amd64-signed"),
    (GPT_MBR, "syslinux-common"),
];

/// Kernel modules the stick may need, by directory under `kernel/`: storage
/// controllers and buses, USB (the stick itself and keyboards), the FAT
/// filesystem. `depmod`'s closure adds what these depend on.
const MODULE_DIRS: &[&str] = &[
    "drivers/ata",
    "drivers/nvme",
    "drivers/scsi",
    "drivers/block/virtio_blk.ko",
    "drivers/virtio",
    "drivers/mmc",
    "drivers/usb/host",
    "drivers/usb/storage",
    "drivers/hid/hid-generic.ko",
    "drivers/hid/usbhid",
    "drivers/message/fusion",
    "fs/fat",
    "fs/nls",
    "crypto/crct10dif_generic.ko",
];

/// Modules left out even when a directory above holds them: they invent disks.
const NEVER: &[&str] = &["scsi_debug"];

/// How the kernel's console is set up: the last `console=` is `/dev/console`,
/// where the front end draws.
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum Console {
    /// The screen, with kernel messages on the first serial port too.
    Screen,
    /// The first serial port (for tests and headless machines).
    Serial,
}

pub struct ImageOptions {
    pub out: PathBuf,
    /// Extra kernel command line words (`wisp.auto=all`, `wisp.target=serial:X`).
    pub append: String,
    pub console: Console,
}

pub struct Built {
    pub image: PathBuf,
    pub public_key: PathBuf,
}

pub fn run(options: &ImageOptions) -> anyhow::Result<Built> {
    let root = system::workspace_root();
    let work = root.join("target/image");
    std::fs::create_dir_all(&work)?;
    if let Some(parent) = options.out.parent() {
        std::fs::create_dir_all(parent)?;
    }
    system::ensure_tools(IMAGE_NEEDS)?;
    system::ensure_files(IMAGE_FILES)?;
    let (init, wisp) = build_binaries(&root)?;
    let kernel = fetch_kernel(&work.join("cache"))?;
    let stage = work.join("initrd");
    let modules = stage_modules(&kernel, &work.join("modules"))?;
    let initrd = work.join("initrd.img");
    write_initrd(&init, &modules, &initrd)?;
    eprintln!(
        "image: initramfs {} ({} modules)",
        human(std::fs::metadata(&initrd)?.len()),
        modules.count
    );
    let _ = std::fs::remove_dir_all(&stage);

    // Names this build on its kernel command line, so that with two sticks in
    // a machine, the one booted from is the one whose ledger is written.
    let mut id = [0u8; 8];
    std::io::Read::read_exact(&mut std::fs::File::open("/dev/urandom")?, &mut id)?;
    let image_id: String = id.iter().map(|b| format!("{b:02x}")).collect();
    let cmdline = format!("{} wisp.stick={image_id}", kernel_cmdline(options));
    let esp = work.join("esp.fat");
    build_esp(&esp, &kernel.vmlinuz, &initrd, &cmdline)?;
    let certs = work.join("certs.fat");
    let public_key = options.out.with_extension("pub");
    build_certs_partition(&certs, &wisp, &work, &public_key, &image_id)?;
    assemble(&options.out, &esp, &certs)?;
    eprintln!(
        "image: {} ({}), kernel {}; the stick's public key is {}",
        options.out.display(),
        human(IMAGE_MIB << 20),
        kernel.release,
        public_key.display()
    );
    Ok(Built {
        image: options.out.clone(),
        public_key,
    })
}

/// The static `wisp-init` for the initramfs and the static `wisp` that makes
/// the stick's keys.
fn build_binaries(root: &Path) -> anyhow::Result<(PathBuf, PathBuf)> {
    let init = crate::dist::build_static(root, "wisp-boot", "wisp-init")?;
    let wisp = crate::dist::build_static(root, "wisp", "wisp")?;
    Ok((init, wisp))
}

pub struct Kernel {
    pub release: String,
    /// The extracted package: `boot/vmlinuz-*`, `lib/modules/<release>/`.
    pub tree: PathBuf,
    pub vmlinuz: PathBuf,
}

/// Downloads the package `linux-image-amd64` points at (cached), extracts it
/// and runs depmod on it. Resolved through the metapackage because Debian
/// retires old ABI versions from the mirror.
fn fetch_kernel(cache: &Path) -> anyhow::Result<Kernel> {
    std::fs::create_dir_all(cache)?;
    let ask = || system::output(Command::new("apt-cache").args(["depends", "linux-image-amd64"]));
    let depends = match ask() {
        Ok(text) => text,
        // A fresh machine may have no package lists yet.
        Err(_) if system::is_root() => {
            system::run(Command::new("apt-get").args(["update", "-qq"]))?;
            ask()?
        }
        Err(err) => {
            return Err(
                err.context("apt-cache cannot resolve linux-image-amd64: run apt-get update")
            )
        }
    };
    let package = depends
        .lines()
        .filter_map(|l| l.trim().strip_prefix("Depends: "))
        .find(|p| {
            p.starts_with("linux-image-") && p.as_bytes().get(12).is_some_and(u8::is_ascii_digit)
        })
        .context("linux-image-amd64 names no kernel package")?
        .to_string();
    let deb = match find_deb(cache, &package)? {
        Some(deb) => deb,
        None => {
            system::run(
                Command::new("apt-get")
                    .current_dir(cache)
                    .args(["download", &package]),
            )?;
            find_deb(cache, &package)?
                .with_context(|| format!("apt-get download {package} left no .deb"))?
        }
    };
    let tree = cache.join(&package);
    if !tree.join(".complete").exists() {
        let _ = std::fs::remove_dir_all(&tree);
        system::run(Command::new("dpkg-deb").arg("-x").arg(&deb).arg(&tree))?;
        std::fs::write(tree.join(".complete"), b"")?;
    }
    let release = package.trim_start_matches("linux-image-").to_string();
    let vmlinuz = tree.join(format!("boot/vmlinuz-{release}"));
    if !vmlinuz.exists() {
        bail!("{} has no {}", deb.display(), vmlinuz.display());
    }
    if !tree
        .join(format!("lib/modules/{release}/modules.dep"))
        .exists()
    {
        system::run(Command::new("depmod").arg("-b").arg(&tree).arg(&release))?;
    }
    Ok(Kernel {
        release,
        tree,
        vmlinuz,
    })
}

fn find_deb(dir: &Path, package: &str) -> anyhow::Result<Option<PathBuf>> {
    let prefix = format!("{package}_");
    for entry in std::fs::read_dir(dir)? {
        let entry = entry?;
        let name = entry.file_name().to_string_lossy().into_owned();
        if name.starts_with(&prefix) && name.ends_with(".deb") {
            return Ok(Some(entry.path()));
        }
    }
    Ok(None)
}

pub struct StagedModules {
    /// The release's module directory, filtered: `lib/modules/<release>/…`.
    pub root: PathBuf,
    pub release: String,
    pub count: usize,
}

/// Copies the chosen modules and their dependency closure, and writes
/// `modules.dep` and `modules.alias` for just those.
fn stage_modules(kernel: &Kernel, out: &Path) -> anyhow::Result<StagedModules> {
    let source = kernel.tree.join("lib/modules").join(&kernel.release);
    let dep_text = std::fs::read_to_string(source.join("modules.dep"))?;
    let alias_text = std::fs::read_to_string(source.join("modules.alias"))?;
    let mut deps: std::collections::BTreeMap<String, Vec<String>> = Default::default();
    for line in dep_text.lines() {
        if let Some((module, rest)) = line.split_once(':') {
            deps.insert(
                module.to_string(),
                rest.split_ascii_whitespace().map(str::to_string).collect(),
            );
        }
    }
    let never = |file: &str| NEVER.iter().any(|n| module_name(file) == *n);
    let mut chosen: std::collections::BTreeSet<String> = Default::default();
    for module in deps.keys() {
        let wanted = MODULE_DIRS.iter().any(|dir| {
            let dir = format!("kernel/{dir}");
            module == &dir || module.starts_with(&format!("{dir}/"))
        });
        if wanted && !never(module) {
            chosen.insert(module.clone());
            chosen.extend(deps[module].iter().cloned());
        }
    }
    let _ = std::fs::remove_dir_all(out);
    let staged = out.join("lib/modules").join(&kernel.release);
    let mut dep_out = String::new();
    for module in &chosen {
        let target = staged.join(module);
        std::fs::create_dir_all(target.parent().expect("a module has a directory"))?;
        std::fs::copy(source.join(module), &target)
            .with_context(|| format!("cannot copy {module}"))?;
        dep_out.push_str(&format!("{module}: {}\n", deps[module].join(" ")));
    }
    let names: std::collections::BTreeSet<String> = chosen.iter().map(|m| module_name(m)).collect();
    let alias_out: String = alias_text
        .lines()
        .filter(|line| {
            line.split_ascii_whitespace()
                .nth(2)
                .is_some_and(|m| names.contains(&m.replace('-', "_")))
        })
        .map(|line| format!("{line}\n"))
        .collect();
    std::fs::write(staged.join("modules.dep"), dep_out)?;
    std::fs::write(staged.join("modules.alias"), alias_out)?;
    Ok(StagedModules {
        root: out.to_path_buf(),
        release: kernel.release.clone(),
        count: chosen.len(),
    })
}

fn module_name(file: &str) -> String {
    let base = file.rsplit('/').next().unwrap_or(file);
    base.split(".ko").next().unwrap_or(base).replace('-', "_")
}

/// The initramfs: `/init`, the staged modules, the mount points and
/// `/dev/console`, as a gzip'd newc archive written here (no cpio, no root).
fn write_initrd(init: &Path, modules: &StagedModules, out: &Path) -> anyhow::Result<()> {
    let file = std::fs::File::create(out)?;
    let gz = flate2::write::GzEncoder::new(file, flate2::Compression::best());
    let mut archive = Newc::new(gz);
    for dir in ["dev", "proc", "sys", "run", "stick", "lib", "lib/modules"] {
        archive.directory(dir)?;
    }
    archive.char_device("dev/console", 0o600, 5, 1)?;
    archive.file("init", 0o755, &std::fs::read(init)?)?;
    let mut entries = Vec::new();
    collect(&modules.root.join("lib/modules"), &mut entries)?;
    entries.sort();
    for path in entries {
        let relative = path
            .strip_prefix(&modules.root)?
            .to_string_lossy()
            .into_owned();
        if path.is_dir() {
            archive.directory(&relative)?;
        } else {
            archive.file(&relative, 0o644, &std::fs::read(&path)?)?;
        }
    }
    let gz = archive.finish()?;
    gz.finish()?.sync_all()?;
    let _ = &modules.release;
    Ok(())
}

fn collect(dir: &Path, out: &mut Vec<PathBuf>) -> anyhow::Result<()> {
    for entry in std::fs::read_dir(dir)? {
        let path = entry?.path();
        out.push(path.clone());
        if path.is_dir() {
            collect(&path, out)?;
        }
    }
    Ok(())
}

/// A writer of the kernel's initramfs format (cpio "newc"), every entry owned
/// by root with a fixed time, so the archive depends only on its contents.
struct Newc<W: Write> {
    out: W,
    written: u64,
    inode: u32,
}

impl<W: Write> Newc<W> {
    fn new(out: W) -> Self {
        Newc {
            out,
            written: 0,
            inode: 1,
        }
    }

    fn entry(
        &mut self,
        name: &str,
        mode: u32,
        rdev: (u32, u32),
        data: &[u8],
    ) -> std::io::Result<()> {
        let header = format!(
            "070701{:08x}{:08x}{:08x}{:08x}{:08x}{:08x}{:08x}{:08x}{:08x}{:08x}{:08x}{:08x}{:08x}",
            self.inode,
            mode,
            0,
            0,
            1,
            0,
            data.len(),
            0,
            0,
            rdev.0,
            rdev.1,
            name.len() + 1,
            0
        );
        self.inode += 1;
        self.write(header.as_bytes())?;
        self.write(name.as_bytes())?;
        self.write(&[0])?;
        self.pad()?;
        self.write(data)?;
        self.pad()
    }

    fn write(&mut self, bytes: &[u8]) -> std::io::Result<()> {
        self.out.write_all(bytes)?;
        self.written += bytes.len() as u64;
        Ok(())
    }

    fn pad(&mut self) -> std::io::Result<()> {
        let padding = (4 - self.written % 4) % 4;
        self.write(&[0u8; 3][..padding as usize])
    }

    fn directory(&mut self, name: &str) -> std::io::Result<()> {
        self.entry(name, 0o040_755, (0, 0), &[])
    }

    fn file(&mut self, name: &str, permissions: u32, data: &[u8]) -> std::io::Result<()> {
        self.entry(name, 0o100_000 | permissions, (0, 0), data)
    }

    fn char_device(
        &mut self,
        name: &str,
        permissions: u32,
        major: u32,
        minor: u32,
    ) -> std::io::Result<()> {
        self.entry(name, 0o020_000 | permissions, (major, minor), &[])
    }

    fn finish(mut self) -> std::io::Result<W> {
        self.entry("TRAILER!!!", 0, (0, 0), &[])?;
        Ok(self.out)
    }
}

fn kernel_cmdline(options: &ImageOptions) -> String {
    let console = match options.console {
        Console::Screen => "console=ttyS0,115200 console=tty0",
        Console::Serial => "console=tty0 console=ttyS0,115200",
    };
    // loglevel=3: only errors reach the console, so driver chatter (a probe of a
    // non-FAT partition, a USB reset) does not scribble over the front end.
    let mut cmdline = format!("{console} loglevel=3");
    if !options.append.trim().is_empty() {
        cmdline.push(' ');
        cmdline.push_str(options.append.trim());
    }
    cmdline
}

fn grub_cfg(cmdline: &str) -> String {
    format!(
        "set timeout=3\nset default=0\n\
menuentry 'wisp: erase drives (choose on screen)' {{\n  linux /vmlinuz {cmdline}\n  initrd /initrd.img\n}}\n\
menuentry 'Power off' {{\n  halt\n}}\n"
    )
}

fn syslinux_cfg(cmdline: &str) -> String {
    format!(
        "DEFAULT wisp\nPROMPT 0\nTIMEOUT 30\nLABEL wisp\n  KERNEL /vmlinuz\n  INITRD /initrd.img\n  APPEND {cmdline}\n"
    )
}

/// mtools with its config checks off (images have no drive letter).
fn mtools(tool: &str) -> Command {
    let mut command = Command::new(tool);
    command.env("MTOOLS_SKIP_CHECK", "1");
    command
}

fn copy_into(fat: &Path, from: &Path, to: &str) -> anyhow::Result<()> {
    system::run(
        mtools("mcopy")
            .arg("-o")
            .arg("-i")
            .arg(fat)
            .arg(from)
            .arg(format!("::{to}")),
    )
}

fn make_dirs(fat: &Path, dirs: &[&str]) -> anyhow::Result<()> {
    for dir in dirs {
        system::run(mtools("mmd").arg("-i").arg(fat).arg(format!("::{dir}")))?;
    }
    Ok(())
}

fn build_esp(esp: &Path, vmlinuz: &Path, initrd: &Path, cmdline: &str) -> anyhow::Result<()> {
    let _ = std::fs::remove_file(esp);
    system::run(
        Command::new("mkfs.vfat")
            .args(["-F", "32", "-n", "WISPBOOT", "-C"])
            .arg(esp)
            .arg((ESP_MIB * 1024).to_string()),
    )?;
    make_dirs(esp, &["/EFI", "/EFI/BOOT", "/EFI/debian", "/syslinux"])?;
    let work = esp.parent().expect("in target/image");
    let grub = work.join("grub.cfg");
    std::fs::write(&grub, grub_cfg(cmdline))?;
    let syslinux = work.join("syslinux.cfg");
    std::fs::write(&syslinux, syslinux_cfg(cmdline))?;
    // No fbx64.efi: shim would run the fallback, which rewrites NVRAM and resets.
    copy_into(esp, Path::new(SHIM), "/EFI/BOOT/BOOTX64.EFI")?;
    copy_into(esp, Path::new(GRUB), "/EFI/BOOT/grubx64.efi")?;
    copy_into(esp, Path::new(MOK_MANAGER), "/EFI/BOOT/mmx64.efi")?;
    copy_into(esp, &grub, "/EFI/BOOT/grub.cfg")?;
    copy_into(esp, &grub, "/EFI/debian/grub.cfg")?;
    copy_into(esp, vmlinuz, "/vmlinuz")?;
    copy_into(esp, initrd, "/initrd.img")?;
    copy_into(esp, &syslinux, "/syslinux/syslinux.cfg")?;
    // syslinux installs into a FAT image file through mtools: no mount.
    system::run(
        Command::new("syslinux")
            .args(["--install", "--directory", "/syslinux"])
            .arg(esp),
    )
}

const STICK_README: &str = "This is a wisp boot stick's certificate partition.\r\n\
\r\n\
Before booting: edit wisp.toml (operator, organization, default method).\r\n\
After wiping: exports/certificates.pdf, .csv and .json list every drive erased;\r\n\
ledger/ is the signed certificate ledger. Verify it on any computer with wisp:\r\n\
\r\n\
    wisp certs verify --ledger <this drive>/ledger --pubkey wisp-usb.pub\r\n\
\r\n\
using the public key kept from when the stick was built (not the copy on the stick).\r\n\
last-run.txt is the outcome of the most recent boot.\r\n";

fn build_certs_partition(
    fat: &Path,
    wisp: &Path,
    work: &Path,
    public_key_out: &Path,
    image_id: &str,
) -> anyhow::Result<()> {
    let _ = std::fs::remove_file(fat);
    // FAT16: mtools cannot handle FAT32 this small, and every OS reads FAT16.
    system::run(
        Command::new("mkfs.vfat")
            .args(["-F", "16", "-n", "WISPCERTS", "-C"])
            .arg(fat)
            .arg((CERTS_MIB * 1024).to_string()),
    )?;
    let ledger = work.join("ledger");
    let _ = std::fs::remove_dir_all(&ledger);
    system::run(
        Command::new(wisp)
            .args(["certs", "keygen", "--ledger"])
            .arg(&ledger),
    )?;
    let public = std::fs::read_dir(&ledger)?
        .filter_map(|e| e.ok().map(|e| e.path()))
        .find(|p| p.extension().is_some_and(|x| x == "pub"))
        .context("wisp certs keygen wrote no public key")?;
    std::fs::copy(&public, public_key_out)?;
    let marker = work.join(boot::MARKER_FILE);
    std::fs::write(&marker, format!("{image_id}\r\n"))?;
    let config = work.join("wisp.toml");
    std::fs::write(&config, boot::config::TEMPLATE.replace('\n', "\r\n"))?;
    let readme = work.join("README.TXT");
    std::fs::write(&readme, STICK_README)?;
    make_dirs(fat, &["/exports"])?;
    copy_into(fat, &marker, &format!("/{}", boot::MARKER_FILE))?;
    copy_into(fat, &config, "/wisp.toml")?;
    copy_into(fat, &readme, "/README.TXT")?;
    system::run(
        mtools("mcopy")
            .arg("-s")
            .arg("-i")
            .arg(fat)
            .arg(&ledger)
            .arg("::/"),
    )?;
    Ok(())
}

fn assemble(out: &Path, esp: &Path, certs: &Path) -> anyhow::Result<()> {
    use std::io::{Seek, SeekFrom};
    if let Some(parent) = out.parent() {
        std::fs::create_dir_all(parent)?;
    }
    let _ = std::fs::remove_file(out);
    let image = std::fs::File::create(out)?;
    image.set_len(IMAGE_MIB << 20)?;
    drop(image);
    let layout = format!(
        "label: gpt\nstart={ESP_OFFSET_MIB}MiB,size={ESP_MIB}MiB,type=uefi,name=ESP\nstart={CERTS_OFFSET_MIB}MiB,size={CERTS_MIB}MiB,type=EBD0A0A2-B9E5-4433-87C0-68B6B72699C7,name={}\n",
        "WISPCERTS"
    );
    let mut sfdisk = Command::new("sfdisk");
    sfdisk
        .arg("--quiet")
        .arg(out)
        .stdin(std::process::Stdio::piped());
    eprintln!("$ sfdisk {}", out.display());
    let mut child = sfdisk.spawn().context("cannot start sfdisk")?;
    child
        .stdin
        .take()
        .expect("piped")
        .write_all(layout.as_bytes())?;
    if !child.wait()?.success() {
        bail!("sfdisk could not partition {}", out.display());
    }
    system::run(
        Command::new("sfdisk")
            .args(["--part-attrs"])
            .arg(out)
            .args(["1", "LegacyBIOSBootable"]),
    )?;
    let mut image = std::fs::OpenOptions::new().write(true).open(out)?;
    for (fat, offset) in [(esp, ESP_OFFSET_MIB), (certs, CERTS_OFFSET_MIB)] {
        image.seek(SeekFrom::Start(offset << 20))?;
        std::io::copy(&mut std::fs::File::open(fat)?, &mut image)?;
    }
    // The BIOS boot code: 440 bytes, before the protective MBR's partition table.
    let mbr = std::fs::read(GPT_MBR)?;
    image.seek(SeekFrom::Start(0))?;
    image.write_all(&mbr[..440.min(mbr.len())])?;
    image.sync_all()?;
    verify_layout(out)
}

/// sfdisk must have written the table we asked for (another partitioner was
/// once seen to write nothing and still exit 0).
fn verify_layout(image: &Path) -> anyhow::Result<()> {
    let dump = system::output(Command::new("sfdisk").arg("--dump").arg(image))?;
    let starts: Vec<u64> = dump
        .lines()
        .filter_map(|l| l.split("start=").nth(1))
        .filter_map(|s| s.split(',').next()?.trim().parse().ok())
        .collect();
    let expected = [ESP_OFFSET_MIB * 2048, CERTS_OFFSET_MIB * 2048];
    if starts != expected {
        bail!(
            "{}: partitions start at sectors {starts:?}, expected {expected:?}",
            image.display()
        );
    }
    Ok(())
}

fn human(bytes: u64) -> String {
    format!("{:.1} MiB", bytes as f64 / (1u64 << 20) as f64)
}
