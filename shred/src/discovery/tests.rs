//! Discovery over fake sysfs/procfs trees describing machines the test host lacks.

use std::fs;
use std::path::{Path, PathBuf};

use super::*;

struct FakeSystem {
    root: tempfile::TempDir,
    mountinfo: String,
    swaps: String,
    executable_device: Option<DevNum>,
}

impl FakeSystem {
    fn new() -> FakeSystem {
        let root = tempfile::tempdir().unwrap();
        fs::create_dir_all(root.path().join("sys/block")).unwrap();
        fs::create_dir_all(root.path().join("dev")).unwrap();
        FakeSystem {
            root,
            mountinfo: String::new(),
            swaps: "Filename\tType\tSize\tUsed\tPriority\n".to_string(),
            executable_device: None,
        }
    }

    fn dev(&self, name: &str) -> PathBuf {
        self.root.path().join("dev").join(name)
    }

    /// Creates the device's directory under sys/devices/`parent` and links it from sys/block.
    fn disk(&self, parent: &str, name: &str, devnum: &str, bytes: u64) -> PathBuf {
        let dir = self.root.path().join("sys/devices").join(parent).join(name);
        fs::create_dir_all(dir.join("queue")).unwrap();
        fs::create_dir_all(dir.join("holders")).unwrap();
        write(&dir, "dev", devnum);
        write(&dir, "size", &(bytes / 512).to_string());
        write(&dir, "queue/logical_block_size", "512");
        write(&dir, "queue/physical_block_size", "4096");
        write(&dir, "queue/rotational", "0");
        write(&dir, "removable", "0");
        write(&dir, "ro", "0");
        std::os::unix::fs::symlink(&dir, self.root.path().join("sys/block").join(name)).unwrap();
        dir
    }

    fn partition(&self, disk: &Path, name: &str, number: u32, devnum: &str, bytes: u64) -> PathBuf {
        let dir = disk.join(name);
        fs::create_dir_all(dir.join("holders")).unwrap();
        write(&dir, "partition", &number.to_string());
        write(&dir, "dev", devnum);
        write(&dir, "start", "2048");
        write(&dir, "size", &(bytes / 512).to_string());
        write(&dir, "ro", "0");
        dir
    }

    fn mount(&mut self, devnum: &str, mountpoint: &str, fstype: &str, source: &str) {
        let id = self.mountinfo.lines().count() + 20;
        self.mountinfo.push_str(&format!(
            "{id} 1 {devnum} / {mountpoint} rw,relatime shared:1 - {fstype} {source} rw\n"
        ));
    }

    fn discover(&self, empty: EmptyDevices) -> Vec<BlockDevice> {
        fs::write(self.root.path().join("mountinfo"), &self.mountinfo).unwrap();
        fs::write(self.root.path().join("swaps"), &self.swaps).unwrap();
        let view = SystemView {
            sys_block: self.root.path().join("sys/block"),
            mountinfo: self.root.path().join("mountinfo"),
            swaps: self.root.path().join("swaps"),
            dev_dir: self.root.path().join("dev"),
            executable_device: self.executable_device,
        };
        discover(&view, empty).unwrap()
    }
}

fn write(dir: &Path, attribute: &str, value: &str) {
    let path = dir.join(attribute);
    fs::create_dir_all(path.parent().unwrap()).unwrap();
    fs::write(path, format!("{value}\n")).unwrap();
}

fn find<'a>(devices: &'a [BlockDevice], name: &str) -> &'a BlockDevice {
    devices
        .iter()
        .find(|d| d.name == name)
        .unwrap_or_else(|| panic!("{name} not discovered"))
}

