//! Which block devices exist, what they are, and what is using them.
//!
//! Read from sysfs and procfs (never by shelling out to lsblk), with every root
//! injectable through [`SystemView`] so tests can describe NVMe, SATA or USB
//! machines they do not have.

mod procfs;
mod sysfs;

use std::collections::{BTreeSet, HashMap};
use std::fmt;
use std::path::{Path, PathBuf};
use std::str::FromStr;

use serde::{Serialize, Serializer};

/// A device number, `major:minor`, as in `/sys/block/*/dev` and mountinfo.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct DevNum {
    pub major: u32,
    pub minor: u32,
}

impl DevNum {
    /// Splits a Linux `dev_t` as glibc's `major()`/`minor()` do.
    pub fn from_dev_t(dev: u64) -> DevNum {
        let major = ((dev >> 32) & 0xffff_f000) | ((dev >> 8) & 0x0000_0fff);
        let minor = ((dev >> 12) & 0xffff_ff00) | (dev & 0x0000_00ff);
        DevNum {
            major: major as u32,
            minor: minor as u32,
        }
    }
}

impl fmt::Display for DevNum {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}:{}", self.major, self.minor)
    }
}

impl FromStr for DevNum {
    type Err = ();
    fn from_str(text: &str) -> Result<Self, ()> {
        let (major, minor) = text.trim().split_once(':').ok_or(())?;
        Ok(DevNum {
            major: major.parse().map_err(|_| ())?,
            minor: minor.parse().map_err(|_| ())?,
        })
    }
}

impl Serialize for DevNum {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        serializer.collect_str(self)
    }
}

/// How the device is attached; decides what firmware erase commands could apply
/// and explains to the operator which physical drive this is.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum Transport {
    Sata,
    Nvme,
    Usb,
    Scsi,
    Virtio,
    Mmc,
    Loop,
    DeviceMapper,
    Md,
    Zram,
    Ram,
    Nbd,
    Unknown,
}

impl fmt::Display for Transport {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let name = match self {
            Transport::Sata => "sata",
            Transport::Nvme => "nvme",
            Transport::Usb => "usb",
            Transport::Scsi => "scsi",
            Transport::Virtio => "virtio",
            Transport::Mmc => "mmc",
            Transport::Loop => "loop",
            Transport::DeviceMapper => "dm",
            Transport::Md => "md",
            Transport::Zram => "zram",
            Transport::Ram => "ram",
            Transport::Nbd => "nbd",
            Transport::Unknown => "unknown",
        };
        f.write_str(name)
    }
}

/// A partition of a [`BlockDevice`].
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Partition {
    pub name: String,
    pub path: PathBuf,
    pub devnum: DevNum,
    pub number: Option<u32>,
    /// First sector, in 512-byte units as sysfs reports it.
    pub start_sector: u64,
    pub size_bytes: u64,
    pub read_only: bool,
    pub holders: Vec<String>,
}

/// Why a device is taken to be the medium the running system or tool came from.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(tag = "evidence", rename_all = "kebab-case")]
pub enum BootEvidence {
    /// It holds the filesystem mounted at /boot, /boot/efi or /efi.
    BootMount { mountpoint: PathBuf },
    /// The running wisp executable is stored on it.
    RunningExecutable,
}

/// Something that is using a device, and so makes wiping it destructive to the
/// running system or to data someone is using right now.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(tag = "kind", rename_all = "kebab-case")]
pub enum Usage {
    Mounted {
        device: PathBuf,
        mountpoint: PathBuf,
        fstype: String,
    },
    Swap {
        device: PathBuf,
    },
    RootFilesystem {
        device: PathBuf,
    },
    Boot {
        device: PathBuf,
        #[serde(flatten)]
        evidence: BootEvidence,
    },
    /// Another block device (device mapper, md RAID, bcache) is built on it.
    Held {
        device: PathBuf,
        holder: String,
    },
}

impl Usage {
    pub fn hazard(&self) -> Hazard {
        match self {
            Usage::Mounted { .. } => Hazard::Mounted,
            Usage::Swap { .. } => Hazard::Swap,
            Usage::RootFilesystem { .. } => Hazard::RootFilesystem,
            Usage::Boot { .. } => Hazard::Boot,
            Usage::Held { .. } => Hazard::Holders,
        }
    }
}

/// The kinds of [`Usage`], for short listings and refusal messages.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum Hazard {
    RootFilesystem,
    Boot,
    Mounted,
    Swap,
    Holders,
}

