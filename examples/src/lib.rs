//! Shared helpers for the sansrtc example programs.
