//! `cargo xtask dist`: a static binary someone can copy onto any x86_64 Linux
//! (or into the boot image), with its man page and completions.

use std::path::{Path, PathBuf};
use std::process::Command;

use anyhow::{bail, Context};

use crate::system;

pub const TARGET: &str = "x86_64-unknown-linux-musl";

/// Builds the distribution and returns the path of the static binary.
pub fn run() -> anyhow::Result<PathBuf> {
    let root = system::workspace_root();
    prepare_static()?;
    let profiled = crate::pgo::build_wisp(
        &root,
        &crate::pgo::Build {
            target: TARGET,
            rustflags: STATIC_RUSTFLAGS,
        },
    )?;
    let built = match profiled {
        Some(built) => {
            check_static(&built)?;
            built
        }
        None => {
            eprintln!("dist: llvm-profdata (rustup's llvm-tools) is not to be had: building without a profile");
            build_static(&root, "wisp", "wisp")?
        }
    };

    let version = system::output(Command::new(&built).arg("--version"))
        .with_context(|| format!("the built binary {} does not run", built.display()))?;
    let version = version.trim().trim_start_matches("wisp ").to_string();
    let dist = root.join("target/dist");
    let folder = dist.join(format!("wisp-{version}-{TARGET}"));
    if folder.exists() {
        std::fs::remove_dir_all(&folder)?;
    }
    std::fs::create_dir_all(folder.join("completions"))?;
    let binary = folder.join("wisp");
    std::fs::copy(&built, &binary)?;

    let generate = |what: &str| system::output(Command::new(&binary).args(["generate", what]));
    let man = folder.join("man");
    std::fs::create_dir_all(&man)?;
    system::run(
        Command::new(&binary)
            .args(["generate", "man", "--out-dir"])
            .arg(&man),
    )?;
    for (shell, file) in [
        ("bash", "wisp.bash"),
        ("zsh", "_wisp"),
        ("fish", "wisp.fish"),
        ("elvish", "wisp.elv"),
        ("powershell", "_wisp.ps1"),
    ] {
        std::fs::write(folder.join("completions").join(file), generate(shell)?)?;
    }
    for doc in ["README.md", "ARCHITECTURE.md"] {
        std::fs::copy(root.join(doc), folder.join(doc))?;
    }
    let archive = dist.join(format!("wisp-{version}-{TARGET}.tar.gz"));
    system::run(
        Command::new("tar")
            .arg("-czf")
            .arg(&archive)
            .arg("-C")
            .arg(&dist)
            .arg(folder.file_name().unwrap()),
    )?;
    eprintln!("dist: {} ({version}, static)", archive.display());
    println!("{}", binary.display());
    Ok(binary)
}

/// Builds `binary` of `package` as a static musl executable and returns its path.
pub fn build_static(root: &Path, package: &str, binary: &str) -> anyhow::Result<PathBuf> {
    prepare_static()?;
    let built = system::build_release(
        root,
        &system::ReleaseBuild {
            package,
            binary,
            target: TARGET,
            target_dir: None,
            rustflags: STATIC_RUSTFLAGS,
        },
    )?;
    check_static(&built)?;
    Ok(built)
}

/// What a static build needs: the musl target, and musl's C compiler for
/// the bundled C code (SQLite), which must see musl's headers.
fn prepare_static() -> anyhow::Result<()> {
    system::ensure_rust_target(TARGET)?;
    system::ensure_tools(&[("x86_64-linux-musl-gcc", "musl-tools")])
}

const STATIC_RUSTFLAGS: &str = "-C target-feature=+crt-static";

/// A static executable has no PT_INTERP program header (no dynamic loader).
fn check_static(binary: &std::path::Path) -> anyhow::Result<()> {
    let bytes =
        std::fs::read(binary).with_context(|| format!("cannot read {}", binary.display()))?;
    if bytes.len() < 64 || &bytes[..4] != b"\x7fELF" || bytes[4] != 2 {
        bail!("{} is not a 64-bit ELF file", binary.display());
    }
    let u16_at = |offset: usize| u16::from_le_bytes([bytes[offset], bytes[offset + 1]]) as usize;
    let u64_at = |offset: usize| {
        u64::from_le_bytes(bytes[offset..offset + 8].try_into().expect("8 bytes")) as usize
    };
    let (phoff, phentsize, phnum) = (u64_at(0x20), u16_at(0x36), u16_at(0x38));
    const PT_INTERP: u32 = 3;
    for index in 0..phnum {
        let header = phoff + index * phentsize;
        let kind = u32::from_le_bytes(bytes[header..header + 4].try_into().expect("4 bytes"));
        if kind == PT_INTERP {
            bail!(
                "{} is dynamically linked (has an interpreter)",
                binary.display()
            );
        }
    }
    Ok(())
}
