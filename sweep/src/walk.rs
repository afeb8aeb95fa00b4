//! Walking a policy's roots by directory file descriptors.
//!
//! Every directory is opened relative to its parent's descriptor with
//! `O_NOFOLLOW | O_DIRECTORY`, and every file is looked at with `fstatat(…,
//! AT_SYMLINK_NOFOLLOW)`, so no symbolic link is ever followed and no path is
//! resolved twice: a directory swapped for a symlink while the walk runs makes
//! `openat` fail (and the walk skip it) instead of leading outside the root.

use std::ffi::{OsStr, OsString};
use std::os::fd::{AsFd, BorrowedFd, OwnedFd};
use std::os::unix::ffi::OsStrExt;
use std::path::{Component, Path, PathBuf};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;

use nix::errno::Errno;
use nix::fcntl::{AtFlags, OFlag};
use nix::sys::stat::{FileStat, Mode, SFlag};

use crate::error::SweepError;

/// An open directory, with the identity it had when opened.
#[derive(Debug)]
pub struct Dir {
    fd: OwnedFd,
    pub device: u64,
    pub inode: u64,
}

impl AsFd for Dir {
    fn as_fd(&self) -> BorrowedFd<'_> {
        self.fd.as_fd()
    }
}

const DIR_FLAGS: OFlag = OFlag::O_RDONLY
    .union(OFlag::O_DIRECTORY)
    .union(OFlag::O_NOFOLLOW)
    .union(OFlag::O_CLOEXEC);

impl Dir {
    fn from_fd(fd: OwnedFd) -> Result<Dir, Errno> {
        let stat = nix::sys::stat::fstat(&fd)?;
        Ok(Dir {
            fd,
            device: stat.st_dev,
            inode: stat.st_ino,
        })
    }

    /// Opens a root named by the policy. The root itself must not be a symbolic
    /// link (its parents are the administrator's to trust).
    pub fn open_root(path: &Path) -> Result<Dir, SweepError> {
        let io = |errno: Errno| SweepError::Root {
            path: path.to_path_buf(),
            why: match errno {
                Errno::ELOOP => "is a symbolic link; name the real folder".into(),
                Errno::ENOTDIR => "is not a folder".into(),
                other => other.desc().into(),
            },
        };
        let fd = nix::fcntl::open(path, DIR_FLAGS, Mode::empty()).map_err(io)?;
        Dir::from_fd(fd).map_err(io)
    }

    /// Opens the subdirectory `name`, never through a symbolic link.
    pub fn child(&self, name: &OsStr) -> Result<Dir, Errno> {
        let fd = nix::fcntl::openat(&self.fd, name, DIR_FLAGS, Mode::empty())?;
        Dir::from_fd(fd)
    }

    /// Walks `rel` (a path below this directory) one component at a time, each
    /// with `O_NOFOLLOW`; fails if any component is not a real directory now.
    pub fn descend(self: &Arc<Dir>, rel: &Path) -> Result<Arc<Dir>, Errno> {
        let mut dir = Arc::clone(self);
        for component in rel.components() {
            match component {
                Component::Normal(name) => dir = Arc::new(dir.child(name)?),
                Component::CurDir => {}
                _ => return Err(Errno::EINVAL),
            }
        }
        Ok(dir)
    }

    /// The entry `name` as it is now, without following a link.
    pub fn stat(&self, name: &OsStr) -> Result<FileStat, Errno> {
        nix::sys::stat::fstatat(&self.fd, name, AtFlags::AT_SYMLINK_NOFOLLOW)
    }

    /// Opens `name` for reading only, never through a link, and checks it is
    /// still the regular file (device, inode) that was decided on.
    pub fn open_file(&self, name: &OsStr, device: u64, inode: u64) -> Result<std::fs::File, Errno> {
        let fd = nix::fcntl::openat(
            &self.fd,
            name,
            OFlag::O_RDONLY
                | OFlag::O_NOFOLLOW
                | OFlag::O_NONBLOCK
                | OFlag::O_NOCTTY
                | OFlag::O_CLOEXEC,
            Mode::empty(),
        )?;
        let stat = nix::sys::stat::fstat(&fd)?;
        if !is_regular(&stat) || stat.st_dev != device || stat.st_ino != inode {
            return Err(Errno::ESTALE);
        }
        Ok(std::fs::File::from(fd))
    }

    /// The names in this directory with their kinds as readdir reports them.
    fn entries(&self) -> Result<Vec<(OsString, Option<nix::dir::Type>)>, Errno> {
        let listing = nix::unistd::dup(&self.fd)?;
        let mut dir = nix::dir::Dir::from_fd(listing)?;
        let mut names = Vec::new();
        for entry in dir.iter() {
            let entry = entry?;
            let name = entry.file_name().to_bytes();
            if name == b"." || name == b".." {
                continue;
            }
            names.push((OsStr::from_bytes(name).to_os_string(), entry.file_type()));
        }
        Ok(names)
    }

    /// Finds the entry of this directory whose inode is `inode` (a file renamed by
    /// an interrupted removal is found this way).
    pub fn find_inode(&self, device: u64, inode: u64) -> Result<Option<OsString>, Errno> {
        for (name, _) in self.entries()? {
            match self.stat(&name) {
                Ok(stat) if stat.st_ino == inode && stat.st_dev == device && is_regular(&stat) => {
                    return Ok(Some(name))
                }
                _ => {}
            }
        }
        Ok(None)
    }
}

