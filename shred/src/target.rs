//! What can be wiped, whether it may be, and opening it for destructive writes.
//!
//! This module is the only place in wisp that opens a target for writing.

use std::fs::{File, OpenOptions};
use std::os::unix::fs::{FileTypeExt, MetadataExt, OpenOptionsExt};
use std::path::{Path, PathBuf};

use std::ffi::OsStr;
use std::os::fd::AsFd;

use nix::fcntl::OFlag;
use nix::sys::stat::Mode;
use serde::Serialize;

use crate::discovery::{BlockDevice, DevNum, Hazard, Usage};
use crate::error::ShredError;

/// Filesystems that do not overwrite file data in place (copy-on-write, log
/// structured) or may keep old blocks in snapshots, by statfs magic number.
const COPY_ON_WRITE: [(i64, &str); 6] = [
    (0x9123_683e, "btrfs"),
    (0x2fc1_2fc1, "zfs"),
    (0xca45_1a4e, "bcachefs"),
    (0xf2f5_2010, "f2fs"),
    (0x3434, "nilfs2"),
    (0x6e66_7364, "nfs"),
];
const KNOWN_FILESYSTEMS: [(i64, &str); 8] = [
    (0xef53, "ext4"),
    (0x5846_5342, "xfs"),
    (0x0102_1994, "tmpfs"),
    (0x4d44, "vfat"),
    (0x2011_bab0, "exfat"),
    (0x5346_544e, "ntfs"),
    (0x7461_636f, "ocfs2"),
    (0x6573_5546, "fuse"),
];

/// A regular file to overwrite in place.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct FileTarget {
    pub path: PathBuf,
    pub size_bytes: u64,
    pub inode: u64,
    pub device: DevNum,
    pub hard_links: u64,
    pub filesystem: String,
    /// Copy-on-write or log-structured: overwriting may leave the old blocks.
    pub copy_on_write: bool,
    /// The filesystem's block size: writes cover the file's last block whole.
    pub block: u64,
}

/// A block device (whole disk or partition) to overwrite.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct DeviceTarget {
    pub path: PathBuf,
    /// The whole disk this is, or holds this partition.
    pub disk: BlockDevice,
    /// Set when the target is a partition of `disk`.
    pub partition: Option<String>,
    pub size_bytes: u64,
    pub block: u64,
    /// What uses this target (for a partition: only what uses that partition).
    pub usage: Vec<Usage>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(tag = "kind", rename_all = "kebab-case")]
pub enum Target {
    // Boxed: a device carries its whole discovery record; files are the many.
    Device(Box<DeviceTarget>),
    File(FileTarget),
}

impl Target {
    pub fn path(&self) -> &Path {
        match self {
            Target::Device(d) => &d.path,
            Target::File(f) => &f.path,
        }
    }

    /// The bytes a pass covers: the device, or the file rounded up to whole blocks.
    pub fn span(&self) -> u64 {
        match self {
            Target::Device(d) => d.size_bytes,
            Target::File(f) => f.size_bytes.div_ceil(f.block) * f.block,
        }
    }

    pub fn block(&self) -> u64 {
        match self {
            Target::Device(d) => d.block,
            Target::File(f) => f.block,
        }
    }

    /// Why wiping this would harm the running system or data in use, if it would.
    pub fn hazards(&self) -> Vec<Hazard> {
        match self {
            Target::Device(d) => {
                let mut hazards: Vec<Hazard> = d.usage.iter().map(Usage::hazard).collect();
                hazards.sort();
                hazards.dedup();
                hazards
            }
            Target::File(_) => Vec::new(),
        }
    }
}

/// Whether the operator has explicitly accepted the risks a target carries.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Force {
    No,
    Yes,
}

/// Finds what `path` names: a block device among `devices`, or a regular file.
/// Symbolic links are followed only to block devices (`/dev/disk/by-id/…`): a
/// file is wiped only when named directly, so a planted link cannot redirect it.
pub fn resolve(path: &Path, devices: &[BlockDevice]) -> Result<Target, ShredError> {
    let io = |source| ShredError::Io {
        path: path.to_path_buf(),
        source,
    };
    let link = std::fs::symlink_metadata(path).map_err(io)?;
    let followed = if link.file_type().is_symlink() {
        std::fs::metadata(path).map_err(io)?
    } else {
        link.clone()
    };
    if followed.file_type().is_block_device() {
        let devnum = DevNum::from_dev_t(followed.rdev());
        return device_target(path, devnum, devices);
    }
    if link.file_type().is_symlink() {
        return Err(ShredError::Unsupported {
            path: path.to_path_buf(),
            why: "is a symbolic link; name the file itself".into(),
        });
    }
    if link.is_dir() {
        return Err(ShredError::Unsupported {
            path: path.to_path_buf(),
            why: "is a directory (use --recursive)".into(),
        });
    }
    if !link.is_file() {
        return Err(ShredError::Unsupported {
            path: path.to_path_buf(),
            why: "is neither a regular file nor a block device".into(),
        });
    }
    let (filesystem, copy_on_write) = filesystem_of(path)?;
    Ok(Target::File(FileTarget {
        path: path.to_path_buf(),
        size_bytes: link.len(),
        inode: link.ino(),
        device: DevNum::from_dev_t(link.dev()),
        hard_links: link.nlink(),
        filesystem,
        copy_on_write,
        block: link.blksize().max(512),
    }))
}