impl fmt::Display for Hazard {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Hazard::RootFilesystem => "root-fs",
            Hazard::Boot => "boot",
            Hazard::Mounted => "mounted",
            Hazard::Swap => "swap",
            Hazard::Holders => "holders",
        })
    }
}

/// A whole block device as listed under `/sys/block`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct BlockDevice {
    pub name: String,
    pub path: PathBuf,
    pub devnum: DevNum,
    pub vendor: Option<String>,
    pub model: Option<String>,
    pub serial: Option<String>,
    pub wwn: Option<String>,
    pub size_bytes: u64,
    pub logical_sector_size: u32,
    pub physical_sector_size: u32,
    pub rotational: bool,
    pub removable: bool,
    pub read_only: bool,
    pub transport: Transport,
    /// For loop devices: the file behind it.
    pub backing_file: Option<PathBuf>,
    pub partitions: Vec<Partition>,
    /// Direct holders of the disk itself (holders of partitions are on the partition).
    pub holders: Vec<String>,
    pub usage: Vec<Usage>,
}

impl BlockDevice {
    /// The distinct kinds of use, most serious first.
    pub fn hazards(&self) -> Vec<Hazard> {
        let set: BTreeSet<Hazard> = self.usage.iter().map(Usage::hazard).collect();
        set.into_iter().collect()
    }

    pub fn is_in_use(&self) -> bool {
        !self.usage.is_empty()
    }
}

/// Whether devices of size zero (unattached loop devices, empty card readers) are listed.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum EmptyDevices {
    Skip,
    Include,
}

/// Where discovery reads the system's state from.
#[derive(Debug, Clone)]
pub struct SystemView {
    /// Usually `/sys/block`.
    pub sys_block: PathBuf,
    /// Usually `/proc/self/mountinfo`.
    pub mountinfo: PathBuf,
    /// Usually `/proc/swaps`.
    pub swaps: PathBuf,
    /// Usually `/dev`; device paths are reported under it.
    pub dev_dir: PathBuf,
    /// The filesystem device holding the running executable, if known.
    pub executable_device: Option<DevNum>,
}

impl SystemView {
    /// The running system.
    pub fn live() -> SystemView {
        let executable_device = std::env::current_exe()
            .ok()
            .and_then(|exe| nix::sys::stat::stat(&exe).ok())
            .map(|st| DevNum::from_dev_t(st.st_dev));
        SystemView {
            sys_block: PathBuf::from("/sys/block"),
            mountinfo: PathBuf::from("/proc/self/mountinfo"),
            swaps: PathBuf::from("/proc/swaps"),
            dev_dir: PathBuf::from("/dev"),
            executable_device,
        }
    }
}

#[derive(Debug, thiserror::Error)]
pub enum DiscoveryError {
    #[error("cannot read {}", path.display())]
    Read {
        path: PathBuf,
        #[source]
        source: std::io::Error,
    },
    #[error("{}, line {line}: {message}", path.display())]
    Parse {
        path: PathBuf,
        line: usize,
        message: String,
    },
    #[error("{}: {message}", path.display())]
    Attribute { path: PathBuf, message: String },
}

const BOOT_MOUNTPOINTS: [&str; 3] = ["/boot", "/boot/efi", "/efi"];

/// Lists the block devices of `system`, sorted by name, each with everything that uses it.
pub fn discover(
    system: &SystemView,
    empty: EmptyDevices,
) -> Result<Vec<BlockDevice>, DiscoveryError> {
    let mut devices = sysfs::read_devices(system)?;
    attach_usage(system, &mut devices)?;
    if empty == EmptyDevices::Skip {
        devices.retain(|device| device.size_bytes > 0);
    }
    Ok(devices)
}

/// Which disk (and which partition of it, if any) a device number or kernel name refers to.
#[derive(Debug, Clone)]
struct Owner {
    disk: usize,
    path: PathBuf,
}

