//! Fuzz harnesses for `sansrtc`, shared by the cargo-fuzz targets in `fuzz_targets/` and
//! by `core/tests/fuzz_corpus.rs`, which replays the committed corpora under stable
//! `cargo test`. That test includes this file with `#[path]` (the modules below resolve
//! next to it), so the harness may use nothing but `sansrtc`, its dependency `bytes`, and
//! `std`.
//!
//! One module per target, each documenting its input format: `stun`, `ice_agent`,
//! `dtls_parse`, `dtls_machine` (targets `dtls_server` and `dtls_client`), `srtp`
//! (target `srtp_unprotect`), `sctp_parse`, `dcep`, `sctp_association`, `mux`, `ortc_chain`
//! `sdp` and `jsep`.
//! Their public items are re-exported here. This file holds what they share: the
//! counting allocator ([`heap`]) and the heap budgets, [`settle`], the clock, the input
//! `Reader` and address parsing.

mod dcep;
mod dtls_machine;
mod dtls_parse;
mod ice_agent;
mod jsep;
mod mux;
mod ortc_chain;
mod sctp_association;
mod sctp_parse;
mod sdp;
mod srtp;
mod stun;

// Every public item keeps its path at the crate root (`sansrtc_fuzz::run_dtls`,
// `harness::DtlsRun` in the corpus test). Globs, because the corpus test includes this
// file as a private module and uses only part of each: a list would name unused imports.
pub use dcep::*;
pub use dtls_machine::*;
pub use dtls_parse::*;
pub use ice_agent::*;
pub use jsep::*;
pub use mux::*;
pub use ortc_chain::*;
pub use sctp_association::*;
pub use sctp_parse::*;
pub use sdp::*;
pub use srtp::*;
pub use stun::*;

use std::net::SocketAddr;
use std::sync::OnceLock;
use std::time::Instant;

use sansrtc::dtls::handshake as hs;
use sansrtc::io::Output;

/// Every harness runs under live-heap accounting ([`heap`]): the targets and the corpus
/// replay link this crate, so this allocator counts for both.
#[global_allocator]
static GLOBAL: heap::Counting = heap::Counting;

/// Live-heap accounting per thread, so each harness can check that what an input makes a
/// machine hold stays within the bound the machine promises (a peer must not grow our
/// memory without limit). Counted per thread because the corpus replay runs targets on
/// parallel test threads; a harness runs on one thread.
pub mod heap {
    use std::alloc::{GlobalAlloc, Layout, System};
    use std::cell::Cell;

    /// The counting allocator (the system allocator underneath).
    pub struct Counting;

    thread_local! {
        static LIVE: Cell<isize> = const { Cell::new(0) };
        static PEAK: Cell<isize> = const { Cell::new(0) };
    }

    fn add(n: usize) {
        // `try_with`: during thread teardown the counters may be gone already.
        let _ = LIVE.try_with(|l| {
            let v = l.get() + n as isize;
            l.set(v);
            let _ = PEAK.try_with(|p| p.set(p.get().max(v)));
        });
    }

    fn sub(n: usize) {
        let _ = LIVE.try_with(|l| l.set(l.get() - n as isize));
    }

    // SAFETY: every call goes straight to `System`; the counters only observe sizes.
    unsafe impl GlobalAlloc for Counting {
        unsafe fn alloc(&self, layout: Layout) -> *mut u8 {
            // SAFETY: forwarded with the caller's guarantees.
            let p = unsafe { System.alloc(layout) };
            if !p.is_null() {
                add(layout.size());
            }
            p
        }

        unsafe fn alloc_zeroed(&self, layout: Layout) -> *mut u8 {
            // SAFETY: forwarded with the caller's guarantees.
            let p = unsafe { System.alloc_zeroed(layout) };
            if !p.is_null() {
                add(layout.size());
            }
            p
        }

        unsafe fn dealloc(&self, ptr: *mut u8, layout: Layout) {
            // SAFETY: forwarded with the caller's guarantees.
            unsafe { System.dealloc(ptr, layout) };
            sub(layout.size());
        }

