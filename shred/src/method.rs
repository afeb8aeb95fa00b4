//! Wipe methods, named by outcome first (`clear`), then the legacy schemes that
//! policies still name.

use crate::stream::Pattern;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Method {
    /// NIST SP 800-88 Clear: one pass of the keyed random stream, then verification.
    Clear,
    /// One pass of zeros (some SSDs treat zeros specially; prefer `clear`).
    Zero,
    /// DoD 5220.22-M (E), "short": 0x00, 0xFF, random.
    Dod3,
    /// DoD 5220.22-M (ECE): (E) three passes, a random pass, (E) three passes.
    Dod7,
    /// Gutmann's 35 passes: 4 random, 27 fixed patterns, 4 random.
    Gutmann,
}

impl Method {
    pub fn name(self) -> &'static str {
        match self {
            Method::Clear => "clear",
            Method::Zero => "zero",
            Method::Dod3 => "dod-3",
            Method::Dod7 => "dod-7",
            Method::Gutmann => "gutmann",
        }
    }

    /// One round of the method's passes.
    pub fn round(self) -> Vec<Pattern> {
        let dod_e = [Pattern::ZERO, Pattern::byte(0xff), Pattern::Random];
        match self {
            Method::Clear => vec![Pattern::Random],
            Method::Zero => vec![Pattern::ZERO],
            Method::Dod3 => dod_e.to_vec(),
            Method::Dod7 => [&dod_e[..], &[Pattern::Random], &dod_e[..]].concat(),
            Method::Gutmann => {
                let mut passes = vec![Pattern::Random; 4];
                passes.push(Pattern::byte(0x55));
                passes.push(Pattern::byte(0xaa));
                passes.push(Pattern::triple(0x92, 0x49, 0x24));
                passes.push(Pattern::triple(0x49, 0x24, 0x92));
                passes.push(Pattern::triple(0x24, 0x92, 0x49));
                passes.extend((0..16).map(|i| Pattern::byte(i * 0x11)));
                passes.push(Pattern::triple(0x92, 0x49, 0x24));
                passes.push(Pattern::triple(0x49, 0x24, 0x92));
                passes.push(Pattern::triple(0x24, 0x92, 0x49));
                passes.push(Pattern::triple(0x6d, 0xb6, 0xdb));
                passes.push(Pattern::triple(0xb6, 0xdb, 0x6d));
                passes.push(Pattern::triple(0xdb, 0x6d, 0xb6));
                passes.extend([Pattern::Random; 4]);
                passes
            }
        }
    }
}

/// The passes of a wipe: the method's round repeated `rounds` times, then an
/// optional pass of zeros (so the drive reads as blank afterwards).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PassPlan {
    pub method: Method,
    pub passes: Vec<Pattern>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum FinalPass {
    AsMethod,
    Zero,
}

impl PassPlan {
    pub fn new(method: Method, rounds: usize, final_pass: FinalPass) -> PassPlan {
        let mut passes: Vec<Pattern> = (0..rounds.max(1)).flat_map(|_| method.round()).collect();
        if final_pass == FinalPass::Zero && passes.last() != Some(&Pattern::ZERO) {
            passes.push(Pattern::ZERO);
        }
        PassPlan { method, passes }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn pass_counts() {
        assert_eq!(Method::Clear.round(), [Pattern::Random]);
        assert_eq!(Method::Dod3.round().len(), 3);
        assert_eq!(Method::Dod7.round().len(), 7);
        let gutmann = Method::Gutmann.round();
        assert_eq!(gutmann.len(), 35);
        assert_eq!(gutmann.iter().filter(|p| **p == Pattern::Random).count(), 8);
    }

    #[test]
    fn rounds_and_final_zero() {
        let plan = PassPlan::new(Method::Clear, 3, FinalPass::Zero);
        assert_eq!(
            plan.passes,
            [
                Pattern::Random,
                Pattern::Random,
                Pattern::Random,
                Pattern::ZERO
            ]
        );
        // A method already ending in zeros gets no second zero pass.
        assert_eq!(
            PassPlan::new(Method::Zero, 1, FinalPass::Zero).passes,
            [Pattern::ZERO]
        );
    }
}
