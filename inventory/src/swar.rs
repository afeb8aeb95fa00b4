//! Finding the first byte of an ASCII range eight bytes at a time: most of a
//! document is lower-case letters and spaces, and the scanners' hot loops look
//! for the digits (elements) and capitals (names) among them.

/// The offset of the first byte in `LOW..=HIGH` (an ASCII range, `LOW` ≥ 1).
#[inline]
pub fn first_in_range<const LOW: u8, const HIGH: u8>(bytes: &[u8]) -> Option<usize> {
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
        for byte in 0..=255u8 {
            for at in 0..20 {
                let mut text = vec![b'x'; 24];
                text[at] = byte;
                assert_eq!(
                    first_in_range::<LOW, HIGH>(&text),
                    text.iter().position(|b| (LOW..=HIGH).contains(b)),
                    "byte {byte:#x} at {at} in {LOW:#x}..={HIGH:#x}"
                );
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
