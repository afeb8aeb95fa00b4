//! The boot stick's `/init`, as a library of the parts that decide things:
//!
//! - `cmdline`: what the kernel command line asks for (`wisp.auto=all`,
//!   `wisp.target=serial:…`, `wisp.method=…`, `wisp.verify=…`).
//! - `config`: the operator and defaults the user wrote on the stick.
//! - `modules`: which kernel modules the hardware present needs, by matching
//!   device modaliases against `modules.alias`, with their dependencies in order.
//! - `stick`: finding the medium the system booted from by its marker, through
//!   read-only probe mounts, so it is never offered for wiping.
//! - `session`: the drives offered, the unattended selection, the wipe and
//!   the exports written to the stick.
//! - `system`: mounting the kernel's filesystems and powering off.
//!
//! The binary (`wisp-init`, PID 1) wires them to the terminal front end.

pub mod cmdline;
pub mod config;
pub mod modules;
pub mod session;
pub mod stick;
pub mod system;

/// The file on the certificate partition that marks a wisp boot stick.
pub const MARKER_FILE: &str = "WISP.ID";
/// The certificate partition's FAT label.
pub const CERTS_LABEL: &str = "WISPCERTS";
/// Where the ledger lives on the certificate partition.
pub const LEDGER_DIR: &str = "ledger";
/// The operator and defaults file on the certificate partition.
pub const CONFIG_FILE: &str = "wisp.toml";
