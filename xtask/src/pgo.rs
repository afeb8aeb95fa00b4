//! Profile-guided builds of the `wisp` binary: the release (`dist`, static
//! musl) and the benchmarks (for the host) are built the same way.
//!
//! An inventory scan runs a dozen parsers over a mix of files; where the
//! compiler knows which branches and functions are hot it lays the code out
//! so that the mix fits the caches (about 6% less time on the bench corpus).
//! The profile comes from scanning a corpus written with another seed than
//! the benchmark's, so the benchmark does not measure the documents the
//! profile was taken from.

use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};

use anyhow::Context;

use crate::system;

/// The training corpus's seed: not [`crate::corpus::BENCH_SEED`].
const TRAINING_SEED: u64 = 7;

/// Files in the training corpus: every kind, many times over.
const TRAINING_FILES: usize = 2_000;

/// Where a build is for.
pub struct Build<'a> {
    /// The target triple (always given, so that RUSTFLAGS reach the binary
    /// only, not build scripts and proc macros).
    pub target: &'a str,
    /// RUSTFLAGS the build needs besides the profile's.
    pub rustflags: &'a str,
}

/// Builds `wisp` instrumented, scans the training corpus with it, and builds it
/// again optimized by that profile; returns the optimized binary. `None` when
/// `llvm-profdata` (rustup's `llvm-tools`) cannot be had: the caller builds
/// without a profile and says so.
pub fn build_wisp(root: &Path, build: &Build) -> anyhow::Result<Option<PathBuf>> {
    let Some(profdata) = llvm_profdata()? else {
        return Ok(None);
    };
    let dir = root.join("target/pgo");
    let raw = dir.join("raw");
    if raw.exists() {
        std::fs::remove_dir_all(&raw).with_context(|| format!("cannot clear {}", raw.display()))?;
    }
    std::fs::create_dir_all(&raw)?;
    let instrumented = cargo_build(
        root,
        build,
        &dir.join("generate"),
        &format!("-Cprofile-generate={}", raw.display()),
    )?;

    let corpus = tempfile::Builder::new()
        .prefix("wisp-pgo-corpus-")
        .tempdir_in(root.join("target"))?;
    crate::corpus::generate(corpus.path(), TRAINING_FILES, TRAINING_SEED)?;
    for format in ["csv", "json"] {
        let status = Command::new(&instrumented)
            .args(["inventory", "--no-catalog", "--format", format])
            .arg(corpus.path())
            .env("LLVM_PROFILE_FILE", raw.join("wisp-%p-%m.profraw"))
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .status()
            .with_context(|| format!("cannot run {}", instrumented.display()))?;
        anyhow::ensure!(
            status.success(),
            "the instrumented wisp failed its training scan ({status})"
        );
    }
    let merged = dir.join("wisp.profdata");
    system::run(
        Command::new(&profdata)
            .arg("merge")
            .arg("-o")
            .arg(&merged)
            .arg(&raw),
    )?;
    let optimized = cargo_build(
        root,
        build,
        &dir.join("use"),
        &format!("-Cprofile-use={}", merged.display()),
    )?;
    Ok(Some(optimized))
}

/// `cargo build --release` of the `wisp` binary into its own target folder
/// (so that these flags never force a rebuild of the plain one).
fn cargo_build(
    root: &Path,
    build: &Build,
    target_dir: &Path,
    profile_flag: &str,
) -> anyhow::Result<PathBuf> {
    system::build_release(
        root,
        &system::ReleaseBuild {
            package: "wisp",
            binary: "wisp",
            target: build.target,
            target_dir: Some(target_dir),
            rustflags: format!("{} {profile_flag}", build.rustflags).trim(),
        },
    )
}

/// The host's triple, as rustc names it.
pub fn host_triple() -> anyhow::Result<String> {
    let version = system::output(Command::new("rustc").arg("-vV"))?;
    version
        .lines()
        .find_map(|line| line.strip_prefix("host: "))
        .map(|host| host.trim().to_string())
        .context("rustc -vV names no host")
}

/// The `llvm-profdata` of the toolchain's own LLVM (another LLVM's cannot
/// read its profiles), installing rustup's `llvm-tools` if need be.
fn llvm_profdata() -> anyhow::Result<Option<PathBuf>> {
    let sysroot = system::output(Command::new("rustc").args(["--print", "sysroot"]))?;
    let tool = Path::new(sysroot.trim())
        .join("lib/rustlib")
        .join(host_triple()?)
        .join("bin/llvm-profdata");
    if !tool.exists() {
        // No network or no rustup: the caller builds without a profile.
        let _ = Command::new("rustup")
            .args(["component", "add", "llvm-tools"])
            .status();
    }
    Ok(tool.exists().then_some(tool))
}
