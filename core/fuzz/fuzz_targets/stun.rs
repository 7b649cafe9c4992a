//! STUN codec: parse arbitrary bytes, then exercise every getter and integrity check.
//! The harness lives in `src/stun.rs` so `core/tests/fuzz_corpus.rs` replays the corpus.
#![no_main]

use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| sansrtc_fuzz::stun(data));