/// A laptop: NVMe with an EFI partition and an LVM root, swap on zram, a USB stick.
fn laptop() -> FakeSystem {
    let mut system = FakeSystem::new();
    let controller = "pci0000:00/0000:00:1d.0/0000:3d:00.0/nvme/nvme0";
    let nvme = system.disk(controller, "nvme0n1", "259:0", 512_110_190_592);
    write(nvme.parent().unwrap(), "serial", "S4EWNX0R123456  ");
    write(nvme.parent().unwrap(), "model", "Samsung SSD 980 PRO 512GB");
    std::os::unix::fs::symlink(nvme.parent().unwrap(), nvme.join("device")).unwrap();
    write(&nvme, "wwid", "eui.002538b111b2c3d4");
    system.partition(&nvme, "nvme0n1p1", 1, "259:1", 536_870_912);
    let p2 = system.partition(&nvme, "nvme0n1p2", 2, "259:2", 511_000_000_000);
    fs::create_dir_all(p2.join("holders/dm-0")).unwrap();
    system.disk("virtual/block", "dm-0", "254:0", 511_000_000_000);
    system.mount("254:0", "/", "ext4", "/dev/mapper/vg-root");
    system.mount("259:1", "/boot/efi", "vfat", "/dev/nvme0n1p1");

    let zram = system.disk("virtual/block", "zram0", "252:0", 8_589_934_592);
    let _ = zram;
    system.swaps.push_str(&format!(
        "{}    partition\t8388604\t0\t100\n",
        system.dev("zram0").display()
    ));

    let usb_device = "pci0000:00/0000:00:14.0/usb2/2-1";
    let stick = system.disk(
        &format!("{usb_device}/2-1:1.0/host6/target6:0:0/6:0:0:0/block"),
        "sda",
        "8:0",
        31_004_295_168,
    );
    let scsi_device = stick.parent().unwrap().parent().unwrap().to_path_buf();
    write(&scsi_device, "vendor", "SanDisk ");
    write(&scsi_device, "model", "Ultra Fit       ");
    std::os::unix::fs::symlink(&scsi_device, stick.join("device")).unwrap();
    let usb_dir = system.root.path().join("sys/devices").join(usb_device);
    write(&usb_dir, "idVendor", "0781");
    write(&usb_dir, "serial", "4C530001230915117042");
    write(&stick, "removable", "1");

    system.disk("virtual/block", "loop7", "7:7", 0);
    system
}

#[test]
fn nvme_identity_and_geometry() {
    let devices = laptop().discover(EmptyDevices::Skip);
    let nvme = find(&devices, "nvme0n1");
    assert_eq!(nvme.transport, Transport::Nvme);
    assert_eq!(nvme.model.as_deref(), Some("Samsung SSD 980 PRO 512GB"));
    assert_eq!(nvme.serial.as_deref(), Some("S4EWNX0R123456"));
    assert_eq!(nvme.wwn.as_deref(), Some("0x002538b111b2c3d4"));
    assert_eq!(nvme.size_bytes, 512_110_190_592);
    assert_eq!(nvme.logical_sector_size, 512);
    assert_eq!(nvme.physical_sector_size, 4096);
    assert_eq!(
        nvme.devnum,
        DevNum {
            major: 259,
            minor: 0
        }
    );
    let names: Vec<&str> = nvme.partitions.iter().map(|p| p.name.as_str()).collect();
    assert_eq!(names, ["nvme0n1p1", "nvme0n1p2"]);
    assert_eq!(nvme.partitions[1].holders, ["dm-0"]);
}

#[test]
fn root_on_lvm_marks_the_physical_disk() {
    let devices = laptop().discover(EmptyDevices::Skip);
    let nvme = find(&devices, "nvme0n1");
    assert_eq!(
        nvme.hazards(),
        [
            Hazard::RootFilesystem,
            Hazard::Boot,
            Hazard::Mounted,
            Hazard::Holders
        ]
    );
    assert!(nvme.usage.iter().any(|u| matches!(
        u,
        Usage::Held { device, holder } if holder == "dm-0" && device.ends_with("nvme0n1p2")
    )));
    assert!(nvme.usage.iter().any(|u| matches!(
        u,
        Usage::Boot { evidence: BootEvidence::BootMount { mountpoint }, .. } if mountpoint == Path::new("/boot/efi")
    )));
    let dm = find(&devices, "dm-0");
    assert_eq!(dm.transport, Transport::DeviceMapper);
    assert_eq!(dm.hazards(), [Hazard::RootFilesystem, Hazard::Mounted]);
}

#[test]
fn usb_stick_serial_from_the_usb_device() {
    let system = laptop();
    let devices = system.discover(EmptyDevices::Skip);
    let stick = find(&devices, "sda");
    assert_eq!(stick.transport, Transport::Usb);
    assert_eq!(stick.vendor.as_deref(), Some("SanDisk"));
    assert_eq!(stick.model.as_deref(), Some("Ultra Fit"));
    assert_eq!(stick.serial.as_deref(), Some("4C530001230915117042"));
    assert!(stick.removable);
    assert!(!stick.is_in_use());
    assert_eq!(stick.path, system.dev("sda"));
}

