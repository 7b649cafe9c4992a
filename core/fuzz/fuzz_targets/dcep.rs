//! DCEP codec: `DcepMessage::parse` on arbitrary bytes, with an exact re-encoding round trip.
//! The harness lives in `src/dcep.rs`.
#![no_main]

use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| sansrtc_fuzz::dcep(data));
