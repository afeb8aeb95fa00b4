//! Reading one device's identity and geometry from sysfs.

use std::io::ErrorKind;
use std::path::{Path, PathBuf};

use super::{BlockDevice, DevNum, DiscoveryError, Partition, SystemView, Transport};

/// sysfs reports `size` in 512-byte units whatever the device's sector size.
const SYSFS_SECTOR: u64 = 512;

pub(super) fn read_devices(system: &SystemView) -> Result<Vec<BlockDevice>, DiscoveryError> {
    let entries = std::fs::read_dir(&system.sys_block).map_err(|source| DiscoveryError::Read {
        path: system.sys_block.clone(),
        source,
    })?;
    let mut names = Vec::new();
    for entry in entries {
        let entry = entry.map_err(|source| DiscoveryError::Read {
            path: system.sys_block.clone(),
            source,
        })?;
        if let Some(name) = entry.file_name().to_str() {
            names.push(name.to_string());
        }
    }
    names.sort_by_cached_key(|name| natural_key(name));

    let mut devices = Vec::with_capacity(names.len());
    for name in names {
        // A device can vanish between listing and reading (a loop device detached
        // by someone else); that is not an error, it simply is not there any more.
        if let Some(device) = read_device(system, &name)? {
            devices.push(device);
        }
    }
    Ok(devices)
}

fn read_device(system: &SystemView, name: &str) -> Result<Option<BlockDevice>, DiscoveryError> {
    let dir = system.sys_block.join(name);
    let Some(devnum) = read_devnum(&dir)? else {
        return Ok(None);
    };
    let Some(sectors) = read_u64(&dir.join("size"))? else {
        return Ok(None);
    };
    let resolved = std::fs::canonicalize(&dir).unwrap_or_else(|_| dir.clone());
    let transport = transport_of(name, &resolved);

    // virtio and NVMe expose a PCI vendor id there, not a name a person would recognise.
    let vendor = read_trimmed(&dir.join("device/vendor"))?.filter(|v| !v.starts_with("0x"));
    let model = match read_trimmed(&dir.join("device/model"))? {
        Some(model) => Some(model),
        None => read_trimmed(&dir.join("device/name"))?, // MMC cards
    };

    Ok(Some(BlockDevice {
        name: name.to_string(),
        path: system.dev_dir.join(name),
        devnum,
        vendor,
        model,
        serial: read_serial(&dir, transport)?,
        wwn: read_wwn(&dir)?,
        size_bytes: sectors.saturating_mul(SYSFS_SECTOR),
        logical_sector_size: read_u32_or(&dir.join("queue/logical_block_size"), 512)?,
        physical_sector_size: read_u32_or(&dir.join("queue/physical_block_size"), 512)?,
        rotational: read_flag(&dir.join("queue/rotational"))?,
        removable: read_flag(&dir.join("removable"))?,
        read_only: read_flag(&dir.join("ro"))?,
        transport,
        backing_file: read_trimmed(&dir.join("loop/backing_file"))?.map(PathBuf::from),
        partitions: read_partitions(system, &dir)?,
        holders: read_holders(&dir)?,
        usage: Vec::new(),
    }))
}

fn read_partitions(system: &SystemView, dir: &Path) -> Result<Vec<Partition>, DiscoveryError> {
    let mut partitions = Vec::new();
    let entries = match std::fs::read_dir(dir) {
        Ok(entries) => entries,
        Err(err) if err.kind() == ErrorKind::NotFound => return Ok(partitions),
        Err(source) => {
            return Err(DiscoveryError::Read {
                path: dir.to_path_buf(),
                source,
            })
        }
    };
    for entry in entries.flatten() {
        let part_dir = entry.path();
        if !part_dir.join("partition").exists() {
            continue;
        }
        let Some(name) = entry.file_name().to_str().map(str::to_string) else {
            continue;
        };
        let (Some(devnum), Some(sectors)) =
            (read_devnum(&part_dir)?, read_u64(&part_dir.join("size"))?)
        else {
            continue;
        };
        partitions.push(Partition {
            path: system.dev_dir.join(&name),
            name,
            devnum,
            number: read_u64(&part_dir.join("partition"))?.map(|n| n as u32),
            start_sector: read_u64(&part_dir.join("start"))?.unwrap_or(0),
            size_bytes: sectors.saturating_mul(SYSFS_SECTOR),
            read_only: read_flag(&part_dir.join("ro"))?,
            holders: read_holders(&part_dir)?,
        });
    }
    partitions.sort_by_cached_key(|p| natural_key(&p.name));
    Ok(partitions)
}

