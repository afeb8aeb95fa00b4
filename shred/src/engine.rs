//! Writing a pass and reading it back, at disk speed.
//!
//! Several workers share one target: each claims the next 4 MiB chunk, fills its
//! own aligned buffer from the pattern (the random stream can start at any offset)
//! and writes it with `pwrite`. While one generates, another's write is in flight,
//! so generation overlaps I/O and the device sees more than one request at a time.
//! Progress that is durable (fdatasync'ed, contiguous from the start) is reported
//! through a checkpoint callback so an interrupted wipe can resume.

use std::alloc::{alloc_zeroed, dealloc, Layout};
use std::collections::BTreeSet;
use std::fs::File;
use std::io;
use std::ops::{Deref, DerefMut};
use std::os::unix::fs::FileExt;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::Mutex;
use std::time::{Duration, Instant};

use crate::sample::Region;
use crate::stream::{fill, Pattern};

/// The unit of work and of each write request.
pub const CHUNK: u64 = 4 << 20;
/// Buffers are aligned for O_DIRECT on any device (4 KiB covers 512e and 4Kn).
const ALIGN: usize = 4096;
/// How often durable progress is recorded for resuming, by default.
pub const CHECKPOINT_EVERY: Duration = Duration::from_secs(2);

/// A heap buffer aligned for O_DIRECT.
pub struct AlignedBuf {
    ptr: *mut u8,
    len: usize,
}

// The buffer owns its allocation exclusively, like a Vec<u8>.
unsafe impl Send for AlignedBuf {}

impl AlignedBuf {
    pub fn new(len: usize) -> AlignedBuf {
        let layout = Layout::from_size_align(len.max(ALIGN), ALIGN).expect("valid layout");
        // SAFETY: the layout has a non-zero size.
        let ptr = unsafe { alloc_zeroed(layout) };
        if ptr.is_null() {
            std::alloc::handle_alloc_error(layout);
        }
        AlignedBuf { ptr, len }
    }
}

impl Deref for AlignedBuf {
    type Target = [u8];
    fn deref(&self) -> &[u8] {
        // SAFETY: ptr is valid for len initialized bytes for the buffer's lifetime.
        unsafe { std::slice::from_raw_parts(self.ptr, self.len) }
    }
}

impl DerefMut for AlignedBuf {
    fn deref_mut(&mut self) -> &mut [u8] {
        // SAFETY: as above, and &mut self guarantees exclusive access.
        unsafe { std::slice::from_raw_parts_mut(self.ptr, self.len) }
    }
}

impl Drop for AlignedBuf {
    fn drop(&mut self) {
        let layout = Layout::from_size_align(self.len.max(ALIGN), ALIGN).expect("valid layout");
        // SAFETY: allocated in new() with this same layout.
        unsafe { dealloc(self.ptr, layout) }
    }
}

/// Positioned I/O on a target. A `File` in use; a fake in tests, to inject the
/// media errors no test machine can produce on demand.
pub trait BlockIo: Sync {
    fn write_all_at(&self, buf: &[u8], offset: u64) -> io::Result<()>;
    fn read_exact_at(&self, buf: &mut [u8], offset: u64) -> io::Result<()>;
    /// Makes everything written so far durable.
    fn sync_data(&self) -> io::Result<()>;
}

impl BlockIo for File {
    fn write_all_at(&self, buf: &[u8], offset: u64) -> io::Result<()> {
        FileExt::write_all_at(self, buf, offset)
    }
    fn read_exact_at(&self, buf: &mut [u8], offset: u64) -> io::Result<()> {
        FileExt::read_exact_at(self, buf, offset)
    }
    fn sync_data(&self) -> io::Result<()> {
        File::sync_data(self)
    }
}

/// An open target: `size` bytes to cover, in whole `block`s.
pub struct Medium<'a> {
    pub file: &'a dyn BlockIo,
    pub size: u64,
    pub block: u64,
    pub workers: usize,
    /// How often a pass flushes and records durable progress.
    pub checkpoint_every: Duration,
}

/// Receives progress from the workers (called concurrently).
pub trait Progress: Sync {
    fn advance(&self, bytes: u64);
}

/// Progress nobody watches.
pub struct NoProgress;
impl Progress for NoProgress {
    fn advance(&self, _: u64) {}
}

#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct WriteOutcome {
    pub bytes: u64,
    /// Ranges the device refused to write (media errors), block by block.
    pub failed: Vec<Region>,
}

