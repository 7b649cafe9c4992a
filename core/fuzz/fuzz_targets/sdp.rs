//! SDP: `SessionDescription::parse` on arbitrary text, a write/re-parse round trip, every
//! typed accessor on every attribute, and changes that must keep it parseable. The
//! harness lives in `src/sdp.rs`.
#![no_main]

use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| sansrtc_fuzz::sdp(data));
