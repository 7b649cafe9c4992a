//! ICE agent: arbitrary datagrams, correctly signed requests/responses built around
//! fuzzed attributes, time advances and API calls. See `src/ice_agent.rs` for the input format.
#![no_main]

use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| sansrtc_fuzz::ice_agent(data));
