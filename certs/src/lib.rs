//! Disposal certificates: what was destroyed, how, by whom, and how it was
//! verified — recorded in an append-only, Merkle-tree ledger with Ed25519-signed
//! checkpoints that anyone holding the public key can verify offline.
//!
//! This crate is the only place a certificate is serialized, so the bytes that
//! are hashed and signed cannot change by accident elsewhere.

pub mod bundle;
pub mod certificate;
pub mod checkpoint;
pub mod env;
pub mod error;
pub mod export;
mod fs_util;
pub mod keys;
pub mod ledger;
pub mod merkle;
pub mod verify;

pub use certificate::{
    Category, Certificate, DeviceMedia, Disposal, Exception, ExceptionKind, FileMedia, Findings,
    Media, MediaType, Operator, Pass, PhysicalMedia, RetentionContext, Sanitization, Tool,
    Verification, VerificationResult,
};
pub use checkpoint::SignedCheckpoint;
pub use env::{Clock, FixedClock, OsRandom, RandomSource, SeededRandom, SystemClock};
pub use error::LedgerError;
pub use keys::{FingerprintKey, PublicKey};
pub use ledger::{Appended, Ledger, Recovery};
pub use verify::{verify_bundle, verify_ledger, Tamper, Verdict, Verified};

#[cfg(test)]
mod tests;
