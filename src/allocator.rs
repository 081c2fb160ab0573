//! The process's allocator: mimalloc, so that running out of memory ends with one error line
//! instead of an abort, and so that a process that runs for weeks keeps a flat footprint.
//!
//! What bounds a scan's memory is the stream's budget (pages count against it until the reader
//! is done with them), not an allocator setting: returning freed pages at once (`purge_delay`
//! 0) made scans a fifth slower and slow readers no smaller (85-90 MB either way over 60 s).
//! A follower is another matter: over 30 minutes its RSS grew 10.1 % with mimalloc's delay
//! and 2.6 % without it, so a process starts returning freed memory at once when it starts to
//! follow, and keeps the fast default otherwise.

use std::alloc::{GlobalAlloc, Layout};

/// mimalloc, whose failures end the process with one line on stderr and exit code 1. Rust's
/// own answer to a failed allocation is an abort (exit 134) with a message a user cannot act
/// on; a script that builds an array past the memory it may use deserves to be told so.
pub struct Allocator;

/// `mi_option_purge_delay` in the bundled mimalloc's `mimalloc.h` (v3), which the bindings
/// do not name.
const MI_OPTION_PURGE_DELAY: libmimalloc_sys::mi_option_t = 15;

/// From now on, memory freed is handed back to the system at once rather than after
/// mimalloc's delay: for processes that run for hours, where a steady footprint matters more
/// than the speed of a scan.
pub(crate) fn return_freed_memory_at_once() {
    // SAFETY: a plain option setter of the C library (an atomic store); no pointers.
    unsafe {
        libmimalloc_sys::mi_option_set(MI_OPTION_PURGE_DELAY, 0);
    }
}

/// Writes the one line and ends the process, allocating nothing: the allocator is what
/// failed, so no `String`, no `format!` and no unwinding.
fn out_of_memory(size: usize) -> ! {
    let mut digits = itoa::Buffer::new();
    let parts: [&[u8]; 3] = [
        b"tdc: out of memory (an allocation of ",
        digits.format(size).as_bytes(),
        b" bytes failed): more is held than this machine or its limits allow\n",
    ];
    for part in parts {
        // SAFETY: writing a live buffer to stderr's file descriptor.
        unsafe {
            libc::write(2, part.as_ptr().cast(), part.len());
        }
    }
    // SAFETY: ends the process without running destructors or atexit handlers, which may
    // allocate.
    unsafe { libc::_exit(1) }
}

// SAFETY: every call is passed to mimalloc unchanged; a null answer never returns.
unsafe impl GlobalAlloc for Allocator {
    unsafe fn alloc(&self, layout: Layout) -> *mut u8 {
        let block = mimalloc::MiMalloc.alloc(layout);
        if block.is_null() {
            out_of_memory(layout.size());
        }
        block
    }

    unsafe fn alloc_zeroed(&self, layout: Layout) -> *mut u8 {
        let block = mimalloc::MiMalloc.alloc_zeroed(layout);
        if block.is_null() {
            out_of_memory(layout.size());
        }
        block
    }

    unsafe fn dealloc(&self, block: *mut u8, layout: Layout) {
        mimalloc::MiMalloc.dealloc(block, layout)
    }

    unsafe fn realloc(&self, block: *mut u8, layout: Layout, new_size: usize) -> *mut u8 {
        let moved = mimalloc::MiMalloc.realloc(block, layout, new_size);
        if moved.is_null() {
            out_of_memory(new_size);
        }
        moved
    }
}