fn read_holders(dir: &Path) -> Result<Vec<String>, DiscoveryError> {
    let holders_dir = dir.join("holders");
    let entries = match std::fs::read_dir(&holders_dir) {
        Ok(entries) => entries,
        Err(err) if err.kind() == ErrorKind::NotFound => return Ok(Vec::new()),
        Err(source) => {
            return Err(DiscoveryError::Read {
                path: holders_dir,
                source,
            })
        }
    };
    let mut holders: Vec<String> = entries
        .flatten()
        .filter_map(|entry| entry.file_name().to_str().map(str::to_string))
        .collect();
    holders.sort();
    Ok(holders)
}

/// Classifies by the device's place in the sysfs device tree, which is stable
/// across kernels, rather than by kernel name, which is not (USB disks are `sdX`).
fn transport_of(name: &str, resolved: &Path) -> Transport {
    let path = resolved.to_string_lossy();
    let has = |segment: &str| path.contains(segment);
    if name.starts_with("loop") {
        Transport::Loop
    } else if name.starts_with("dm-") {
        Transport::DeviceMapper
    } else if name.starts_with("md") {
        Transport::Md
    } else if name.starts_with("zram") {
        Transport::Zram
    } else if name.starts_with("nbd") {
        Transport::Nbd
    } else if name.starts_with("ram") {
        Transport::Ram
    } else if has("/usb") {
        Transport::Usb
    } else if name.starts_with("nvme") || has("/nvme") {
        Transport::Nvme
    } else if has("/virtio") && !has("/host") {
        Transport::Virtio
    } else if has("/ata") {
        Transport::Sata
    } else if name.starts_with("mmcblk") || has("/mmc_host") {
        Transport::Mmc
    } else if has("/host") || has("/virtio") {
        Transport::Scsi
    } else {
        Transport::Unknown
    }
}

fn read_serial(dir: &Path, transport: Transport) -> Result<Option<String>, DiscoveryError> {
    // NVMe controllers and MMC cards: device/serial; virtio-blk: serial on the disk.
    for candidate in ["device/serial", "serial"] {
        if let Some(serial) = read_trimmed(&dir.join(candidate))? {
            return Ok(Some(serial));
        }
    }
    // SCSI and SATA (through libata's SCSI translation): Unit Serial Number VPD page.
    if let Some(page) = read_bytes(&dir.join("device/vpd_pg80"))? {
        if let Some(serial) = serial_from_vpd_page_80(&page) {
            return Ok(Some(serial));
        }
    }
    // USB bridges without a usable VPD page: the USB device's own iSerial.
    if transport == Transport::Usb {
        if let Ok(mut ancestor) = std::fs::canonicalize(dir.join("device")) {
            while ancestor.pop() {
                if ancestor.join("idVendor").exists() {
                    return read_trimmed(&ancestor.join("serial"));
                }
            }
        }
    }
    Ok(None)
}

/// Page 0x80: 4-byte header whose bytes 2..4 give the length of the ASCII serial.
fn serial_from_vpd_page_80(page: &[u8]) -> Option<String> {
    if page.len() < 4 || page[1] != 0x80 {
        return None;
    }
    let length = usize::from(u16::from_be_bytes([page[2], page[3]]));
    let end = (4 + length).min(page.len());
    let serial: String = String::from_utf8_lossy(&page[4..end])
        .trim_matches(|c: char| c.is_whitespace() || c == '\0')
        .to_string();
    (!serial.is_empty()).then_some(serial)
}

/// A World Wide Name, from the NAA or EUI-64 designators the kernel exposes as `wwid`.
fn read_wwn(dir: &Path) -> Result<Option<String>, DiscoveryError> {
    for candidate in ["wwid", "device/wwid"] {
        if let Some(wwid) = read_trimmed(&dir.join(candidate))? {
            if let Some(wwn) = ["naa.", "eui."]
                .iter()
                .find_map(|prefix| wwid.strip_prefix(prefix))
            {
                return Ok(Some(format!("0x{}", wwn.to_ascii_lowercase())));
            }
        }
    }
    Ok(None)
}

fn read_bytes(path: &Path) -> Result<Option<Vec<u8>>, DiscoveryError> {
    match std::fs::read(path) {
        Ok(bytes) => Ok(Some(bytes)),
        // Attributes that a driver does not provide are simply absent; some drivers
        // expose attributes that fail to read (EIO, EINVAL) when the page is unsupported.
        Err(err)
            if matches!(
                err.kind(),
                ErrorKind::NotFound | ErrorKind::InvalidInput | ErrorKind::NotADirectory
            ) || err.raw_os_error() == Some(nix::libc::EIO)
                || err.raw_os_error() == Some(nix::libc::ENXIO) =>
        {
            Ok(None)
        }
        Err(source) => Err(DiscoveryError::Read {
            path: path.to_path_buf(),
            source,
        }),
    }
}

