//! The exact key of a Census name and the slot it hashes to. Shared by the build
//! script, which lays out the name tables, and by `names`, which looks them up.

/// The longest name in the lists has 13 letters, and 27^13 < 2^64.
pub const LONGEST_NAME: usize = 13;

/// A word of 1 to 13 ASCII letters as a base-27 number (A = 1 … Z = 26, case
/// folded): one number per word and no two words alike, so a table of keys is
/// an exact set. Anything else (apostrophes, accents, longer words) has no key
/// and is in no list.
pub fn name_key(word: &[u8]) -> Option<u64> {
    if word.is_empty() || word.len() > LONGEST_NAME {
        return None;
    }
    let mut key = 0u64;
    for &byte in word {
        let letter = byte.to_ascii_uppercase();
        if !letter.is_ascii_uppercase() {
            return None;
        }
        key = key * 27 + u64::from(letter - b'A' + 1);
    }
    Some(key)
}

/// Where `key` starts probing in a table of `mask + 1` slots (a power of two).
pub fn first_slot(key: u64, mask: usize) -> usize {
    (key.wrapping_mul(0x9e37_79b9_7f4a_7c15) >> 29) as usize & mask
}
