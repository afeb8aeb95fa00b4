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

pub fn run(cargo_args: &[String]) -> anyhow::Result<()> {
    system::ensure_tools(TEST_TOOLS)?;
    system::run(
        Command::new(env!("CARGO"))
            .current_dir(system::workspace_root())
            .args(["test", "--workspace"])
            .args(cargo_args),
    )
}
