//! PID 1's dealings with the kernel: its filesystems, modules, and power.

use std::path::Path;

use nix::mount::{mount, MsFlags};

/// Mounts devtmpfs, proc and sysfs (the initramfs has only empty directories)
/// and a tmpfs on /run for probe mounts. Already-mounted is not an error.
pub fn mount_kernel_filesystems() -> Result<(), String> {
    let plain = MsFlags::MS_NOSUID | MsFlags::MS_NOEXEC;
    for (source, target, fstype, flags) in [
        ("devtmpfs", "/dev", "devtmpfs", MsFlags::MS_NOSUID),
        ("proc", "/proc", "proc", plain | MsFlags::MS_NODEV),
        ("sysfs", "/sys", "sysfs", plain | MsFlags::MS_NODEV),
        ("tmpfs", "/run", "tmpfs", plain | MsFlags::MS_NODEV),
    ] {
        let _ = std::fs::create_dir_all(target);
        match mount(Some(source), target, Some(fstype), flags, None::<&str>) {
            Ok(()) | Err(nix::Error::EBUSY) => {}
            Err(err) => return Err(format!("cannot mount {fstype} on {target}: {err}")),
        }
    }
    Ok(())
}

/// Loads one module file; "already loaded" is success.
pub fn insert_module(path: &Path) -> Result<(), String> {
    let file = std::fs::File::open(path).map_err(|e| format!("{}: {e}", path.display()))?;
    match nix::kmod::finit_module(&file, c"", nix::kmod::ModuleInitFlags::empty()) {
        Ok(()) | Err(nix::Error::EEXIST) => Ok(()),
        Err(err) => Err(err.to_string()),
    }
}

/// Flushes every filesystem and turns the machine off. Never returns: if the
/// power-off call fails, halting is the safe second choice.
pub fn power_off() -> ! {
    nix::unistd::sync();
    let _ = nix::sys::reboot::reboot(nix::sys::reboot::RebootMode::RB_POWER_OFF);
    let _ = nix::sys::reboot::reboot(nix::sys::reboot::RebootMode::RB_HALT_SYSTEM);
    loop {
        std::thread::sleep(std::time::Duration::from_secs(3600));
    }
}
