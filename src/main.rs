//! The `wisp` command: parses arguments, calls the libraries, prints, and picks the
//! exit code. No capability lives here; see ARCHITECTURE.md.

mod cli;
mod commands;
mod output;

use std::process::ExitCode;

use clap::Parser;

/// Scans allocate for every part of every file they read; mimalloc's per-thread
/// heaps take less time than glibc's, and far less than musl's.
#[global_allocator]
static ALLOCATOR: Allocator = Allocator;

/// mimalloc, asked for alignment only when a layout needs more than every
/// block has. `mimalloc::MiMalloc` always calls the aligned functions, whose
/// fast path ends at 1 KiB: every larger block (file contents, decoded text)
/// took the slow aligned path.
struct Allocator;

/// The alignment every mimalloc block has: blocks are whole machine words
/// from a word-aligned start (a 24-byte block is not 16-aligned).
const MIMALLOC_ALIGNMENT: usize = std::mem::size_of::<usize>();

impl Allocator {
    /// Whether a plain mimalloc block is aligned enough for `layout`.
    fn plain(layout: std::alloc::Layout) -> bool {
        layout.align() <= MIMALLOC_ALIGNMENT
    }
}

// SAFETY: every block comes from mimalloc and goes back to it (`mi_free`
// takes blocks of both kinds); the plain functions are used only where their
// blocks meet the layout's alignment (see `plain`), the aligned ones elsewhere.
unsafe impl std::alloc::GlobalAlloc for Allocator {
    unsafe fn alloc(&self, layout: std::alloc::Layout) -> *mut u8 {
        // SAFETY: mimalloc's allocation functions take any size.
        unsafe {
            if Self::plain(layout) {
                libmimalloc_sys::mi_malloc(layout.size()).cast()
            } else {
                libmimalloc_sys::mi_malloc_aligned(layout.size(), layout.align()).cast()
            }
        }
    }

    unsafe fn alloc_zeroed(&self, layout: std::alloc::Layout) -> *mut u8 {
        // SAFETY: as in `alloc`.
        unsafe {
            if Self::plain(layout) {
                libmimalloc_sys::mi_zalloc(layout.size()).cast()
            } else {
                libmimalloc_sys::mi_zalloc_aligned(layout.size(), layout.align()).cast()
            }
        }
    }

    unsafe fn dealloc(&self, ptr: *mut u8, _layout: std::alloc::Layout) {
        // SAFETY: `ptr` came from this allocator, so from mimalloc.
        unsafe { libmimalloc_sys::mi_free(ptr.cast()) }
    }

    unsafe fn realloc(&self, ptr: *mut u8, layout: std::alloc::Layout, new_size: usize) -> *mut u8 {
        // SAFETY: `ptr` came from mimalloc; the new block keeps the alignment
        // the layout needs (the same before and after), by the rule of `alloc`.
        unsafe {
            if Self::plain(layout) {
                libmimalloc_sys::mi_realloc(ptr.cast(), new_size).cast()
            } else {
                libmimalloc_sys::mi_realloc_aligned(ptr.cast(), new_size, layout.align()).cast()
            }
        }
    }
}

/// Exit codes, documented in `wisp --help`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Outcome {
    /// Everything asked for was done and every check passed.
    Success = 0,
    /// The work ran but found a problem it reports (a check failed, a target was refused).
    Failure = 1,
    /// Another process holds the lock this work needs; nothing was done.
    Busy = 3,
}

fn main() -> ExitCode {
    let cli = cli::Cli::parse();
    match commands::run(cli) {
        Ok(outcome) => ExitCode::from(outcome as u8),
        Err(err) => {
            if output::is_broken_pipe(&err) {
                // `wisp devices | head` is not an error.
                return ExitCode::SUCCESS;
            }
            output::print_error(&err);
            ExitCode::from(2)
        }
    }
}

#[cfg(test)]
mod tests {
    use std::alloc::{GlobalAlloc, Layout};

    use super::Allocator;

    #[test]
    fn blocks_have_the_alignment_and_contents_asked_for() {
        for align in [1, 2, 4, 8, 16, 32, 64, 4096] {
            for size in (1..300).chain([1023, 1024, 1025, 4000, 70_000]) {
                let layout = Layout::from_size_align(size, align).unwrap();
                // SAFETY: the layouts have non-zero sizes; every block is
                // written within its size and freed once, with its layout.
                unsafe {
                    let zeroed = Allocator.alloc_zeroed(layout);
                    assert_eq!(zeroed as usize % align, 0, "zeroed {size} by {align}");
                    assert!((0..size).all(|i| *zeroed.add(i) == 0), "{size} zeroed");
                    Allocator.dealloc(zeroed, layout);

                    let block = Allocator.alloc(layout);
                    assert_eq!(block as usize % align, 0, "{size} by {align}");
                    block.write_bytes(0xa5, size);
                    let bigger = Allocator.realloc(block, layout, size * 3);
                    assert_eq!(bigger as usize % align, 0, "{size} grown, by {align}");
                    assert!((0..size).all(|i| *bigger.add(i) == 0xa5), "{size} kept");
                    let grown = Layout::from_size_align(size * 3, align).unwrap();
                    let smaller = Allocator.realloc(bigger, grown, size.div_ceil(2));
                    assert_eq!(smaller as usize % align, 0, "{size} shrunk, by {align}");
                    assert!((0..size.div_ceil(2)).all(|i| *smaller.add(i) == 0xa5));
                    let shrunk = Layout::from_size_align(size.div_ceil(2), align).unwrap();
                    Allocator.dealloc(smaller, shrunk);
                }
            }
        }
    }
}