fn device_target(
    path: &Path,
    devnum: DevNum,
    devices: &[BlockDevice],
) -> Result<Target, ShredError> {
    for disk in devices {
        if disk.devnum == devnum {
            return Ok(Target::Device(Box::new(DeviceTarget {
                path: disk.path.clone(),
                disk: disk.clone(),
                partition: None,
                size_bytes: disk.size_bytes,
                block: u64::from(disk.logical_sector_size.max(512)),
                usage: disk.usage.clone(),
            })));
        }
        if let Some(part) = disk.partitions.iter().find(|p| p.devnum == devnum) {
            // A partition is in use if it is, or if the disk holds the system.
            let usage = disk
                .usage
                .iter()
                .filter(|u| match u {
                    Usage::Mounted { device, .. }
                    | Usage::Swap { device }
                    | Usage::Held { device, .. } => device == &part.path,
                    Usage::RootFilesystem { device } | Usage::Boot { device, .. } => {
                        device == &part.path
                    }
                })
                .cloned()
                .collect();
            return Ok(Target::Device(Box::new(DeviceTarget {
                path: part.path.clone(),
                disk: disk.clone(),
                partition: Some(part.name.clone()),
                size_bytes: part.size_bytes,
                block: u64::from(disk.logical_sector_size.max(512)),
                usage,
            })));
        }
    }
    Err(ShredError::Unsupported {
        path: path.to_path_buf(),
        why: format!("block device {devnum} is not listed in /sys/block"),
    })
}

fn filesystem_of(path: &Path) -> Result<(String, bool), ShredError> {
    let stat = nix::sys::statfs::statfs(path).map_err(|errno| ShredError::Io {
        path: path.to_path_buf(),
        source: errno.into(),
    })?;
    Ok(filesystem_kind(&stat))
}

fn filesystem_kind(stat: &nix::sys::statfs::Statfs) -> (String, bool) {
    // The field's type differs between C libraries (glibc, musl).
    #[allow(clippy::unnecessary_cast)]
    let magic = stat.filesystem_type().0 as i64;
    if let Some((_, name)) = COPY_ON_WRITE.iter().find(|(m, _)| *m == magic) {
        return (name.to_string(), true);
    }
    let name = KNOWN_FILESYSTEMS
        .iter()
        .find(|(m, _)| *m == magic)
        .map_or_else(|| format!("0x{magic:x}"), |(_, name)| name.to_string());
    (name, false)
}

/// Refuses targets that are in use, read-only or hard-linked unless forced.
pub fn check_safe(target: &Target, force: Force) -> Result<(), ShredError> {
    let refuse = |why: String| {
        Err(ShredError::Refused {
            path: target.path().to_path_buf(),
            why,
        })
    };
    match target {
        Target::Device(device) => {
            if device.disk.read_only {
                return refuse("is read-only".into());
            }
            let hazards = target.hazards();
            if !hazards.is_empty() && force == Force::No {
                let what: Vec<String> = device.usage.iter().map(describe_usage).collect();
                return refuse(format!(
                    "is in use: {} (use --force only if you are certain)",
                    what.join("; ")
                ));
            }
        }
        Target::File(file) => {
            if file.hard_links > 1 && force == Force::No {
                return refuse(format!(
                    "has {} other hard links: the data would stay reachable under another name (--force wipes the data anyway)",
                    file.hard_links - 1
                ));
            }
        }
    }
    Ok(())
}

fn describe_usage(usage: &Usage) -> String {
    match usage {
        Usage::Mounted {
            device, mountpoint, ..
        } => {
            format!(
                "{} is mounted on {}",
                device.display(),
                mountpoint.display()
            )
        }
        Usage::Swap { device } => format!("{} is active swap", device.display()),
        Usage::RootFilesystem { device } => {
            format!("{} holds the running root filesystem", device.display())
        }
        Usage::Boot { device, .. } => format!("{} is the boot medium", device.display()),
        Usage::Held { device, holder } => format!("{} is held by {holder}", device.display()),
    }
}

