//! Erasure of drives and files, and the device discovery that keeps it safe.
//!
//! Discovery reads sysfs and procfs only: it never opens a device node, so listing
//! drives cannot disturb them. Everything that decides whether a device may be wiped
//! (mounted, swap, root filesystem, boot medium, holders) is computed here, so the
//! wipe and the listing can never disagree about it.

pub mod discovery;
pub mod engine;
mod error;
pub mod method;
pub mod remove;
pub mod resume;
pub mod sample;
pub mod stream;
pub mod target;
pub mod wipe;

pub use error::ShredError;

pub use discovery::{
    discover, BlockDevice, BootEvidence, DevNum, DiscoveryError, EmptyDevices, Hazard, Partition,
    SystemView, Transport, Usage,
};
