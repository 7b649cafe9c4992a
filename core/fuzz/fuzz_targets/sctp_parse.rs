//! SCTP codec: `Packet::parse` under both checksum policies (and with the checksum fixed up)
//! and `Chunk::parse_all`, with re-encoding round trips. The harness lives in `src/sctp_parse.rs`.
#![no_main]

use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| sansrtc_fuzz::sctp_parse(data));
