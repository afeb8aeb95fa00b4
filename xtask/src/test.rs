//! `cargo xtask test`: the README's test command.

use std::process::Command;

use crate::system;

/// What the integration tests call, with the Debian package providing it.
pub const TEST_TOOLS: &[(&str, &str)] = &[
    ("losetup", "mount"),
    ("mount", "mount"),
    ("umount", "mount"),
    ("swapon", "mount"),
    ("partx", "util-linux"),
    ("mkswap", "util-linux"),
    ("mkfs.ext4", "e2fsprogs"),
];

/// Runs every test, then (unless `cargo_args` narrow the run) boots the USB
/// image in qemu: where that cannot run it is skipped with the reason, except
/// on CI, where it must run.
pub fn run(cargo_args: &[String]) -> anyhow::Result<()> {
    system::ensure_tools(TEST_TOOLS)?;
    system::run(
        Command::new(env!("CARGO"))
            .current_dir(system::workspace_root())
            .args(["test", "--workspace"])
            .args(cargo_args),
    )?;
    if !cargo_args.is_empty() {
        return Ok(());
    }
    match crate::image_test::can_run() {
        Ok(()) => crate::image_test::run(),
        Err(why) if std::env::var("CI").is_ok_and(|v| v == "true") => {
            anyhow::bail!("image-test cannot run on CI: {why}")
        }
        Err(why) => {
            eprintln!("skipping image-test: {why}");
            Ok(())
        }
    }
}