        unsafe fn realloc(&self, ptr: *mut u8, layout: Layout, new_size: usize) -> *mut u8 {
            // SAFETY: forwarded with the caller's guarantees.
            let p = unsafe { System.realloc(ptr, layout, new_size) };
            if !p.is_null() {
                sub(layout.size());
                add(new_size);
            }
            p
        }
    }

    /// Run `f`; return its result and the most heap it held live at once beyond what
    /// was live when it started (bytes, this thread).
    pub fn peak_during<R>(f: impl FnOnce() -> R) -> (R, usize) {
        let base = LIVE.with(Cell::get);
        PEAK.with(|p| p.set(base));
        let r = f();
        let peak = PEAK.with(Cell::get);
        (r, usize::try_from(peak - base).unwrap_or(0))
    }

    /// Run `f` and panic if it ever held more than `budget` bytes live at once.
    pub fn within<R>(what: &str, budget: usize, f: impl FnOnce() -> R) -> R {
        let (r, peak) = peak_during(f);
        assert!(
            peak <= budget,
            "{what}: held {peak} bytes of heap at once, over its budget of {budget}"
        );
        r
    }
}

/// Heap a parser harness may hold beyond what its input's size allows: the parsers
/// borrow, the harness re-encodes what parses.
pub const PARSER_BUDGET: usize = 16 * 1024;

/// Heap a parser harness may hold per byte of input: a 4-byte chunk, parameter or
/// attribute decodes to one value of up to ~100 bytes, and the harness keeps a few
/// decodings of the input at once. What matters is that the heap follows the bytes that
/// arrived, never a length a peer claims.
pub const PARSED_PER_BYTE: usize = 128;

/// Heap one ICE agent may hold: candidates and pairs are capped by its config (`max_remote_candidates`), checks and
/// consent transactions by the pairs.
pub const ICE_BUDGET: usize = 256 * 1024;

/// Heap one DTLS session may hold: handshake messages buffered ahead of the next one
/// ([`hs::MAX_BUFFERED`]), the transcript ([`hs::MAX_TRANSCRIPT`]), our flight, and a
/// datagram's worth of records.
pub const DTLS_BUDGET: usize = hs::MAX_BUFFERED + hs::MAX_TRANSCRIPT + 128 * 1024;

fn sa(s: &str) -> SocketAddr {
    s.parse().expect("valid socket address")
}

/// The clock every run starts at, read once per process.
fn base_instant() -> Instant {
    static BASE: OnceLock<Instant> = OnceLock::new();
    *BASE.get_or_init(Instant::now)
}

/// The one drain every target shares: takes a machine's outputs until it names its next
/// deadline, and checks that it gets there (within `max` outputs: a machine that keeps
/// emitting never lets its caller sleep) and that the deadline is not in the past.
/// Returns what it sent and reported, in order, and the deadline.
pub fn settle<E, T>(
    what: &str,
    now: Instant,
    max: usize,
    mut poll: impl FnMut() -> Output<E, T>,
) -> (Vec<Output<E, T>>, Instant) {
    let mut taken = Vec::new();
    for _ in 0..max {
        match poll() {
            Output::Timeout(at) => {
                assert!(
                    at >= now,
                    "{what}: deadline {:?} before now {:?}",
                    at.saturating_duration_since(base_instant()),
                    now - base_instant()
                );
                return (taken, at);
            }
            other => taken.push(other),
        }
    }
    panic!("{what}: poll_output did not settle after {max} outputs");
}

/// Records of one input that are acted on; the rest is ignored, bounding run time.
const MAX_RECORDS: usize = 256;
/// Deadlines fired at the same instant in a row before a time advance counts as stuck.
const MAX_SAME_INSTANT: usize = 1_000;

struct Reader<'a> {
    data: &'a [u8],
}

impl<'a> Reader<'a> {
    fn u8(&mut self) -> Option<u8> {
        let (&b, rest) = self.data.split_first()?;
        self.data = rest;
        Some(b)
    }

    fn u16(&mut self) -> Option<u16> {
        Some(u16::from_be_bytes([self.u8()?, self.u8()?]))
    }

    /// Up to `n` bytes (fewer at the end of the input).
    fn take(&mut self, n: usize) -> &'a [u8] {
        let (head, rest) = self.data.split_at(n.min(self.data.len()));
        self.data = rest;
        head
    }
}
