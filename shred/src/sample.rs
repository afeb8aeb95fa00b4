//! The verification sample plan of NIST SP 800-88: the target is cut into at
//! least 1,000 subsections, two pseudorandom locations are read in each, plus the
//! first and last blocks, covering at least 10% in all. The locations derive from
//! a nonce printed on the certificate, so anyone can redo the same check later.

/// A byte range `[offset, offset + len)` to read back.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, serde::Serialize)]
pub struct Region {
    pub offset: u64,
    pub len: u64,
}

pub const SUBSECTIONS: u64 = 1000;
/// Each of the two samples covers this share of its subsection (2 × 5% = 10%).
const SAMPLE_PERCENT: u64 = 5;
/// Targets this small (in blocks) are simply read whole.
const READ_WHOLE_BELOW_BLOCKS: u64 = 64;

/// The regions to read for a target of `size` bytes read in blocks of `block`
/// bytes (the device's logical sector, or the file's block), sorted and merged.
pub fn sample_plan(size: u64, block: u64, nonce: &[u8; 16]) -> Vec<Region> {
    assert!(
        block > 0 && size % block == 0,
        "size {size} is not whole blocks of {block}"
    );
    let blocks = size / block;
    if blocks == 0 {
        return Vec::new();
    }
    if blocks < READ_WHOLE_BELOW_BLOCKS {
        return vec![Region {
            offset: 0,
            len: size,
        }];
    }
    // At least 1,000 subsections where the target is big enough for each to hold
    // two samples of at least a block; fewer (each of 20+ blocks) on small targets.
    let subsections = SUBSECTIONS.min(blocks / 20).max(1);
    let per_subsection = blocks / subsections;
    let mut random = blake3::Hasher::new_derive_key("wisp shred sample plan v1")
        .update(nonce)
        .finalize_xof();
    let mut next_u64 = || {
        let mut bytes = [0u8; 8];
        random.fill(&mut bytes);
        u64::from_le_bytes(bytes)
    };
    let mut regions = vec![
        Region {
            offset: 0,
            len: block,
        },
        Region {
            offset: size - block,
            len: block,
        },
    ];
    for index in 0..subsections {
        let first = index * per_subsection;
        // The last subsection takes the remainder.
        let count = if index + 1 == subsections {
            blocks - first
        } else {
            per_subsection
        };
        let sample = (count * SAMPLE_PERCENT).div_ceil(100).max(1);
        let half = count / 2;
        // One sample in each half, so the two never overlap.
        for (start, len) in [(first, half), (first + half, count - half)] {
            let slack = len - sample;
            let at = start + next_u64() % (slack + 1);
            regions.push(Region {
                offset: at * block,
                len: sample * block,
            });
        }
    }
    merge(regions)
}

fn merge(mut regions: Vec<Region>) -> Vec<Region> {
    regions.sort();
    let mut merged: Vec<Region> = Vec::with_capacity(regions.len());
    for region in regions {
        match merged.last_mut() {
            Some(last) if region.offset <= last.offset + last.len => {
                let end = (last.offset + last.len).max(region.offset + region.len);
                last.len = end - last.offset;
            }
            _ => merged.push(region),
        }
    }
    merged
}

pub fn covered(regions: &[Region]) -> u64 {
    regions.iter().map(|r| r.len).sum()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn check(size: u64, block: u64) -> Vec<Region> {
        let plan = sample_plan(size, block, &[9; 16]);
        let total = covered(&plan);
        assert!(total * 10 >= size, "{size}: covers only {total}");
        assert_eq!(plan.first().unwrap().offset, 0);
        let last = plan.last().unwrap();
        assert_eq!(last.offset + last.len, size);
        for pair in plan.windows(2) {
            assert!(
                pair[0].offset + pair[0].len < pair[1].offset,
                "overlap or unmerged"
            );
        }
        for region in &plan {
            assert_eq!(region.offset % block, 0);
            assert_eq!(region.len % block, 0);
        }
        plan
    }

    #[test]
    fn large_drive_has_two_samples_in_each_of_1000_subsections() {
        let plan = check(1_000_204_886_016, 512);
        // 2,000 samples plus first and last block, some of which may touch.
        assert!(plan.len() >= 1_900, "{}", plan.len());
        let share = covered(&plan) as f64 / 1_000_204_886_016.0;
        assert!((0.10..0.102).contains(&share), "{share}");
    }

    #[test]
    fn odd_and_small_sizes() {
        for (size, block) in [
            (65 * 1024 * 1024 + 512, 512),
            (8 << 20, 4096),
            (64 * 4096, 4096),
            (40 * 512, 512),
        ] {
            check(size, block);
        }
        assert_eq!(
            sample_plan(4096, 4096, &[0; 16]),
            [Region {
                offset: 0,
                len: 4096
            }]
        );
        assert!(sample_plan(0, 512, &[0; 16]).is_empty());
    }

    #[test]
    fn the_nonce_decides_the_locations() {
        let a = sample_plan(1 << 30, 512, &[1; 16]);
        assert_eq!(a, sample_plan(1 << 30, 512, &[1; 16]));
        assert_ne!(a, sample_plan(1 << 30, 512, &[2; 16]));
    }
}
