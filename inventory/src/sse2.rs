//! Sixteen bytes at a time with SSE2, for the scanners' hot loops. SSE2 is part
//! of the x86_64 baseline: every x86_64 CPU has it, so the one precondition of
//! calling a function compiled for it always holds. Other targets use the
//! callers' byte loops.

use std::arch::x86_64::{
    __m128i, _mm_cmpeq_epi8, _mm_max_epu8, _mm_movemask_epi8, _mm_or_si128, _mm_set1_epi8,
    _mm_set_epi64x, _mm_sub_epi8,
};

/// Bit i set where `bytes[i]` is in `low..=high` (unsigned).
#[inline]
pub fn in_range_mask(bytes: &[u8; 16], low: u8, high: u8) -> u32 {
    // SAFETY: SSE2 is always there on x86_64 (see the module's note).
    unsafe { mask(within(load(bytes), low, high)) }
}

#[target_feature(enable = "sse2")]
pub fn load(bytes: &[u8; 16]) -> __m128i {
    let half =
        |from: usize| i64::from_le_bytes(bytes[from..from + 8].try_into().expect("eight bytes"));
    _mm_set_epi64x(half(8), half(0))
}

/// 0xff where a byte is in `low..=high` (unsigned), else 0.
#[target_feature(enable = "sse2")]
pub fn within(bytes: __m128i, low: u8, high: u8) -> __m128i {
    let above = _mm_sub_epi8(bytes, _mm_set1_epi8(low as i8));
    let span = _mm_set1_epi8((high - low) as i8);
    _mm_cmpeq_epi8(_mm_max_epu8(above, span), span)
}

/// 0xff where a byte is `byte`, else 0.
#[target_feature(enable = "sse2")]
pub fn equal(bytes: __m128i, byte: u8) -> __m128i {
    _mm_cmpeq_epi8(bytes, _mm_set1_epi8(byte as i8))
}

/// 0xff where a byte is an ASCII letter (either case), else 0.
#[target_feature(enable = "sse2")]
pub fn letters(bytes: __m128i) -> __m128i {
    within(lower_case(bytes), b'a', b'z')
}

/// Every byte with bit 0x20 set: ASCII capitals become lower case; bytes that
/// were not letters do not become letters.
#[target_feature(enable = "sse2")]
pub fn lower_case(bytes: __m128i) -> __m128i {
    _mm_or_si128(bytes, _mm_set1_epi8(0x20))
}

/// Bit i set where byte i of `flags` is 0xff.
#[target_feature(enable = "sse2")]
pub fn mask(flags: __m128i) -> u32 {
    _mm_movemask_epi8(flags) as u32
}