#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct VerifyOutcome {
    pub bytes_read: u64,
    /// Ranges whose contents differ from what was written.
    pub mismatched: Vec<Region>,
    /// Ranges that could not be read (media errors).
    pub unreadable: Vec<Region>,
    /// BLAKE3 over the BLAKE3 of each piece read, in order: a fingerprint of what
    /// was read back that a later re-check must reproduce.
    pub hash: [u8; 32],
}

/// The buffer a worker needs: one chunk, or less for a small target (a 2 KB file
/// must not cost a 4 MiB allocation and its unmapping).
fn buffer_len(span: u64) -> usize {
    span.min(CHUNK).next_multiple_of(ALIGN as u64) as usize
}

/// Runs `worker` on `workers` threads; a single worker runs on the calling thread,
/// which matters when many small files are wiped at once.
fn run_workers(workers: usize, worker: impl Fn() + Sync) {
    if workers <= 1 {
        worker();
        return;
    }
    std::thread::scope(|scope| {
        for _ in 0..workers {
            scope.spawn(&worker);
        }
    });
}

/// Is this error the medium failing on some sectors (go on, and report the range)
/// rather than the whole operation failing (stop)?
fn is_media_error(err: &io::Error) -> bool {
    matches!(
        err.raw_os_error(),
        Some(nix::libc::EIO) | Some(nix::libc::ENODATA) | Some(nix::libc::EILSEQ)
    )
}

/// Tracks which chunks are done to know the contiguous prefix that is complete.
struct Completion {
    next: u64,
    done: BTreeSet<u64>,
}

impl Completion {
    fn complete(&mut self, index: u64) {
        self.done.insert(index);
        while self.done.remove(&self.next) {
            self.next += 1;
        }
    }
}

/// Writes `pattern` over `[start, size)` of the medium, then flushes it to stable
/// storage. `checkpoint(offset)` is called from time to time, after a flush, with
/// an offset below which everything is durably written. `stop` aborts the pass
/// (what was flushed stays valid for resuming).
pub fn write_pass(
    medium: &Medium,
    pattern: Pattern,
    key: &[u8; 32],
    start: u64,
    progress: &dyn Progress,
    checkpoint: &(dyn Fn(u64) + Sync),
    stop: &AtomicBool,
) -> io::Result<WriteOutcome> {
    assert_eq!(start % medium.block, 0, "resume offset not block aligned");
    let chunks = (medium.size - start).div_ceil(CHUNK);
    let next_chunk = AtomicU64::new(0);
    let completion = Mutex::new(Completion {
        next: 0,
        done: BTreeSet::new(),
    });
    let last_checkpoint = Mutex::new(Instant::now());
    let failed = Mutex::new(Vec::new());
    let first_error: Mutex<Option<io::Error>> = Mutex::new(None);
    let durable_offset = |completion: &Mutex<Completion>| {
        let next = completion.lock().expect("not poisoned").next;
        (start + next * CHUNK).min(medium.size)
    };

    let workers = medium.workers.clamp(1, chunks.max(1) as usize);
    run_workers(workers, || {
        let mut buf = AlignedBuf::new(buffer_len(medium.size - start));
        loop {
            if stop.load(Ordering::Relaxed) || first_error.lock().expect("ok").is_some() {
                return;
            }
            let index = next_chunk.fetch_add(1, Ordering::Relaxed);
            if index >= chunks {
                return;
            }
            let offset = start + index * CHUNK;
            let len = (medium.size - offset).min(CHUNK) as usize;
            fill(pattern, key, offset, &mut buf[..len]);
            if let Err(err) = medium.file.write_all_at(&buf[..len], offset) {
                if !is_media_error(&err) {
                    *first_error.lock().expect("ok") = Some(err);
                    return;
                }
                // Some sectors are bad: write block by block, note the rest.
                let bad = write_blocks(medium, &buf[..len], offset);
                failed.lock().expect("ok").extend(bad);
            }
            progress.advance(len as u64);
            completion.lock().expect("ok").complete(index);

            // One worker at a time flushes and records durable progress.
            if let Ok(mut last) = last_checkpoint.try_lock() {
                if last.elapsed() >= medium.checkpoint_every {
                    let offset = durable_offset(&completion);
                    if medium.file.sync_data().is_ok() {
                        checkpoint(offset);
                    }
                    *last = Instant::now();
                }
            }
        }
    });
    if let Some(err) = first_error.into_inner().expect("ok") {
        return Err(err);
    }
    medium.file.sync_data()?;
    if !stop.load(Ordering::Relaxed) {
        checkpoint(medium.size);
    }
    let mut failed = failed.into_inner().expect("ok");
    failed.sort();
    Ok(WriteOutcome {
        bytes: durable_offset(&completion) - start,
        failed: merge_adjacent(failed),
    })
}

