//! The process's allocator: mimalloc, set up so that a long scan's memory stays what it
//! holds, and so that running out of memory ends with one error line instead of an abort.

use std::alloc::{GlobalAlloc, Layout};

/// `mi_option_purge_delay` in the bundled mimalloc's `mimalloc.h` (v3), which the bindings
/// do not name.
const MI_OPTION_PURGE_DELAY: libmimalloc_sys::mi_option_t = 15;

/// mimalloc, whose failures end the process with one line on stderr and exit code 1. Rust's
/// own answer to a failed allocation is an abort (exit 134) with a message a user cannot act
/// on; a script that builds an array past the memory it may use deserves to be told so.
pub struct Allocator;

impl Allocator {
    /// Called once, first thing in `main`, before any thread starts. Pages are read into
    /// values on the runtime's threads and let go of on the script's; mimalloc keeps what
    /// one thread frees for another for a while before handing it back, and with a slow
    /// reader that "while" keeps pace with the pages, so memory grew with the pages read
    /// rather than with those held. Returning freed pages at once keeps it to what is held.
    pub fn configure() {
        // SAFETY: a plain option setter of the C library; no pointers are involved.
        unsafe {
            libmimalloc_sys::mi_option_set(MI_OPTION_PURGE_DELAY, 0);
        }
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
