//! JSEP: a remote offer or answer of arbitrary SDP through `RTCPeerConnection`'s calls,
//! and its candidates through `addIceCandidate`. The harness lives in `src/jsep.rs`.
#![no_main]

use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| sansrtc_fuzz::jsep(data));
