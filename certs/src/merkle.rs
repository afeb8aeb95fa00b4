//! A Merkle tree of the shape RFC 6962/9162 define, hashed with BLAKE3.
//!
//! Leaves are hashed as `H(0x00 ‖ data)` and interior nodes as `H(0x01 ‖ left ‖ right)`,
//! so no leaf can be passed off as a node (second-preimage resistance). The split rule
//! is RFC 9162's: the left subtree holds the largest power of two smaller than `n`.

pub type Hash = [u8; 32];

/// The root of the empty tree: the hash of nothing, as in RFC 9162 §2.1.1.
pub fn empty_root() -> Hash {
    *blake3::hash(b"").as_bytes()
}

pub fn leaf_hash(data: &[u8]) -> Hash {
    let mut hasher = blake3::Hasher::new();
    hasher.update(&[0x00]);
    hasher.update(data);
    *hasher.finalize().as_bytes()
}

pub fn node_hash(left: &Hash, right: &Hash) -> Hash {
    let mut hasher = blake3::Hasher::new();
    hasher.update(&[0x01]);
    hasher.update(left);
    hasher.update(right);
    *hasher.finalize().as_bytes()
}

/// The largest power of two strictly smaller than `n` (n ≥ 2).
fn split_point(n: u64) -> u64 {
    debug_assert!(n >= 2);
    1 << (63 - (n - 1).leading_zeros())
}

/// The root over `leaves` (already leaf-hashed).
pub fn root(leaves: &[Hash]) -> Hash {
    match leaves.len() {
        0 => empty_root(),
        1 => leaves[0],
        n => {
            let k = split_point(n as u64) as usize;
            node_hash(&root(&leaves[..k]), &root(&leaves[k..]))
        }
    }
}

/// The right edge of a growing tree: the roots of its perfect subtrees, largest
/// first. Enough to append and to compute the root in O(log n) without the leaves.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Frontier {
    size: u64,
    /// One root per set bit of `size`, from the most significant bit down.
    subtrees: Vec<Hash>,
}

impl Frontier {
    pub fn new() -> Frontier {
        Frontier::default()
    }

    /// Rebuilds a frontier from stored parts, rejecting an inconsistent count.
    pub fn from_parts(size: u64, subtrees: Vec<Hash>) -> Option<Frontier> {
        (size.count_ones() as usize == subtrees.len()).then_some(Frontier { size, subtrees })
    }

    pub fn size(&self) -> u64 {
        self.size
    }

    pub fn subtrees(&self) -> &[Hash] {
        &self.subtrees
    }

    pub fn push(&mut self, leaf: Hash) {
        let mut carry = leaf;
        // Merge equal-sized subtrees, as adding 1 to a binary counter carries.
        let mut merges = self.size.trailing_ones();
        while merges > 0 {
            let left = self.subtrees.pop().expect("a subtree per set bit");
            carry = node_hash(&left, &carry);
            merges -= 1;
        }
        self.subtrees.push(carry);
        self.size += 1;
    }

    pub fn root(&self) -> Hash {
        let mut iter = self.subtrees.iter().rev();
        let Some(last) = iter.next() else {
            return empty_root();
        };
        iter.fold(*last, |acc, left| node_hash(left, &acc))
    }
}

/// The audit path for leaf `index` in the tree over `leaves` (RFC 9162 §2.1.3.1).
pub fn inclusion_proof(leaves: &[Hash], index: usize) -> Vec<Hash> {
    assert!(
        index < leaves.len(),
        "leaf {index} outside a tree of {}",
        leaves.len()
    );
    let mut proof = Vec::new();
    let mut leaves = leaves;
    let mut index = index;
    let mut path_from_top = Vec::new();
    while leaves.len() > 1 {
        let k = split_point(leaves.len() as u64) as usize;
        if index < k {
            path_from_top.push(root(&leaves[k..]));
            leaves = &leaves[..k];
        } else {
            path_from_top.push(root(&leaves[..k]));
            leaves = &leaves[k..];
            index -= k;
        }
    }
    // The proof runs from the leaf upward.
    proof.extend(path_from_top.into_iter().rev());
    proof
}

/// Checks an audit path (RFC 9162 §2.1.3.2).
pub fn verify_inclusion(leaf: &Hash, index: u64, size: u64, proof: &[Hash], root: &Hash) -> bool {
    if index >= size {
        return false;
    }
    let (mut fn_, mut sn) = (index, size - 1);
    let mut r = *leaf;
    for p in proof {
        if sn == 0 {
            return false;
        }
        if fn_ & 1 == 1 || fn_ == sn {
            r = node_hash(p, &r);
            if fn_ & 1 == 0 {
                while fn_ & 1 == 0 && fn_ != 0 {
                    fn_ >>= 1;
                    sn >>= 1;
                }
            }
        } else {
            r = node_hash(&r, p);
        }
        fn_ >>= 1;
        sn >>= 1;
    }
    sn == 0 && r == *root
}

/// A consistency proof that the tree of the first `old_size` leaves is a prefix
/// of the tree over `leaves` (RFC 9162 §2.1.4.1).
pub fn consistency_proof(leaves: &[Hash], old_size: usize) -> Vec<Hash> {
    assert!(old_size <= leaves.len());
    if old_size == 0 || old_size == leaves.len() {
        return Vec::new();
    }
    fn subproof(m: usize, leaves: &[Hash], complete: bool, out: &mut Vec<Hash>) {
        let n = leaves.len();
        if m == n {
            if !complete {
                out.push(root(leaves));
            }
            return;
        }
        let k = split_point(n as u64) as usize;
        if m <= k {
            subproof(m, &leaves[..k], complete, out);
            out.push(root(&leaves[k..]));
        } else {
            subproof(m - k, &leaves[k..], false, out);
            out.push(root(&leaves[..k]));
        }
    }
    let mut out = Vec::new();
    subproof(old_size, leaves, true, &mut out);
    out
}