/// Writes `data` at `offset` one block at a time, returning the blocks that failed.
fn write_blocks(medium: &Medium, data: &[u8], offset: u64) -> Vec<Region> {
    let block = medium.block as usize;
    let mut failed = Vec::new();
    for (i, piece) in data.chunks(block).enumerate() {
        let at = offset + (i * block) as u64;
        if medium.file.write_all_at(piece, at).is_err() {
            failed.push(Region {
                offset: at,
                len: piece.len() as u64,
            });
        }
    }
    failed
}

fn merge_adjacent(regions: Vec<Region>) -> Vec<Region> {
    let mut merged: Vec<Region> = Vec::new();
    for region in regions {
        match merged.last_mut() {
            Some(last) if last.offset + last.len == region.offset => last.len += region.len,
            _ => merged.push(region),
        }
    }
    merged
}

/// Reads `regions` back and compares them with what `pattern` wrote there.
pub fn verify_regions(
    medium: &Medium,
    pattern: Pattern,
    key: &[u8; 32],
    regions: &[Region],
    progress: &dyn Progress,
) -> io::Result<VerifyOutcome> {
    // Pieces of at most one chunk, in plan order.
    let mut pieces: Vec<Region> = Vec::new();
    for region in regions {
        let mut offset = region.offset;
        while offset < region.offset + region.len {
            let len = (region.offset + region.len - offset).min(CHUNK);
            pieces.push(Region { offset, len });
            offset += len;
        }
    }
    let next_piece = AtomicU64::new(0);
    let hashes: Vec<Mutex<[u8; 32]>> = pieces.iter().map(|_| Mutex::new([0; 32])).collect();
    let mismatched = Mutex::new(Vec::new());
    let unreadable = Mutex::new(Vec::new());
    let first_error: Mutex<Option<io::Error>> = Mutex::new(None);

    let largest = pieces.iter().map(|p| p.len).max().unwrap_or(0);
    let workers = medium.workers.clamp(1, pieces.len().max(1));
    run_workers(workers, || {
        let mut read = AlignedBuf::new(buffer_len(largest));
        let mut expected = vec![0u8; buffer_len(largest)];
        loop {
            if first_error.lock().expect("ok").is_some() {
                return;
            }
            let index = next_piece.fetch_add(1, Ordering::Relaxed) as usize;
            let Some(piece) = pieces.get(index) else {
                return;
            };
            let len = piece.len as usize;
            // Blocks that cannot be read are reported and left out of the
            // comparison; the rest of the piece is still checked.
            let mut skipped = Vec::new();
            match medium.file.read_exact_at(&mut read[..len], piece.offset) {
                Ok(()) => {}
                Err(err) if is_media_error(&err) => {
                    skipped = read_blocks(medium, &mut read[..len], piece.offset);
                    unreadable
                        .lock()
                        .expect("ok")
                        .extend(skipped.iter().copied());
                }
                Err(err) => {
                    *first_error.lock().expect("ok") = Some(err);
                    return;
                }
            }
            *hashes[index].lock().expect("ok") = *blake3::hash(&read[..len]).as_bytes();
            fill(pattern, key, piece.offset, &mut expected[..len]);
            for bad in &skipped {
                let at = (bad.offset - piece.offset) as usize;
                let end = at + bad.len as usize;
                expected[at..end].fill(0);
            }
            if read[..len] != expected[..len] {
                mismatched.lock().expect("ok").extend(differing_blocks(
                    &read[..len],
                    &expected[..len],
                    piece.offset,
                    medium.block,
                ));
            }
            progress.advance(piece.len);
        }
    });
    if let Some(err) = first_error.into_inner().expect("ok") {
        return Err(err);
    }
    let mut combined = blake3::Hasher::new();
    for hash in &hashes {
        combined.update(&*hash.lock().expect("ok"));
    }
    let mut mismatched = mismatched.into_inner().expect("ok");
    mismatched.sort();
    let mut unreadable = unreadable.into_inner().expect("ok");
    unreadable.sort();
    Ok(VerifyOutcome {
        bytes_read: regions.iter().map(|r| r.len).sum(),
        mismatched: merge_adjacent(mismatched),
        unreadable: merge_adjacent(unreadable),
        hash: *combined.finalize().as_bytes(),
    })
}

