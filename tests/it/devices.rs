//! `wisp devices` against loop devices the tests create.

use serde_json::Value;

use crate::util::*;

fn devices_json(extra: &[&str]) -> Vec<Value> {
    let mut args = vec!["devices", "--json"];
    args.extend_from_slice(extra);
    let output = run(&args);
    assert!(output.status.success(), "stderr: {}", stderr(&output));
    serde_json::from_slice(&output.stdout).expect("devices --json is not JSON")
}

fn find(devices: &[Value], path: &std::path::Path) -> Value {
    devices
        .iter()
        .find(|d| d["path"] == path.display().to_string())
        .cloned()
        .unwrap_or_else(|| panic!("{} not listed", path.display()))
}

fn strings(value: &Value) -> Vec<String> {
    value
        .as_array()
        .unwrap()
        .iter()
        .map(|v| v.as_str().unwrap().to_string())
        .collect()
}

#[test]
fn loop_device_identity_size_and_backing_file() {
    require_loop_devices!();
    let dir = temp_dir();
    // Not a multiple of 4 KiB: the size must be exact, not rounded to a block.
    let bytes = 64 * 1024 * 1024 + 3 * 512;
    let backing = sparse_file(dir.path(), "disk.img", bytes);
    let device = LoopDevice::attach(&backing, &LoopOptions::default());

    let listed = find(&devices_json(&[]), &device.path);
    assert_eq!(listed["size_bytes"], bytes);
    assert_eq!(listed["size_human"], "67.1 MB");
    assert_eq!(listed["transport"], "loop");
    assert_eq!(listed["read_only"], false);
    assert_eq!(listed["logical_sector_size"], 512);
    assert_eq!(
        listed["backing_file"],
        device.backing.canonicalize().unwrap().display().to_string()
    );
    assert!(strings(&listed["hazards"]).is_empty(), "{listed}");

    let table = run(&["devices"]);
    assert!(table.status.success());
    let text = stdout(&table);
    let line = text
        .lines()
        .find(|line| line.starts_with(&format!("{} ", device.path.display())))
        .unwrap_or_else(|| panic!("{} not in table:\n{text}", device.path.display()));
    assert!(line.contains(&bytes.to_string()), "{line}");
    assert!(line.contains("loop"), "{line}");
    assert!(line.contains("backing "), "{line}");
}

#[test]
fn read_only_and_4k_sectors() {
    require_loop_devices!();
    let dir = temp_dir();
    let backing = sparse_file(dir.path(), "ro.img", 8 * 1024 * 1024);
    let options = LoopOptions {
        read_only: true,
        sector_size: Some(4096),
        ..LoopOptions::default()
    };
    let device = LoopDevice::attach(&backing, &options);
    let listed = find(&devices_json(&[]), &device.path);
    assert_eq!(listed["read_only"], true);
    assert_eq!(listed["logical_sector_size"], 4096);
    assert_eq!(listed["size_bytes"], 8 * 1024 * 1024);
}

#[test]
fn mounted_partition_flags_its_disk() {
    require_loop_devices!();
    let dir = temp_dir();
    let backing = sparse_file(dir.path(), "parted.img", 48 * 1024 * 1024);
    // Two partitions of 20 MiB and 16 MiB, starting at 1 MiB and 22 MiB.
    write_mbr(&backing, &[(2048, 40960), (45056, 32768)]);
    let device = LoopDevice::attach(
        &backing,
        &LoopOptions {
            partition_scan: true,
            ..LoopOptions::default()
        },
    );
    let before = find(&devices_json(&[]), &device.path);
    let partitions = before["partitions"].as_array().unwrap();
    assert_eq!(partitions.len(), 2, "{before}");
    assert_eq!(partitions[0]["size_bytes"], 40960 * 512);
    assert_eq!(partitions[0]["start_sector"], 2048);
    assert_eq!(partitions[1]["size_bytes"], 32768 * 512);
    assert_eq!(partitions[1]["number"], 2);
    assert!(strings(&before["hazards"]).is_empty());

    let mounted = Mounted::ext4(&device.partition(2));
    let after = find(&devices_json(&[]), &device.path);
    assert_eq!(strings(&after["hazards"]), ["mounted"]);
    let usage = &after["usage"][0];
    assert_eq!(usage["kind"], "mounted");
    assert_eq!(usage["device"], device.partition(2).display().to_string());
    assert_eq!(usage["fstype"], "ext4");
    assert_eq!(
        usage["mountpoint"],
        mounted.mountpoint.path().display().to_string()
    );

    let table = stdout(&run(&["devices"]));
    let line = table
        .lines()
        .find(|l| l.starts_with(&format!("{} ", device.path.display())))
        .unwrap();
    assert!(line.contains("mounted"), "{line}");
    assert!(line.contains("2 partitions"), "{line}");

    drop(mounted);
    let unmounted = find(&devices_json(&[]), &device.path);
    assert!(strings(&unmounted["hazards"]).is_empty(), "{unmounted}");
}

#[test]
fn active_swap_is_flagged() {
    require_loop_devices!();
    let dir = temp_dir();
    let backing = sparse_file(dir.path(), "swap.img", 16 * 1024 * 1024);
    let device = LoopDevice::attach(&backing, &LoopOptions::default());
    let swap = Swap::on(&device.path);
    let listed = find(&devices_json(&[]), &device.path);
    assert_eq!(strings(&listed["hazards"]), ["swap"]);
    drop(swap);
    let listed = find(&devices_json(&[]), &device.path);
    assert!(strings(&listed["hazards"]).is_empty(), "{listed}");
}

#[test]
fn empty_devices_only_with_all() {
    require_loop_devices!();
    let default = devices_json(&[]);
    assert!(default
        .iter()
        .all(|d| d["size_bytes"].as_u64().unwrap() > 0));
    let all = devices_json(&["--all"]);
    assert!(all.len() >= default.len());
    // Every loop device node the kernel created but nothing is attached to.
    let empty_loops = std::fs::read_dir("/sys/block")
        .unwrap()
        .flatten()
        .filter(|e| e.file_name().to_string_lossy().starts_with("loop"))
        .filter(|e| {
            std::fs::read_to_string(e.path().join("size"))
                .unwrap_or_default()
                .trim()
                == "0"
        })
        .count();
    let listed_empty = all.iter().filter(|d| d["size_bytes"] == 0).count();
    assert!(
        listed_empty >= empty_loops.saturating_sub(1),
        "{listed_empty} < {empty_loops}"
    );
}
