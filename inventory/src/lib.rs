//! Finding the personal information that 201 CMR 17.00 protects: a person's name
//! together with a Social Security number, a driver's licence or state ID number,
//! or a financial account or payment card number. Elements and names are also
//! reported on their own. Values never leave this crate unmasked.

pub mod catalog;
mod context_words;
pub mod detect;
pub mod extract;
pub mod fingerprint;
mod name_key;
pub mod names;
mod pdf;
pub mod read;
pub mod scan;
#[cfg(target_arch = "x86_64")]
mod sse2;
mod swar;
#[cfg(test)]
mod test_rng;
pub mod walk;
mod xml;

pub use catalog::{Catalog, CatalogError, Identity};
pub use detect::Element;
pub use fingerprint::{ValueFingerprint, ValueKey, VALUE_KEY_CONTEXT};
pub use read::{scan_bytes, scan_file, scan_file_keyed, FileKind, FileReport};
pub use scan::{Counts, Findings, Sample};
pub use walk::{scan_tree, FileSystems, ScanOptions, WalkError, WalkProblem};
