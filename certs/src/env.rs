//! The clock and the random source, injected so tests are exact.

use jiff::Timestamp;

pub trait Clock {
    fn now(&self) -> Timestamp;
}

/// The system's real-time clock.
#[derive(Debug, Clone, Copy, Default)]
pub struct SystemClock;

impl Clock for SystemClock {
    fn now(&self) -> Timestamp {
        Timestamp::now()
    }
}

/// A clock that always reads the same instant.
#[derive(Debug, Clone, Copy)]
pub struct FixedClock(pub Timestamp);

impl Clock for FixedClock {
    fn now(&self) -> Timestamp {
        self.0
    }
}

pub trait RandomSource {
    fn fill(&mut self, buf: &mut [u8]) -> std::io::Result<()>;
}

/// The operating system's CSPRNG (getrandom(2)).
#[derive(Debug, Clone, Copy, Default)]
pub struct OsRandom;

impl RandomSource for OsRandom {
    fn fill(&mut self, buf: &mut [u8]) -> std::io::Result<()> {
        getrandom::fill(buf).map_err(|err| std::io::Error::other(err.to_string()))
    }
}

/// A deterministic stream for tests: BLAKE3's extendable output of a seed.
#[derive(Debug, Clone)]
pub struct SeededRandom {
    reader: blake3::OutputReader,
}

impl SeededRandom {
    pub fn new(seed: &[u8]) -> SeededRandom {
        SeededRandom {
            reader: blake3::Hasher::new_derive_key("wisp seeded test random")
                .update(seed)
                .finalize_xof(),
        }
    }
}

impl RandomSource for SeededRandom {
    fn fill(&mut self, buf: &mut [u8]) -> std::io::Result<()> {
        self.reader.fill(buf);
        Ok(())
    }
}
