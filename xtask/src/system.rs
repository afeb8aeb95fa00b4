//! Running commands, and installing missing tools from Debian's packages.

use std::path::{Path, PathBuf};
use std::process::Command;

use anyhow::{bail, Context};

/// The workspace root (xtask lives one level below it).
pub fn workspace_root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .parent()
        .expect("xtask has a parent directory")
        .to_path_buf()
}

/// Runs `command`, echoing it to stderr, and fails with its exit status.
pub fn run(command: &mut Command) -> anyhow::Result<()> {
    eprintln!("$ {}", describe(command));
    let status = command
        .status()
        .with_context(|| format!("cannot start {}", describe(command)))?;
    if !status.success() {
        bail!("{} failed with {status}", describe(command));
    }
    Ok(())
}

/// Runs `command` and returns its stdout, failing with its stderr.
pub fn output(command: &mut Command) -> anyhow::Result<String> {
    let out = command
        .output()
        .with_context(|| format!("cannot start {}", describe(command)))?;
    if !out.status.success() {
        bail!(
            "{} failed with {}: {}",
            describe(command),
            out.status,
            String::from_utf8_lossy(&out.stderr).trim()
        );
    }
    Ok(String::from_utf8_lossy(&out.stdout).into_owned())
}

fn describe(command: &Command) -> String {
    std::iter::once(command.get_program())
        .chain(command.get_args())
        .map(|part| part.to_string_lossy().into_owned())
        .collect::<Vec<_>>()
        .join(" ")
}

/// One binary to build with `cargo build --release --locked`.
pub struct ReleaseBuild<'a> {
    pub package: &'a str,
    pub binary: &'a str,
    pub target: &'a str,
    /// Its own target folder, where its flags must not force a rebuild of
    /// the workspace's `target/`.
    pub target_dir: Option<&'a Path>,
    pub rustflags: &'a str,
}

/// Builds `build` and returns the binary's path.
pub fn build_release(root: &Path, build: &ReleaseBuild) -> anyhow::Result<PathBuf> {
    let target_dir = build
        .target_dir
        .map_or_else(|| root.join("target"), Path::to_path_buf);
    run(Command::new(env!("CARGO"))
        .current_dir(root)
        .args(["build", "--release", "--locked", "--package", build.package])
        .args(["--bin", build.binary, "--target", build.target])
        .arg("--target-dir")
        .arg(&target_dir)
        .env("RUSTFLAGS", build.rustflags))?;
    Ok(target_dir
        .join(build.target)
        .join("release")
        .join(build.binary))
}

pub fn which(tool: &str) -> Option<PathBuf> {
    let path = std::env::var_os("PATH").unwrap_or_default();
    std::env::split_paths(&path)
        .chain(["/sbin", "/usr/sbin", "/usr/local/sbin"].map(PathBuf::from))
        .map(|dir| dir.join(tool))
        .find(|candidate| candidate.is_file())
}

pub fn is_root() -> bool {
    output(Command::new("id").arg("-u")).is_ok_and(|uid| uid.trim() == "0")
}

/// Makes sure each `(tool, debian package)` is present, installing the packages of
/// missing tools with apt-get when running as root. Without root it only reports,
/// because the tests that need these tools skip themselves there.
pub fn ensure_tools(tools: &[(&str, &str)]) -> anyhow::Result<()> {
    let mut packages: Vec<&str> = tools
        .iter()
        .filter(|(tool, _)| which(tool).is_none())
        .map(|&(_, package)| package)
        .collect();
    install(&mut packages)
}

/// Makes sure each `(file, debian package)` exists, installing missing packages as root.
pub fn ensure_files(files: &[(&str, &str)]) -> anyhow::Result<()> {
    let mut packages: Vec<&str> = files
        .iter()
        .filter(|(path, _)| !Path::new(path).exists())
        .map(|&(_, package)| package)
        .collect();
    install(&mut packages)?;
    match files.iter().find(|(path, _)| !Path::new(path).exists()) {
        Some((path, package)) => {
            bail!("{path} is missing: install the Debian package {package} (apt-get install {package})")
        }
        None => Ok(()),
    }
}

fn install(packages: &mut Vec<&str>) -> anyhow::Result<()> {
    packages.sort_unstable();
    packages.dedup();
    if packages.is_empty() {
        return Ok(());
    }
    if !is_root() {
        eprintln!(
            "note: not root, so not installing {}; tests needing them will skip",
            packages.join(" ")
        );
        return Ok(());
    }
    run(Command::new("apt-get").arg("update").arg("-qq"))?;
    run(Command::new("apt-get")
        .args(["install", "-y", "-qq", "--no-install-recommends"])
        .args(packages.iter())
        .env("DEBIAN_FRONTEND", "noninteractive"))
}

/// Makes sure a rustup target is installed.
pub fn ensure_rust_target(target: &str) -> anyhow::Result<()> {
    let installed = output(Command::new("rustup").args(["target", "list", "--installed"]))?;
    if installed.lines().any(|line| line.trim() == target) {
        return Ok(());
    }
    run(Command::new("rustup").args(["target", "add", target]))
}