/// Checks a consistency proof (RFC 9162 §2.1.4.2).
pub fn verify_consistency(
    old_size: u64,
    new_size: u64,
    old_root: &Hash,
    new_root: &Hash,
    proof: &[Hash],
) -> bool {
    if old_size > new_size {
        return false;
    }
    if old_size == new_size {
        return proof.is_empty() && old_root == new_root;
    }
    if old_size == 0 {
        return proof.is_empty();
    }
    let mut path: Vec<Hash> = proof.to_vec();
    if old_size.is_power_of_two() {
        path.insert(0, *old_root);
    }
    let Some((first, rest)) = path.split_first() else {
        return false;
    };
    let (mut fn_, mut sn) = (old_size - 1, new_size - 1);
    while fn_ & 1 == 1 {
        fn_ >>= 1;
        sn >>= 1;
    }
    let (mut fr, mut sr) = (*first, *first);
    for c in rest {
        if sn == 0 {
            return false;
        }
        if fn_ & 1 == 1 || fn_ == sn {
            fr = node_hash(c, &fr);
            sr = node_hash(c, &sr);
            if fn_ & 1 == 0 {
                while fn_ & 1 == 0 && fn_ != 0 {
                    fn_ >>= 1;
                    sn >>= 1;
                }
            }
        } else {
            sr = node_hash(&sr, c);
        }
        fn_ >>= 1;
        sn >>= 1;
    }
    sn == 0 && fr == *old_root && sr == *new_root
}

#[cfg(test)]
mod tests {
    use super::*;

    fn leaves(n: usize) -> Vec<Hash> {
        (0..n)
            .map(|i| leaf_hash(format!("leaf {i}").as_bytes()))
            .collect()
    }

    #[test]
    fn domain_separation() {
        let a = leaf_hash(b"a");
        assert_ne!(leaf_hash(b"a"), *blake3::hash(b"a").as_bytes());
        let mut node_bytes = Vec::from(a);
        node_bytes.extend_from_slice(&a);
        // A leaf whose data is two hashes must not collide with the node over them.
        assert_ne!(leaf_hash(&node_bytes), node_hash(&a, &a));
    }

    #[test]
    fn small_trees_by_hand() {
        let l = leaves(3);
        assert_eq!(root(&l[..1]), l[0]);
        assert_eq!(root(&l[..2]), node_hash(&l[0], &l[1]));
        assert_eq!(root(&l), node_hash(&node_hash(&l[0], &l[1]), &l[2]));
    }

    #[test]
    fn frontier_matches_recursive_root_at_every_size() {
        let all = leaves(70);
        let mut frontier = Frontier::new();
        assert_eq!(frontier.root(), empty_root());
        for (i, leaf) in all.iter().enumerate() {
            frontier.push(*leaf);
            assert_eq!(frontier.size(), i as u64 + 1);
            assert_eq!(frontier.root(), root(&all[..=i]), "size {}", i + 1);
            let rebuilt =
                Frontier::from_parts(frontier.size(), frontier.subtrees().to_vec()).unwrap();
            assert_eq!(rebuilt, frontier);
        }
        assert!(Frontier::from_parts(5, vec![all[0]]).is_none());
    }

    #[test]
    fn inclusion_proofs_verify_and_reject_tampering() {
        for n in 1..=33 {
            let all = leaves(n);
            let r = root(&all);
            for i in 0..n {
                let proof = inclusion_proof(&all, i);
                assert!(
                    verify_inclusion(&all[i], i as u64, n as u64, &proof, &r),
                    "{i} of {n}"
                );
                let other = leaf_hash(b"forged");
                assert!(!verify_inclusion(&other, i as u64, n as u64, &proof, &r));
                if n > 1 {
                    assert!(!verify_inclusion(
                        &all[i],
                        ((i + 1) % n) as u64,
                        n as u64,
                        &proof,
                        &r
                    ));
                }
                if let Some(first) = proof.first() {
                    let mut bad = proof.clone();
                    bad[0] = node_hash(first, first);
                    assert!(!verify_inclusion(&all[i], i as u64, n as u64, &bad, &r));
                }
            }
        }
    }

    #[test]
    fn consistency_proofs_verify_and_reject_rewrites() {
        for n in 1..=33 {
            let all = leaves(n);
            let new_root = root(&all);
            for m in 0..=n {
                let proof = consistency_proof(&all, m);
                let old_root = root(&all[..m]);
                assert!(
                    verify_consistency(m as u64, n as u64, &old_root, &new_root, &proof),
                    "{m} -> {n}"
                );
                if m > 0 && m < n {
                    // A rewritten history: same size, different leaf.
                    let mut rewritten = all.clone();
                    rewritten[m - 1] = leaf_hash(b"rewritten");
                    let forged_root = root(&rewritten);
                    assert!(!verify_consistency(
                        m as u64,
                        n as u64,
                        &old_root,
                        &forged_root,
                        &proof
                    ));
                    assert!(!verify_consistency(
                        m as u64,
                        n as u64,
                        &old_root,
                        &forged_root,
                        &consistency_proof(&rewritten, m)
                    ));
                }
            }
        }
    }
}
