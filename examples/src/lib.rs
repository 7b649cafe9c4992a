//! Shared helpers for the sansrtc example programs.

pub mod counting {
    //! A global allocator that counts the bytes live while counting is on: heap figures
    //! from the allocator itself, not RSS guesses. A program installs it with
    //! `#[global_allocator] static ALLOC: Counting = Counting;`.

    use std::alloc::{GlobalAlloc, Layout, System};
    use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};

    /// The system allocator, counting.
    pub struct Counting;

    static LIVE: AtomicUsize = AtomicUsize::new(0);
    /// Counting costs an atomic add per allocation, so it is on only while measuring.
    static ON: AtomicBool = AtomicBool::new(false);

    /// Start or stop counting.
    pub fn set(on: bool) {
        ON.store(on, Ordering::Relaxed);
    }

    /// Bytes allocated minus bytes freed while counting was on (wrapping: subtract two
    /// readings to get what lies between them).
    pub fn live() -> usize {
        LIVE.load(Ordering::Relaxed)
    }

    // SAFETY: forwards to the system allocator and only counts bytes.
    unsafe impl GlobalAlloc for Counting {
        unsafe fn alloc(&self, layout: Layout) -> *mut u8 {
            if ON.load(Ordering::Relaxed) {
                LIVE.fetch_add(layout.size(), Ordering::Relaxed);
            }
            // SAFETY: same layout contract as the caller's.
            unsafe { System.alloc(layout) }
        }
        unsafe fn dealloc(&self, ptr: *mut u8, layout: Layout) {
            if ON.load(Ordering::Relaxed) {
                LIVE.fetch_sub(layout.size(), Ordering::Relaxed);
            }
            // SAFETY: `ptr` came from `alloc` with this layout.
            unsafe { System.dealloc(ptr, layout) }
        }
        unsafe fn realloc(&self, ptr: *mut u8, layout: Layout, new_size: usize) -> *mut u8 {
            if ON.load(Ordering::Relaxed) {
                LIVE.fetch_add(new_size, Ordering::Relaxed);
                LIVE.fetch_sub(layout.size(), Ordering::Relaxed);
            }
            // SAFETY: forwarded unchanged.
            unsafe { System.realloc(ptr, layout, new_size) }
        }
    }
}
