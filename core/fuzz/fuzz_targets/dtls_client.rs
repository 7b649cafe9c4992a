//! DTLS client: one `Dtls` client (its ClientHello goes out on the first timeout) with
//! the fuzzer playing the server. Same input format as `dtls_server`; see `src/dtls_machine.rs`.
#![no_main]

use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| sansrtc_fuzz::dtls_client(data));
