//! SCTP association: one `Association` fed datagrams, time advances, API calls, its own
//! packets reflected back and an honest peer's packets (some mutated). See
//! `src/sctp_association.rs`.
#![no_main]

use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| sansrtc_fuzz::sctp_association(data));