#[test]
fn swap_device_is_flagged() {
    let devices = laptop().discover(EmptyDevices::Skip);
    assert_eq!(find(&devices, "zram0").hazards(), [Hazard::Swap]);
}

#[test]
fn empty_devices_only_on_request() {
    let system = laptop();
    let listed: Vec<String> = system
        .discover(EmptyDevices::Skip)
        .into_iter()
        .map(|d| d.name)
        .collect();
    assert_eq!(listed, ["dm-0", "nvme0n1", "sda", "zram0"]);
    let all = system.discover(EmptyDevices::Include);
    assert!(all.iter().any(|d| d.name == "loop7" && d.size_bytes == 0));
}

#[test]
fn executable_device_is_boot() {
    let mut system = laptop();
    system.executable_device = Some(DevNum { major: 8, minor: 0 });
    let devices = system.discover(EmptyDevices::Skip);
    let stick = find(&devices, "sda");
    assert_eq!(stick.hazards(), [Hazard::Boot]);
    assert!(matches!(
        stick.usage[0],
        Usage::Boot {
            evidence: BootEvidence::RunningExecutable,
            ..
        }
    ));
}

#[test]
fn btrfs_anonymous_devnum_falls_back_to_source() {
    let mut system = FakeSystem::new();
    let sdb = system.disk(
        "pci0000:00/0000:00:17.0/ata2/host1/target1:0:0/1:0:0:0/block",
        "sdb",
        "8:16",
        1 << 30,
    );
    system.partition(&sdb, "sdb1", 1, "8:17", 1 << 29);
    let source = system.dev("sdb1").display().to_string();
    system.mount("0:45", "/srv/data", "btrfs", &source);
    let devices = system.discover(EmptyDevices::Skip);
    let disk = find(&devices, "sdb");
    assert_eq!(disk.transport, Transport::Sata);
    assert_eq!(
        disk.usage,
        [Usage::Mounted {
            device: system.dev("sdb1"),
            mountpoint: PathBuf::from("/srv/data"),
            fstype: "btrfs".into()
        }]
    );
}

#[test]
fn sata_serial_and_wwn_from_vpd() {
    let system = FakeSystem::new();
    let sda = system.disk(
        "pci0000:00/0000:00:17.0/ata1/host0/target0:0:0/0:0:0:0/block",
        "sda",
        "8:0",
        2_000_398_934_016,
    );
    let scsi = sda.parent().unwrap().parent().unwrap().to_path_buf();
    std::os::unix::fs::symlink(&scsi, sda.join("device")).unwrap();
    let mut page = vec![0u8, 0x80, 0, 20];
    page.extend_from_slice(b"      WD-WCC4M1234567");
    // Bytes past the stated length are not part of the serial.
    fs::write(scsi.join("vpd_pg80"), &page).unwrap();
    write(&scsi, "wwid", "naa.50014EE2B5C1D2E3");
    write(&scsi, "model", "WDC WD20EFRX-68E");
    write(&sda, "queue/rotational", "1");
    let devices = system.discover(EmptyDevices::Skip);
    let disk = find(&devices, "sda");
    assert_eq!(disk.serial.as_deref(), Some("WD-WCC4M123456"));
    assert_eq!(disk.wwn.as_deref(), Some("0x50014ee2b5c1d2e3"));
    assert!(disk.rotational);
}

#[test]
fn malformed_attribute_names_the_file() {
    let system = FakeSystem::new();
    let dir = system.disk("virtual/block", "loop0", "7:0", 4096);
    write(&dir, "size", "lots");
    fs::write(system.root.path().join("mountinfo"), "").unwrap();
    let view = SystemView {
        sys_block: system.root.path().join("sys/block"),
        mountinfo: system.root.path().join("mountinfo"),
        swaps: system.root.path().join("swaps"),
        dev_dir: system.root.path().join("dev"),
        executable_device: None,
    };
    let message = discover(&view, EmptyDevices::Skip).unwrap_err().to_string();
    assert!(message.contains("loop0/size"), "{message}");
    assert!(message.contains("lots"), "{message}");
}

#[test]
fn dev_t_split_matches_glibc() {
    // makedev(259, 3) and makedev(8, 300) as glibc encodes them.
    assert_eq!(
        DevNum::from_dev_t(0x1_0303),
        DevNum {
            major: 259,
            minor: 3
        }
    );
    assert_eq!(
        DevNum::from_dev_t(0x0010_082c),
        DevNum {
            major: 8,
            minor: 300
        }
    );
}
