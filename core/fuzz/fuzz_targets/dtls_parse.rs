//! DTLS codec: records, handshake fragments, reassembly and every handshake-message
//! parser on arbitrary bytes, with re-encoding round trips. See `src/dtls_parse.rs`.
#![no_main]

use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| sansrtc_fuzz::dtls_parse(data));
