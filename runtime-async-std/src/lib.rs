//! async-std runtime for sansrtc.
