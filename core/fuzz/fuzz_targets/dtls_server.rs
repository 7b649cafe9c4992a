//! DTLS server: one `Dtls` server fed datagrams, time advances, API calls and its own
//! datagrams reflected back. See `src/dtls_machine.rs` for the input format.
#![no_main]

use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| sansrtc_fuzz::dtls_server(data));