/// Reads `buf` at `offset` one block at a time, zeroing and returning the blocks
/// that fail.
fn read_blocks(medium: &Medium, buf: &mut [u8], offset: u64) -> Vec<Region> {
    let block = medium.block as usize;
    let mut failed = Vec::new();
    for (i, piece) in buf.chunks_mut(block).enumerate() {
        let at = offset + (i * block) as u64;
        if medium.file.read_exact_at(piece, at).is_err() {
            piece.fill(0);
            failed.push(Region {
                offset: at,
                len: piece.len() as u64,
            });
        }
    }
    failed
}

/// The blocks of a piece whose contents differ, as merged ranges.
fn differing_blocks(read: &[u8], expected: &[u8], offset: u64, block: u64) -> Vec<Region> {
    let block = block as usize;
    let differing = read
        .chunks(block)
        .zip(expected.chunks(block))
        .enumerate()
        .filter(|(_, (a, b))| a != b)
        .map(|(i, (a, _))| Region {
            offset: offset + (i * block) as u64,
            len: a.len() as u64,
        })
        .collect();
    merge_adjacent(differing)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::stream::stream_key;

    fn medium(file: &dyn BlockIo, size: u64, block: u64, workers: usize) -> Medium<'_> {
        Medium {
            file,
            size,
            block,
            workers,
            checkpoint_every: CHECKPOINT_EVERY,
        }
    }

    fn medium_file(size: u64) -> (tempfile::NamedTempFile, u64) {
        let file = tempfile::NamedTempFile::new().unwrap();
        file.as_file().set_len(size).unwrap();
        (file, size)
    }

    #[test]
    fn writes_every_byte_of_an_odd_size_and_verifies() {
        // 3 chunks and a tail that is not a multiple of the chunk.
        let size = 3 * CHUNK + 5 * 512;
        let (file, _) = medium_file(size);
        let medium = medium(file.as_file(), size, 512, 3);
        let key = stream_key(&[3; 16], 0);
        let checkpoints = Mutex::new(Vec::new());
        let outcome = write_pass(
            &medium,
            Pattern::Random,
            &key,
            0,
            &NoProgress,
            &|offset| checkpoints.lock().unwrap().push(offset),
            &AtomicBool::new(false),
        )
        .unwrap();
        assert_eq!(
            outcome,
            WriteOutcome {
                bytes: size,
                failed: vec![]
            }
        );
        assert_eq!(checkpoints.into_inner().unwrap().last(), Some(&size));
        let mut expected = vec![0u8; size as usize];
        fill(Pattern::Random, &key, 0, &mut expected);
        assert_eq!(std::fs::read(file.path()).unwrap(), expected);

        let whole = [Region {
            offset: 0,
            len: size,
        }];
        let check = verify_regions(&medium, Pattern::Random, &key, &whole, &NoProgress).unwrap();
        assert!(check.mismatched.is_empty() && check.unreadable.is_empty());
        assert_eq!(check.bytes_read, size);
    }

    #[test]
    fn verification_finds_a_changed_byte() {
        let size = CHUNK + 4096;
        let (file, _) = medium_file(size);
        let medium = medium(file.as_file(), size, 4096, 2);
        let key = stream_key(&[4; 16], 0);
        write_pass(
            &medium,
            Pattern::ZERO,
            &key,
            0,
            &NoProgress,
            &|_| {},
            &AtomicBool::new(false),
        )
        .unwrap();
        FileExt::write_all_at(file.as_file(), &[1], CHUNK + 10).unwrap();
        let whole = [Region {
            offset: 0,
            len: size,
        }];
        let check = verify_regions(&medium, Pattern::ZERO, &key, &whole, &NoProgress).unwrap();
        assert_eq!(
            check.mismatched,
            [Region {
                offset: CHUNK,
                len: 4096
            }]
        );
    }

    #[test]
    fn resuming_from_an_offset_completes_the_pass() {
        let size = 2 * CHUNK + 8192;
        let (file, _) = medium_file(size);
        let medium = medium(file.as_file(), size, 4096, 2);
        let key = stream_key(&[5; 16], 1);
        let outcome = write_pass(
            &medium,
            Pattern::Random,
            &key,
            CHUNK,
            &NoProgress,
            &|_| {},
            &AtomicBool::new(false),
        )
        .unwrap();
        assert_eq!(outcome.bytes, size - CHUNK);
        let data = std::fs::read(file.path()).unwrap();
        assert!(
            data[..CHUNK as usize].iter().all(|&b| b == 0),
            "before the resume point is untouched"
        );
        let mut expected = vec![0u8; (size - CHUNK) as usize];
        fill(Pattern::Random, &key, CHUNK, &mut expected);
        assert_eq!(data[CHUNK as usize..], expected[..]);
    }

    /// A medium in memory whose given blocks fail with EIO, as bad sectors do.
    struct Faulty {
        data: Mutex<Vec<u8>>,
        bad: Vec<Region>,
    }

    impl Faulty {
        fn hits_bad(&self, offset: u64, len: usize) -> bool {
            self.bad
                .iter()
                .any(|b| offset < b.offset + b.len && b.offset < offset + len as u64)
        }
    }

    impl BlockIo for Faulty {
        fn write_all_at(&self, buf: &[u8], offset: u64) -> io::Result<()> {
            if self.hits_bad(offset, buf.len()) {
                return Err(io::Error::from_raw_os_error(nix::libc::EIO));
            }
            let at = offset as usize;
            self.data.lock().unwrap()[at..at + buf.len()].copy_from_slice(buf);
            Ok(())
        }
        fn read_exact_at(&self, buf: &mut [u8], offset: u64) -> io::Result<()> {
            if self.hits_bad(offset, buf.len()) {
                return Err(io::Error::from_raw_os_error(nix::libc::EIO));
            }
            let at = offset as usize;
            buf.copy_from_slice(&self.data.lock().unwrap()[at..at + buf.len()]);
            Ok(())
        }
        fn sync_data(&self) -> io::Result<()> {
            Ok(())
        }
    }

    #[test]
    fn bad_sectors_are_reported_and_the_rest_is_written() {
        let size = 2 * CHUNK + 4096;
        let bad = vec![Region {
            offset: CHUNK + 512,
            len: 1024,
        }];
        let medium_io = Faulty {
            data: Mutex::new(vec![0xee; size as usize]),
            bad: bad.clone(),
        };
        let medium = medium(&medium_io, size, 512, 2);
        let key = stream_key(&[6; 16], 0);
        let outcome = write_pass(
            &medium,
            Pattern::Random,
            &key,
            0,
            &NoProgress,
            &|_| {},
            &AtomicBool::new(false),
        )
        .unwrap();
        assert_eq!(outcome.failed, bad, "exactly the bad blocks are reported");
        let data = medium_io.data.lock().unwrap().clone();
        let mut expected = vec![0u8; size as usize];
        fill(Pattern::Random, &key, 0, &mut expected);
        for (i, (got, want)) in data.iter().zip(&expected).enumerate() {
            let in_bad = bad
                .iter()
                .any(|b| (b.offset..b.offset + b.len).contains(&(i as u64)));
            if !in_bad {
                assert_eq!(got, want, "byte {i} outside the bad blocks was not written");
            }
        }
        let whole = [Region {
            offset: 0,
            len: size,
        }];
        let check = verify_regions(&medium, Pattern::Random, &key, &whole, &NoProgress).unwrap();
        // Only the bad blocks are unreadable; the rest of their chunk is verified.
        assert_eq!(check.unreadable, bad);
        assert!(check.mismatched.is_empty());
    }

    #[test]
    fn the_read_back_hash_depends_on_the_content() {
        let size = 64 * 1024;
        let (file, _) = medium_file(size);
        let medium = medium(file.as_file(), size, 512, 1);
        let whole = [Region {
            offset: 0,
            len: size,
        }];
        let zeros = verify_regions(&medium, Pattern::ZERO, &[0; 32], &whole, &NoProgress).unwrap();
        FileExt::write_all_at(file.as_file(), &[9], 0).unwrap();
        let changed =
            verify_regions(&medium, Pattern::ZERO, &[0; 32], &whole, &NoProgress).unwrap();
        assert_ne!(zeros.hash, changed.hash);
        assert_eq!(
            changed.mismatched,
            [Region {
                offset: 0,
                len: 512
            }]
        );
    }
}
