//! Integration tests: run the built `wisp` binary against fixtures made at test time.
//! One binary for all of them (as in ripgrep), so it links once.

#[macro_use]
mod util;

mod certs;
mod cli;
mod devices;
mod inventory;
mod shred;
mod sweep;
