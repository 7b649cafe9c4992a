//! Many connections on one socket: datagrams from strangers and peers, signed checks,
//! answers by transaction id, time and removals. See `src/mux.rs` for the input format.
#![no_main]

use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| sansrtc_fuzz::mux(data));