pub fn is_regular(stat: &FileStat) -> bool {
    SFlag::from_bits_truncate(stat.st_mode & SFlag::S_IFMT.bits()) == SFlag::S_IFREG
}

fn is_dir(stat: &FileStat) -> bool {
    SFlag::from_bits_truncate(stat.st_mode & SFlag::S_IFMT.bits()) == SFlag::S_IFDIR
}

/// A regular file met by the walk.
pub struct FileEntry<'a> {
    /// Its path relative to the root.
    pub rel: PathBuf,
    pub dir: &'a Arc<Dir>,
    pub name: &'a OsStr,
    pub stat: FileStat,
}

/// What the walk saw besides regular files.
#[derive(Debug, Default)]
pub struct WalkCounts {
    pub files: AtomicU64,
    pub directories: AtomicU64,
    /// Symbolic links, never followed.
    pub links: AtomicU64,
    /// Sockets, FIFOs, device nodes.
    pub special: AtomicU64,
    /// Directories on another filesystem, not entered with one_file_system.
    pub other_filesystems: AtomicU64,
}

/// A directory or entry that could not be read; the walk goes on.
#[derive(Debug, Clone)]
pub struct WalkProblem {
    pub path: PathBuf,
    pub why: String,
}

pub struct Walk<'a> {
    pub root_path: &'a Path,
    pub one_file_system: bool,
    pub visit: &'a (dyn Fn(FileEntry) + Sync),
    pub problem: &'a (dyn Fn(WalkProblem) + Sync),
    pub counts: &'a WalkCounts,
}

impl Walk<'_> {
    /// Walks the whole tree below `root`, directories in parallel.
    pub fn run(&self, root: Arc<Dir>) {
        rayon::scope(|scope| self.directory(scope, root, PathBuf::new()));
    }

    fn directory<'s>(&'s self, scope: &rayon::Scope<'s>, dir: Arc<Dir>, rel: PathBuf) {
        self.counts.directories.fetch_add(1, Ordering::Relaxed);
        let entries = match dir.entries() {
            Ok(entries) => entries,
            Err(errno) => {
                return (self.problem)(WalkProblem {
                    path: self.root_path.join(&rel),
                    why: format!("cannot list: {}", errno.desc()),
                })
            }
        };
        for (name, kind) in entries {
            use nix::dir::Type;
            match kind {
                Some(Type::Symlink) => {
                    self.counts.links.fetch_add(1, Ordering::Relaxed);
                }
                Some(Type::Directory) => self.subdirectory(scope, &dir, &rel, name),
                Some(Type::Fifo | Type::Socket | Type::BlockDevice | Type::CharacterDevice) => {
                    self.counts.special.fetch_add(1, Ordering::Relaxed);
                }
                Some(Type::File) | None => match dir.stat(&name) {
                    Ok(stat) if is_regular(&stat) => {
                        self.counts.files.fetch_add(1, Ordering::Relaxed);
                        (self.visit)(FileEntry {
                            rel: rel.join(&name),
                            dir: &dir,
                            name: &name,
                            stat,
                        });
                    }
                    Ok(stat) if is_dir(&stat) => self.subdirectory(scope, &dir, &rel, name),
                    Ok(_) => {
                        self.counts.special.fetch_add(1, Ordering::Relaxed);
                    }
                    Err(Errno::ENOENT) => {} // gone since it was listed
                    Err(errno) => (self.problem)(WalkProblem {
                        path: self.root_path.join(&rel).join(&name),
                        why: errno.desc().into(),
                    }),
                },
            }
        }
    }

    fn subdirectory<'s>(
        &'s self,
        scope: &rayon::Scope<'s>,
        parent: &Arc<Dir>,
        rel: &Path,
        name: OsString,
    ) {
        let parent = Arc::clone(parent);
        let rel = rel.join(&name);
        // Opened inside the task, so queued directories hold no descriptor of their own.
        scope.spawn(move |scope| match parent.child(&name) {
            Ok(child) if self.one_file_system && child.device != parent.device => {
                self.counts
                    .other_filesystems
                    .fetch_add(1, Ordering::Relaxed);
            }
            Ok(child) => {
                drop(parent);
                self.directory(scope, Arc::new(child), rel);
            }
            // Replaced by a symlink or removed since it was listed: not followed.
            Err(Errno::ELOOP | Errno::ENOTDIR) => {
                self.counts.links.fetch_add(1, Ordering::Relaxed);
            }
            Err(Errno::ENOENT) => {}
            Err(errno) => (self.problem)(WalkProblem {
                path: self.root_path.join(&rel),
                why: format!("cannot open: {}", errno.desc()),
            }),
        });
    }
}

/// Raises the soft limit on open files to the hard limit: a parallel walk of a
/// deep tree holds a descriptor per directory in progress.
pub fn raise_open_file_limit() {
    use nix::sys::resource::{getrlimit, setrlimit, Resource};
    if let Ok((soft, hard)) = getrlimit(Resource::RLIMIT_NOFILE) {
        if soft < hard {
            let _ = setrlimit(Resource::RLIMIT_NOFILE, hard, hard);
        }
    }
}
