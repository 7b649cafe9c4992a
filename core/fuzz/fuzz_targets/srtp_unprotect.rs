//! SRTP/SRTCP unprotect (and protect round trips) on hostile input. See `src/srtp.rs`.
#![no_main]

use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| sansrtc_fuzz::srtp_unprotect(data));
