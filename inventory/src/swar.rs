//! Finding the first byte of an ASCII range many bytes at a time: most of a
//! document is lower-case letters and spaces, and the scanners' hot loops look
//! for the digits (elements) and capitals (names) among them. Sixteen bytes at
//! a time with SSE2 on x86_64, then eight at a time in a `u64`.

/// The offset of the first byte in `LOW..=HIGH` (an ASCII range, `LOW` ≥ 1).
#[inline]
pub fn first_in_range<const LOW: u8, const HIGH: u8>(bytes: &[u8]) -> Option<usize> {
    let mut at = 0;
    #[cfg(target_arch = "x86_64")]
    while let Some(chunk) = bytes.get(at..at + 16) {
        let inside = crate::sse2::in_range_mask(chunk.try_into().expect("16 bytes"), LOW, HIGH);
        if inside != 0 {
            return Some(at + inside.trailing_zeros() as usize);
        }
        at += 16;
    }
    first_in_range_by_eight::<LOW, HIGH>(&bytes[at..]).map(|offset| at + offset)
}

/// How many leading bytes are in `LOW..=HIGH`.
#[inline]
pub fn run_in_range<const LOW: u8, const HIGH: u8>(bytes: &[u8]) -> usize {
    let mut at = 0;
    #[cfg(target_arch = "x86_64")]
    while let Some(chunk) = bytes.get(at..at + 16) {
        let inside = crate::sse2::in_range_mask(chunk.try_into().expect("16 bytes"), LOW, HIGH);
        if inside != 0xffff {
            return at + (!inside).trailing_zeros() as usize;
        }
        at += 16;
    }
    at + bytes[at..]
        .iter()
        .position(|b| !(LOW..=HIGH).contains(b))
        .unwrap_or(bytes.len() - at)
}

/// [`first_in_range`], eight bytes at a time.
#[inline]
fn first_in_range_by_eight<const LOW: u8, const HIGH: u8>(bytes: &[u8]) -> Option<usize> {
    const { assert!(LOW >= 1 && LOW <= HIGH && HIGH < 0x80) };
    const ONES: u64 = u64::from_ne_bytes([0x01; 8]);
    const HIGHS: u64 = u64::from_ne_bytes([0x80; 8]);
    let mut chunks = bytes.chunks_exact(8);
    for (index, chunk) in chunks.by_ref().enumerate() {
        let word = u64::from_ne_bytes(chunk.try_into().expect("eight bytes"));
        // For a byte below 0x80, b + (0x80 - LOW) has its high bit set from LOW
        // up, and !(b + (0x7f - HIGH)) up to HIGH; neither sum carries out of
        // its byte. Bytes from 0x80 up are masked out by !word.
        let low7 = word & !HIGHS;
        let from_low = low7.wrapping_add(ONES * u64::from(0x80 - LOW));
        let up_to_high = !low7.wrapping_add(ONES * u64::from(0x7f - HIGH));
        if from_low & up_to_high & !word & HIGHS != 0 {
            let at = index * 8;
            return chunk
                .iter()
                .position(|b| (LOW..=HIGH).contains(b))
                .map(|i| at + i);
        }
    }
    let tail = chunks.remainder();
    tail.iter()
        .position(|b| (LOW..=HIGH).contains(b))
        .map(|i| bytes.len() - tail.len() + i)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn agrees<const LOW: u8, const HIGH: u8>() {
        let inside = |b: &u8| (LOW..=HIGH).contains(b);
        for byte in 0..=255u8 {
            for len in [7, 24, 40] {
                for at in 0..len {
                    // The byte among bytes outside the range (unless 'x' is in
                    // it), then among bytes inside.
                    for fill in [b'x', LOW] {
                        if fill != LOW && inside(&fill) {
                            continue;
                        }
                        let mut text = vec![fill; len];
                        text[at] = byte;
                        assert_eq!(
                            first_in_range::<LOW, HIGH>(&text),
                            text.iter().position(inside),
                            "byte {byte:#x} at {at} of {len} in {LOW:#x}..={HIGH:#x}"
                        );
                        assert_eq!(
                            run_in_range::<LOW, HIGH>(&text),
                            text.iter().position(|b| !inside(b)).unwrap_or(len),
                            "byte {byte:#x} at {at} of {len} in {LOW:#x}..={HIGH:#x}"
                        );
                    }
                }
            }
        }
    }

    #[test]
    fn finds_what_a_byte_loop_finds() {
        agrees::<b'0', b'9'>();
        agrees::<b'A', b'Z'>();
        agrees::<0x01, 0x7f>();
        agrees::<b'a', b'a'>();
    }
}