fn read_trimmed(path: &Path) -> Result<Option<String>, DiscoveryError> {
    Ok(read_bytes(path)?.and_then(|bytes| {
        let text = String::from_utf8_lossy(&bytes);
        let trimmed = text.trim_matches(|c: char| c.is_whitespace() || c == '\0');
        (!trimmed.is_empty()).then(|| trimmed.to_string())
    }))
}

fn read_u64(path: &Path) -> Result<Option<u64>, DiscoveryError> {
    match read_trimmed(path)? {
        None => Ok(None),
        Some(text) => text
            .parse()
            .map(Some)
            .map_err(|_| DiscoveryError::Attribute {
                path: path.to_path_buf(),
                message: format!("expected a number, found {text:?}"),
            }),
    }
}

fn read_u32_or(path: &Path, default: u32) -> Result<u32, DiscoveryError> {
    Ok(read_u64(path)?.map_or(default, |value| value as u32))
}

fn read_flag(path: &Path) -> Result<bool, DiscoveryError> {
    Ok(read_u64(path)?.is_some_and(|value| value != 0))
}

fn read_devnum(dir: &Path) -> Result<Option<DevNum>, DiscoveryError> {
    let path = dir.join("dev");
    match read_trimmed(&path)? {
        None => Ok(None),
        Some(text) => text
            .parse()
            .map(Some)
            .map_err(|()| DiscoveryError::Attribute {
                path,
                message: format!("expected major:minor, found {text:?}"),
            }),
    }
}

/// Sorts `sdb` before `sdaa` and `nvme0n2` before `nvme0n10`, as people count drives.
fn natural_key(name: &str) -> Vec<(String, u64)> {
    let mut key = Vec::new();
    let mut letters = String::new();
    let mut digits = String::new();
    for c in name.chars() {
        if c.is_ascii_digit() {
            digits.push(c);
        } else {
            if !digits.is_empty() {
                key.push((
                    std::mem::take(&mut letters),
                    digits.parse().unwrap_or(u64::MAX),
                ));
                digits.clear();
            }
            letters.push(c);
        }
    }
    key.push((letters, digits.parse().unwrap_or(0)));
    key
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn natural_order() {
        let mut names = vec![
            "sdaa", "sdb", "nvme0n10", "nvme0n2", "loop10", "loop2", "sda",
        ];
        names.sort_by_cached_key(|name| natural_key(name));
        assert_eq!(
            names,
            vec!["loop2", "loop10", "nvme0n2", "nvme0n10", "sda", "sdaa", "sdb"]
        );
    }

    #[test]
    fn vpd_page_80_serial() {
        let mut page = vec![0x00, 0x80, 0x00, 0x0c];
        page.extend_from_slice(b"  WD-WX12345");
        assert_eq!(
            serial_from_vpd_page_80(&page).as_deref(),
            Some("WD-WX12345")
        );
        assert_eq!(serial_from_vpd_page_80(&[0, 0x83, 0, 2, b'a', b'b']), None);
        assert_eq!(
            serial_from_vpd_page_80(&[0, 0x80, 0, 4, b' ', 0, 0, 0]),
            None
        );
    }

    #[test]
    fn transports_from_sysfs_paths() {
        let cases = [
            ("sda", "/sys/devices/pci0000:00/0000:00:17.0/ata1/host0/target0:0:0/0:0:0:0/block/sda", Transport::Sata),
            ("sdb", "/sys/devices/pci0000:00/0000:00:14.0/usb2/2-1/2-1:1.0/host6/target6:0:0/6:0:0:0/block/sdb", Transport::Usb),
            ("nvme0n1", "/sys/devices/pci0000:00/0000:00:1d.0/0000:3d:00.0/nvme/nvme0/nvme0n1", Transport::Nvme),
            ("vda", "/sys/devices/pci0000:00/0000:00:04.0/virtio1/block/vda", Transport::Virtio),
            ("sdc", "/sys/devices/pci0000:00/0000:00:05.0/virtio2/host2/target2:0:0/2:0:0:0/block/sdc", Transport::Scsi),
            ("sdd", "/sys/devices/pci0000:00/0000:00:01.0/0000:01:00.0/host7/port-7:0/end_device-7:0/target7:0:0/7:0:0:0/block/sdd", Transport::Scsi),
            ("mmcblk0", "/sys/devices/platform/mmc_host/mmc0/mmc0:0001/block/mmcblk0", Transport::Mmc),
            ("loop0", "/sys/devices/virtual/block/loop0", Transport::Loop),
            ("dm-0", "/sys/devices/virtual/block/dm-0", Transport::DeviceMapper),
            ("md127", "/sys/devices/virtual/block/md127", Transport::Md),
            ("zram0", "/sys/devices/virtual/block/zram0", Transport::Zram),
        ];
        for (name, path, expected) in cases {
            assert_eq!(transport_of(name, Path::new(path)), expected, "{name}");
        }
    }
}
