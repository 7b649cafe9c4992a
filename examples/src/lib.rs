//! Shared helpers for the sansrtc example programs.

pub mod counting {
    //! A global allocator that counts the bytes live while counting is on: heap figures
    //! from the allocator itself, not RSS guesses. A program installs it with
    //! `#[global_allocator] static ALLOC: Counting = Counting;`.

    use std::alloc::{GlobalAlloc, Layout, System};
    use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};

    /// The system allocator, counting.
    pub struct Counting;

    static LIVE: AtomicUsize = AtomicUsize::new(0);
    /// Counting costs an atomic add per allocation, so it is on only while measuring.
    static ON: AtomicBool = AtomicBool::new(false);

    /// Start or stop counting.
    pub fn set(on: bool) {
        ON.store(on, Ordering::Relaxed);
    }

    /// Bytes allocated minus bytes freed while counting was on (wrapping: subtract two
    /// readings to get what lies between them).
    pub fn live() -> usize {
        LIVE.load(Ordering::Relaxed)
    }

    // SAFETY: forwards to the system allocator and only counts bytes.
    unsafe impl GlobalAlloc for Counting {
        unsafe fn alloc(&self, layout: Layout) -> *mut u8 {
            if ON.load(Ordering::Relaxed) {
                LIVE.fetch_add(layout.size(), Ordering::Relaxed);
            }
            // SAFETY: same layout contract as the caller's.
            unsafe { System.alloc(layout) }
        }
        unsafe fn dealloc(&self, ptr: *mut u8, layout: Layout) {
            if ON.load(Ordering::Relaxed) {
                LIVE.fetch_sub(layout.size(), Ordering::Relaxed);
            }
            // SAFETY: `ptr` came from `alloc` with this layout.
            unsafe { System.dealloc(ptr, layout) }
        }
        unsafe fn realloc(&self, ptr: *mut u8, layout: Layout, new_size: usize) -> *mut u8 {
            if ON.load(Ordering::Relaxed) {
                LIVE.fetch_add(new_size, Ordering::Relaxed);
                LIVE.fetch_sub(layout.size(), Ordering::Relaxed);
            }
            // SAFETY: forwarded unchanged.
            unsafe { System.realloc(ptr, layout, new_size) }
        }
    }
}

pub mod bulk {
    //! The bulk stream of `tests/aiortc/PROTOCOL.md`, which `ortc-peer` sends and checks
    //! and the aiortc interop tests compare against. It lives here rather than in the test
    //! crate so the example programs need nothing from the tests.

    use sha2::{Digest, Sha256};

    /// The pattern's period: a prime, so a stream cut into power-of-two messages never
    /// lines its message boundaries up with the pattern's and a misplaced chunk shows.
    pub const PERIOD: usize = 1_048_573;

    /// SHA-256 blocks of (seed ‖ i), cut to [`PERIOD`] bytes and repeated.
    pub struct BulkStream {
        /// The period twice over, so any `len` ≤ PERIOD from any offset is one slice.
        pattern: Vec<u8>,
    }

    impl BulkStream {
        /// The stream for `seed`.
        pub fn new(seed: u64) -> Self {
            let mut pattern = Vec::with_capacity(32 * 32768);
            for i in 0..32768u32 {
                let mut h = Sha256::new();
                h.update(seed.to_be_bytes());
                h.update(i.to_be_bytes());
                pattern.extend_from_slice(&h.finalize());
            }
            pattern.truncate(PERIOD);
            let twice = [pattern.clone(), pattern].concat();
            BulkStream { pattern: twice }
        }

        /// `len` stream bytes from `offset`. The pattern is stored twice, so any `len` up to
        /// `2 * PERIOD - offset % PERIOD` is one slice (a 1 MiB message from offset 0 is
        /// three bytes longer than a period); a longer `len` is a caller's bug and panics.
        pub fn read(&self, offset: usize, len: usize) -> &[u8] {
            let start = offset % PERIOD;
            &self.pattern[start..start + len]
        }

        /// Hex SHA-256 of the first `total` bytes.
        pub fn sha256(&self, total: usize) -> String {
            let mut h = Sha256::new();
            let mut at = 0;
            while at < total {
                let n = (total - at).min(1 << 16);
                h.update(self.read(at, n));
                at += n;
            }
            hex(&h.finalize())
        }
    }

    /// Lower-case hex, as PROTOCOL.md writes digests.
    pub fn hex(b: &[u8]) -> String {
        b.iter().map(|x| format!("{x:02x}")).collect()
    }

    #[cfg(test)]
    mod tests {
        use super::*;

        #[test]
        fn reads_wrap_at_the_period() {
            let s = BulkStream::new(1);
            assert_eq!(s.read(PERIOD, 64), s.read(0, 64));
            assert_eq!(s.read(PERIOD - 1, 2)[1], s.read(0, 1)[0]);
            assert_eq!(s.read(0, 1 << 20)[PERIOD..], s.read(0, 3)[..]);
            assert_eq!(s.sha256(0).len(), 64);
        }
    }
}
