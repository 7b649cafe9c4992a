//! tokio runtime for sansrtc.
