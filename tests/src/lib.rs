//! Cross-crate tests for sansrtc live in `tests/`.
