//! Finding the stick the system booted from, by the marker on its certificate
//! partition.
//!
//! Each candidate partition is mounted read-only (a read-write mount of a
//! customer's FAT disk could change it: the dirty bit) and looked at for the
//! marker; only the partition that has it is mounted again, read-write, for the
//! ledger. Kernel names are not stable (the stick is `sda` on one boot and
//! `sdb` on the next), so nothing here trusts a name.

use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use nix::mount::{mount, umount2, MntFlags, MsFlags};
use shred::BlockDevice;

use crate::MARKER_FILE;

/// The certificate partition of the boot stick, mounted read-write.
#[derive(Debug, Clone)]
pub struct Stick {
    /// The whole disk's kernel name.
    pub disk: String,
    /// The certificate partition's device node.
    pub partition: PathBuf,
    pub mountpoint: PathBuf,
    /// The marker's content: the image's identity, written at build time.
    pub image_id: String,
    /// Other disks that carry the marker (a second wisp stick): never offered
    /// either, since their ledgers are certificates someone relies on.
    pub other_sticks: Vec<String>,
}

#[derive(Debug, thiserror::Error)]
pub enum StickError {
    #[error("no partition with {MARKER_FILE} appeared within {waited:?} (looked at: {looked}): is this the wisp stick?")]
    NotFound { waited: Duration, looked: String },
    #[error("{}: cannot mount read-write at {}: {source}", partition.display(), mountpoint.display())]
    Mount {
        partition: PathBuf,
        mountpoint: PathBuf,
        #[source]
        source: nix::Error,
    },
    #[error("cannot list block devices: {0}")]
    Discovery(#[from] shred::DiscoveryError),
}

/// Every partition, with its disk's name: the stick's certificate partition is
/// one. Whole disks are not probed, so no customer disk without a partition
/// table is mounted at all.
pub fn candidates(devices: &[BlockDevice]) -> Vec<(String, PathBuf)> {
    let mut found = Vec::new();
    for device in devices {
        for partition in &device.partitions {
            found.push((device.name.clone(), partition.path.clone()));
        }
    }
    found
}

const PROBE_FLAGS: MsFlags = MsFlags::MS_RDONLY
    .union(MsFlags::MS_NOSUID)
    .union(MsFlags::MS_NODEV)
    .union(MsFlags::MS_NOEXEC);

/// Mounts `node` read-only at `probe` and returns the marker's content if it
/// has one, or why not.
fn probe(node: &Path, probe: &Path) -> Result<String, String> {
    mount(Some(node), probe, Some("vfat"), PROBE_FLAGS, None::<&str>)
        .map_err(|e| format!("not FAT ({e})"))?;
    let marker = std::fs::read_to_string(probe.join(MARKER_FILE));
    let _ = umount2(probe, MntFlags::MNT_DETACH);
    marker
        .map(|text| text.trim().to_string())
        .map_err(|_| "FAT, no marker".into())
}

/// Waits up to `patience` for the stick (USB disks appear late), then mounts its
/// certificate partition read-write at `mountpoint`.
pub fn find_and_mount(
    list: &dyn Fn() -> Result<Vec<BlockDevice>, shred::DiscoveryError>,
    booted_from: Option<&str>,
    probe_dir: &Path,
    mountpoint: &Path,
    patience: Duration,
) -> Result<Stick, StickError> {
    let _ = std::fs::create_dir_all(probe_dir);
    let _ = std::fs::create_dir_all(mountpoint);
    let started = Instant::now();
    let mut looked: Vec<String> = Vec::new();
    loop {
        let devices = list()?;
        looked.clear();
        let mut marked: Vec<(String, PathBuf, String)> = Vec::new();
        for (disk, node) in candidates(&devices) {
            match probe(&node, probe_dir) {
                Ok(id) => marked.push((disk, node, id)),
                Err(why) => looked.push(format!("{} {why}", node.display())),
            }
        }
        // With two sticks in, the one named on the kernel command line is the one
        // booted from; identical copies cannot be told apart, so the first of
        // them is used. Every marked disk is kept safe either way.
        let chosen = marked
            .iter()
            .find(|(_, _, id)| Some(id.to_ascii_lowercase().as_str()) == booted_from)
            .or(marked.first())
            .cloned();
        if let Some((disk, node, image_id)) = chosen {
            mount(
                Some(node.as_path()),
                mountpoint,
                Some("vfat"),
                MsFlags::MS_NOSUID | MsFlags::MS_NODEV | MsFlags::MS_NOEXEC,
                Some("shortname=mixed,flush"),
            )
            .map_err(|source| StickError::Mount {
                partition: node.clone(),
                mountpoint: mountpoint.to_path_buf(),
                source,
            })?;
            let other_sticks = marked
                .iter()
                .map(|(other, _, _)| other.clone())
                .filter(|other| *other != disk)
                .collect();
            return Ok(Stick {
                disk,
                partition: node,
                mountpoint: mountpoint.to_path_buf(),
                image_id,
                other_sticks,
            });
        }
        if started.elapsed() >= patience {
            return Err(StickError::NotFound {
                waited: patience,
                looked: if looked.is_empty() {
                    "no partitions".into()
                } else {
                    looked.join(", ")
                },
            });
        }
        // USB disks and their partition tables appear late: look again.
        std::thread::sleep(Duration::from_millis(500));
    }
}
