//! Two ORTC chains connecting while the input meddles with the path (see `src/ortc_chain.rs`).
#![no_main]

use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| sansrtc_fuzz::ortc_chain(data));