/// How the target is being written.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum IoMode {
    /// O_DIRECT: straight to the device, bypassing the page cache.
    Direct,
    /// Through the page cache (filesystems without O_DIRECT, such as tmpfs), with
    /// fdatasync after each pass.
    Buffered,
}

/// A target open for destructive writes.
pub struct Opened {
    pub file: File,
    pub io: IoMode,
}

/// Opens `target` for reading and writing. Devices are opened O_EXCL (the kernel
/// refuses if anything has them mounted or claimed) unless forced; files with
/// O_NOFOLLOW and re-checked against what was resolved, so a swap between resolving
/// and opening is caught.
pub fn open(target: &Target, force: Force) -> Result<Opened, ShredError> {
    let path = target.path();
    let io = |source| ShredError::Io {
        path: path.to_path_buf(),
        source,
    };
    let mut flags = nix::libc::O_CLOEXEC;
    match target {
        Target::Device(_) if force == Force::No => flags |= nix::libc::O_EXCL,
        Target::Device(_) => {}
        Target::File(_) => flags |= nix::libc::O_NOFOLLOW,
    }
    let attempt = |extra: i32| {
        OpenOptions::new()
            .read(true)
            .write(true)
            .custom_flags(flags | extra)
            .open(path)
    };
    let (file, io_mode) = match attempt(nix::libc::O_DIRECT) {
        Ok(file) => (file, IoMode::Direct),
        Err(err) if err.raw_os_error() == Some(nix::libc::EINVAL) => {
            (attempt(0).map_err(io)?, IoMode::Buffered)
        }
        Err(err) if err.raw_os_error() == Some(nix::libc::EBUSY) => {
            return Err(ShredError::Refused {
                path: path.to_path_buf(),
                why: "is in use by the kernel (mounted, swap or held)".into(),
            })
        }
        Err(err) => return Err(io(err)),
    };
    let meta = file.metadata().map_err(io)?;
    let same = match target {
        Target::Device(d) => {
            let devnum = DevNum::from_dev_t(meta.rdev());
            meta.file_type().is_block_device()
                && (devnum == d.disk.devnum
                    || d.disk
                        .partitions
                        .iter()
                        .any(|p| p.devnum == devnum && Some(&p.name) == d.partition.as_ref()))
        }
        Target::File(f) => {
            meta.is_file() && meta.ino() == f.inode && DevNum::from_dev_t(meta.dev()) == f.device
        }
    };
    if !same {
        return Err(ShredError::Changed {
            path: path.to_path_buf(),
        });
    }
    Ok(Opened { file, io: io_mode })
}

/// The file a caller reached through directory descriptors and decided on.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Expected {
    pub device: u64,
    pub inode: u64,
}

/// Opens the regular file `name` in the open directory `dir` for destructive
/// writes, never through a symbolic link, and only if it is still the file
/// (device, inode) the caller decided on: the race-free way for a sweep, which
/// reaches records through directory descriptors, never by resolving a path
/// again. `shown` is the path reports and certificates name.
pub fn open_at(
    dir: &impl AsFd,
    name: &OsStr,
    shown: &Path,
    expected: Expected,
) -> Result<(Target, Opened), ShredError> {
    let errno = |e: nix::errno::Errno| ShredError::Io {
        path: shown.to_path_buf(),
        source: e.into(),
    };
    let flags =
        OFlag::O_RDWR | OFlag::O_NOFOLLOW | OFlag::O_NOCTTY | OFlag::O_NONBLOCK | OFlag::O_CLOEXEC;
    let (fd, io_mode) = match nix::fcntl::openat(dir, name, flags | OFlag::O_DIRECT, Mode::empty())
    {
        Ok(fd) => (fd, IoMode::Direct),
        Err(nix::errno::Errno::EINVAL) => (
            nix::fcntl::openat(dir, name, flags, Mode::empty()).map_err(errno)?,
            IoMode::Buffered,
        ),
        Err(e) => return Err(errno(e)),
    };
    let file = File::from(fd);
    let meta = file.metadata().map_err(|source| ShredError::Io {
        path: shown.to_path_buf(),
        source,
    })?;
    if !meta.is_file() || meta.dev() != expected.device || meta.ino() != expected.inode {
        return Err(ShredError::Changed {
            path: shown.to_path_buf(),
        });
    }
    let (filesystem, copy_on_write) =
        filesystem_kind(&nix::sys::statfs::fstatfs(&file).map_err(errno)?);
    let target = Target::File(FileTarget {
        path: shown.to_path_buf(),
        size_bytes: meta.len(),
        inode: meta.ino(),
        device: DevNum::from_dev_t(meta.dev()),
        hard_links: meta.nlink(),
        filesystem,
        copy_on_write,
        block: meta.blksize().max(512),
    });
    Ok((target, Opened { file, io: io_mode }))
}
