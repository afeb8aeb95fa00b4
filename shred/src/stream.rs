//! The overwrite patterns as byte streams that can be produced at any offset.
//!
//! The random stream is ChaCha8 in counter mode, keyed per target from the wipe's
//! nonce: any offset can be regenerated, so writing can be split across threads,
//! resumed after a crash, and verified later without keeping a copy.

use rand_chacha::ChaCha8Rng;
use rand_core::{RngCore, SeedableRng};

/// What one pass writes.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Pattern {
    /// The keyed random stream.
    Random,
    /// A repeating pattern of one to three bytes (zeros are `Bytes([0], 1)`).
    Bytes([u8; 3], usize),
}

impl Pattern {
    pub const ZERO: Pattern = Pattern::Bytes([0, 0, 0], 1);

    pub fn byte(value: u8) -> Pattern {
        Pattern::Bytes([value, 0, 0], 1)
    }

    pub fn triple(a: u8, b: u8, c: u8) -> Pattern {
        Pattern::Bytes([a, b, c], 3)
    }

    /// The name used in reports: `random`, `zero`, `0x55`, `0x924924`.
    pub fn name(&self) -> String {
        match self {
            Pattern::Random => "random".into(),
            Pattern::Bytes([0, _, _], 1) => "zero".into(),
            Pattern::Bytes(bytes, len) => {
                let hex: String = bytes[..*len].iter().map(|b| format!("{b:02x}")).collect();
                format!("0x{hex}")
            }
        }
    }
}

/// The key of a target's random stream: derived from the wipe's nonce and the pass
/// number, so every pass of every target has its own stream and all of them can be
/// regenerated from the nonce recorded on the certificate.
pub fn stream_key(nonce: &[u8; 16], pass: usize) -> [u8; 32] {
    blake3::Hasher::new_derive_key("wisp shred random pass v1")
        .update(nonce)
        .update(&(pass as u64).to_le_bytes())
        .finalize()
        .into()
}

/// Fills `buf` with what `pattern` puts at byte `offset` of the target.
/// `offset` must be a multiple of 4 (wipes work in whole sectors).
pub fn fill(pattern: Pattern, key: &[u8; 32], offset: u64, buf: &mut [u8]) {
    match pattern {
        Pattern::Random => {
            debug_assert_eq!(offset % 4, 0);
            let mut rng = ChaCha8Rng::from_seed(*key);
            rng.set_word_pos(u128::from(offset / 4));
            rng.fill_bytes(buf);
        }
        Pattern::Bytes(bytes, 1) => buf.fill(bytes[0]),
        Pattern::Bytes(bytes, len) => {
            let phase = (offset % len as u64) as usize;
            for (i, byte) in buf.iter_mut().enumerate() {
                *byte = bytes[(phase + i) % len];
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn random_stream_is_seekable() {
        let key = stream_key(&[7; 16], 0);
        let mut whole = vec![0u8; 1 << 16];
        fill(Pattern::Random, &key, 0, &mut whole);
        for offset in [0usize, 4, 4096, 40_000, 65_532] {
            let mut part = vec![0u8; whole.len() - offset];
            fill(Pattern::Random, &key, offset as u64, &mut part);
            assert_eq!(part, whole[offset..], "offset {offset}");
        }
        assert!(whole.iter().filter(|&&b| b == 0).count() < whole.len() / 100);
    }

    #[test]
    fn streams_differ_by_pass_and_nonce() {
        let mut a = [0u8; 64];
        let mut b = [0u8; 64];
        fill(Pattern::Random, &stream_key(&[1; 16], 0), 0, &mut a);
        fill(Pattern::Random, &stream_key(&[1; 16], 1), 0, &mut b);
        assert_ne!(a, b);
        fill(Pattern::Random, &stream_key(&[2; 16], 0), 0, &mut b);
        assert_ne!(a, b);
    }

    #[test]
    fn byte_patterns_keep_phase_across_offsets() {
        let pattern = Pattern::triple(0x92, 0x49, 0x24);
        let mut whole = [0u8; 12];
        fill(pattern, &[0; 32], 0, &mut whole);
        assert_eq!(whole[..6], [0x92, 0x49, 0x24, 0x92, 0x49, 0x24]);
        let mut tail = [0u8; 8];
        fill(pattern, &[0; 32], 4, &mut tail);
        assert_eq!(tail, whole[4..]);
        assert_eq!(pattern.name(), "0x924924");
        assert_eq!(Pattern::ZERO.name(), "zero");
        assert_eq!(Pattern::byte(0x55).name(), "0x55");
    }
}