fn attach_usage(system: &SystemView, devices: &mut [BlockDevice]) -> Result<(), DiscoveryError> {
    let mut by_devnum: HashMap<DevNum, Owner> = HashMap::new();
    let mut by_name: HashMap<String, Owner> = HashMap::new();
    for (disk, device) in devices.iter().enumerate() {
        let whole = Owner {
            disk,
            path: device.path.clone(),
        };
        by_devnum.insert(device.devnum, whole.clone());
        by_name.insert(device.name.clone(), whole);
        for partition in &device.partitions {
            let part = Owner {
                disk,
                path: partition.path.clone(),
            };
            by_devnum.insert(partition.devnum, part.clone());
            by_name.insert(partition.name.clone(), part);
        }
    }
    // A device node path (possibly a /dev/mapper or /dev/disk/by-* symlink) names
    // its kernel device by the final component of its canonical path.
    let owner_of_path = |path: &Path| -> Option<Owner> {
        let resolved = std::fs::canonicalize(path).unwrap_or_else(|_| path.to_path_buf());
        if !resolved.starts_with(&system.dev_dir) && !path.starts_with(&system.dev_dir) {
            return None;
        }
        let name = resolved.file_name()?.to_str()?;
        by_name.get(name).cloned()
    };

    let mut direct: Vec<Vec<Usage>> = vec![Vec::new(); devices.len()];

    let mountinfo_text = read_to_string(&system.mountinfo)?;
    for mount in procfs::parse_mountinfo(&mountinfo_text, &system.mountinfo)? {
        let owner = by_devnum
            .get(&mount.devnum)
            .cloned()
            .or_else(|| owner_of_path(Path::new(&mount.source)));
        let Some(owner) = owner else { continue };
        let usages = &mut direct[owner.disk];
        if mount.mountpoint == Path::new("/") {
            usages.push(Usage::RootFilesystem {
                device: owner.path.clone(),
            });
        }
        if let Some(boot) = BOOT_MOUNTPOINTS
            .iter()
            .find(|boot| mount.mountpoint == Path::new(boot))
        {
            usages.push(Usage::Boot {
                device: owner.path.clone(),
                evidence: BootEvidence::BootMount {
                    mountpoint: PathBuf::from(boot),
                },
            });
        }
        usages.push(Usage::Mounted {
            device: owner.path,
            mountpoint: mount.mountpoint,
            fstype: mount.fstype,
        });
    }

    // /proc/swaps may be absent in minimal environments (an initramfs without swap support).
    if let Some(swaps_text) = read_optional(&system.swaps)? {
        for swap in procfs::parse_swaps(&swaps_text) {
            if let Some(owner) = owner_of_path(&swap) {
                direct[owner.disk].push(Usage::Swap { device: owner.path });
            }
        }
    }

    if let Some(owner) = system
        .executable_device
        .and_then(|devnum| by_devnum.get(&devnum).cloned())
    {
        direct[owner.disk].push(Usage::Boot {
            device: owner.path,
            evidence: BootEvidence::RunningExecutable,
        });
    }

    // A disk whose partition holds an LVM volume that is mounted is in use through
    // the holder: give each disk its holders' uses too, following chains (dm on md on disk).
    let holders_of = |device: &BlockDevice| -> Vec<(PathBuf, String)> {
        let mut held = Vec::new();
        for holder in &device.holders {
            held.push((device.path.clone(), holder.clone()));
        }
        for partition in &device.partitions {
            for holder in &partition.holders {
                held.push((partition.path.clone(), holder.clone()));
            }
        }
        held
    };
    let index_by_name: HashMap<&str, usize> = devices
        .iter()
        .enumerate()
        .map(|(i, d)| (d.name.as_str(), i))
        .collect();
    let mut all: Vec<Vec<Usage>> = Vec::with_capacity(devices.len());
    for start in 0..devices.len() {
        let mut usages = direct[start].clone();
        let mut seen = BTreeSet::from([start]);
        let mut stack = vec![start];
        while let Some(current) = stack.pop() {
            for (held_device, holder) in holders_of(&devices[current]) {
                if current == start {
                    usages.push(Usage::Held {
                        device: held_device,
                        holder: holder.clone(),
                    });
                }
                if let Some(&next) = index_by_name.get(holder.as_str()) {
                    if seen.insert(next) {
                        usages.extend(direct[next].iter().cloned());
                        stack.push(next);
                    }
                }
            }
        }
        all.push(usages);
    }
    for (device, usages) in devices.iter_mut().zip(all) {
        device.usage = usages;
    }
    Ok(())
}

fn read_to_string(path: &Path) -> Result<String, DiscoveryError> {
    std::fs::read_to_string(path).map_err(|source| DiscoveryError::Read {
        path: path.to_path_buf(),
        source,
    })
}

fn read_optional(path: &Path) -> Result<Option<String>, DiscoveryError> {
    match std::fs::read_to_string(path) {
        Ok(text) => Ok(Some(text)),
        Err(err) if err.kind() == std::io::ErrorKind::NotFound => Ok(None),
        Err(source) => Err(DiscoveryError::Read {
            path: path.to_path_buf(),
            source,
        }),
    }
}

#[cfg(test)]
mod tests;
