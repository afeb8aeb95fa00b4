//! Removing a wiped file so its name and size go too: truncate, rename to random
//! names of shrinking length (each rename made durable with a directory fsync),
//! then unlink — the way GNU shred's `-u` does, with RENAME_NOREPLACE so no other
//! file can ever be replaced.

use std::ffi::OsString;
use std::fs::File;
use std::os::unix::ffi::OsStrExt;
use std::path::Path;

use std::ffi::{CString, OsStr};
use std::os::fd::{AsFd, AsRawFd, BorrowedFd};

use nix::errno::Errno;
use nix::fcntl::OFlag;
use nix::sys::stat::Mode;
use nix::unistd::{unlinkat, UnlinkatFlags};

use crate::error::ShredError;

const NAME_ALPHABET: &[u8] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789";

/// renameat2(RENAME_NOREPLACE), by system call: nix and the C libraries expose
/// the wrapper only on glibc, and the release binary is musl. Never replaces an
/// existing entry.
pub fn rename_noreplace(
    from_dir: BorrowedFd,
    from: &OsStr,
    to_dir: BorrowedFd,
    to: &OsStr,
) -> Result<(), Errno> {
    let from = CString::new(from.as_bytes()).map_err(|_| Errno::EINVAL)?;
    let to = CString::new(to.as_bytes()).map_err(|_| Errno::EINVAL)?;
    // SAFETY: both descriptors are open directories and both paths are
    // NUL-terminated strings that live until the call returns.
    let rc = unsafe {
        nix::libc::syscall(
            nix::libc::SYS_renameat2,
            from_dir.as_raw_fd(),
            from.as_ptr(),
            to_dir.as_raw_fd(),
            to.as_ptr(),
            nix::libc::RENAME_NOREPLACE,
        )
    };
    Errno::result(rc).map(drop)
}

/// Truncates, renames and unlinks `path`. `seed` makes the random names.
pub fn remove_file(path: &Path, file: &File, seed: &[u8; 16]) -> Result<(), ShredError> {
    let errno = |e: nix::errno::Errno| ShredError::Io {
        path: path.to_path_buf(),
        source: e.into(),
    };
    let parent = match path.parent() {
        Some(p) if !p.as_os_str().is_empty() => p,
        _ => Path::new("."),
    };
    let dir_fd = nix::fcntl::open(
        parent,
        OFlag::O_DIRECTORY | OFlag::O_RDONLY | OFlag::O_CLOEXEC,
        Mode::empty(),
    )
    .map_err(errno)?;
    let name = path.file_name().ok_or_else(|| ShredError::Io {
        path: path.to_path_buf(),
        source: std::io::Error::other("no file name"),
    })?;
    remove_at(&File::from(dir_fd), name, path, file, seed)
}

/// Truncates `file`, then renames the entry `name` of the open directory `dir`
/// to random names of shrinking length (each made durable) and unlinks it.
/// `shown` is the path errors name.
pub fn remove_at(
    dir: &impl AsFd,
    name: &OsStr,
    shown: &Path,
    file: &File,
    seed: &[u8; 16],
) -> Result<(), ShredError> {
    let io = |source: std::io::Error| ShredError::Io {
        path: shown.to_path_buf(),
        source,
    };
    let errno = |e: nix::errno::Errno| ShredError::Io {
        path: shown.to_path_buf(),
        source: e.into(),
    };
    file.set_len(0).map_err(io)?;
    file.sync_all().map_err(io)?;
    let dir = dir.as_fd();
    let sync_dir = || nix::unistd::fsync(dir).map_err(errno);
    let mut current: OsString = name.to_os_string();
    let mut names = blake3::Hasher::new_derive_key("wisp shred file names v1")
        .update(seed)
        .finalize_xof();
    for len in (1..=current.len()).rev() {
        // A few tries per length: a name may already be taken.
        for _ in 0..8 {
            let mut raw = vec![0u8; len];
            names.fill(&mut raw);
            let candidate: Vec<u8> = raw
                .iter()
                .map(|b| NAME_ALPHABET[*b as usize % NAME_ALPHABET.len()])
                .collect();
            let candidate = OsString::from(OsStr::from_bytes(&candidate));
            match rename_noreplace(dir, &current, dir, &candidate) {
                Ok(()) => {
                    sync_dir()?;
                    current = candidate;
                    break;
                }
                Err(nix::errno::Errno::EEXIST) => continue,
                Err(e) => return Err(errno(e)),
            }
        }
    }
    unlinkat(dir, current.as_os_str(), UnlinkatFlags::NoRemoveDir).map_err(errno)?;
    sync_dir()
}
