//! The seedable random source behind every behaviour-steering choice.
//!
//! ICE credentials and tie-breakers, transaction ids, SSRCs, SCTP tags and jitter in
//! timers all come from an [`Rng`], so the same seed replays the same run. Key material
//! does not: it comes from the crypto provider.

use rand_chacha::ChaCha12Rng;
use rand_core::{RngCore, SeedableRng};

/// A deterministic, seedable random number generator (ChaCha12).
///
/// ```
/// use sansrtc::rng::Rng;
/// let mut a = Rng::from_seed(7);
/// let mut b = Rng::from_seed(7);
/// assert_eq!(a.u64(), b.u64());
/// ```
#[derive(Debug, Clone)]
pub struct Rng(ChaCha12Rng);

/// Characters allowed in ICE ufrag and pwd (RFC 8839 `ice-char`).
const ICE_CHARS: &[u8] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";

impl Rng {
    /// A generator seeded from a 64-bit seed.
    pub fn from_seed(seed: u64) -> Self {
        Rng(ChaCha12Rng::seed_from_u64(seed))
    }

    /// A child generator whose stream is independent of, but determined by, this one, so
    /// each layer can own its generator without the order of draws in one changing another.
    pub fn fork(&mut self) -> Self {
        let mut seed = [0u8; 32];
        self.0.fill_bytes(&mut seed);
        Rng(ChaCha12Rng::from_seed(seed))
    }

    /// A uniformly random `u32`.
    pub fn u32(&mut self) -> u32 {
        self.0.next_u32()
    }

    /// A uniformly random `u64`.
    pub fn u64(&mut self) -> u64 {
        self.0.next_u64()
    }

    /// Fill `dest` with random bytes.
    pub fn fill(&mut self, dest: &mut [u8]) {
        self.0.fill_bytes(dest)
    }

    /// A uniformly random value in `0..n` (`n` > 0), without modulo bias.
    pub fn below(&mut self, n: u64) -> u64 {
        assert!(n > 0, "Rng::below needs a positive bound");
        let zone = u64::MAX - (u64::MAX % n);
        loop {
            let v = self.u64();
            if v < zone {
                return v % n;
            }
        }
    }

    /// A uniformly random `f64` in `[0, 1)`.
    pub fn f64(&mut self) -> f64 {
        (self.u64() >> 11) as f64 * (1.0 / (1u64 << 53) as f64)
    }

    /// True with probability `p`.
    pub fn chance(&mut self, p: f64) -> bool {
        p > 0.0 && self.f64() < p
    }

    /// A random string of `len` ICE characters (RFC 8839 `ice-char`).
    pub fn ice_string(&mut self, len: usize) -> String {
        (0..len)
            .map(|_| ICE_CHARS[self.below(ICE_CHARS.len() as u64) as usize] as char)
            .collect()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn same_seed_same_stream_different_seed_differs() {
        let mut a = Rng::from_seed(1);
        let mut b = Rng::from_seed(1);
        let mut c = Rng::from_seed(2);
        let xa: Vec<u64> = (0..8).map(|_| a.u64()).collect();
        let xb: Vec<u64> = (0..8).map(|_| b.u64()).collect();
        let xc: Vec<u64> = (0..8).map(|_| c.u64()).collect();
        assert_eq!(xa, xb);
        assert_ne!(xa, xc);
    }

    #[test]
    fn ice_string_uses_ice_chars() {
        let s = Rng::from_seed(3).ice_string(256);
        assert_eq!(s.len(), 256);
        assert!(s.bytes().all(|b| ICE_CHARS.contains(&b)));
    }

    #[test]
    fn below_stays_in_range() {
        let mut r = Rng::from_seed(4);
        assert!((0..1000).all(|_| r.below(7) < 7));
    }
}
