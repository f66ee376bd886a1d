//! The SIGBUS guard of mapped capture files. A process-wide handler (installed once, chained to
//! the handler it replaces) looks up the faulting address among the registered mappings; inside
//! one, it maps a zero page over the faulting page, marks that mapping and returns, so the read
//! completes with zeros that the reader then refuses (see [`super`]). A fault anywhere else goes
//! to the previous handler (Rust's stack-overflow handler, then the default action), as if the
//! guard were not there.
//!
//! Everything the handler touches is async-signal-safe: atomics in a fixed table, `mmap` and
//! `sigaction`.

use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::OnceLock;

/// Mappings guarded at once; a file mapped while all are in use is read unguarded (as before the
/// guard existed) -- far more than a replay maps at a time.
const SLOTS: usize = 64;

struct Slot {
    /// First byte of the mapping; 0 when the slot is free.
    start: AtomicUsize,
    /// One past its last byte.
    end: AtomicUsize,
    /// Set by the handler when it patched a page of this mapping.
    faulted: AtomicBool,
}

#[allow(clippy::declare_interior_mutable_const)]
const FREE: Slot = Slot {
    start: AtomicUsize::new(0),
    end: AtomicUsize::new(0),
    faulted: AtomicBool::new(false),
};

static SLOTS_TABLE: [Slot; SLOTS] = [FREE; SLOTS];
static PAGE_SIZE: AtomicUsize = AtomicUsize::new(4096);
/// The disposition the guard replaced, restored for faults that are not ours.
static PREVIOUS: OnceLock<libc::sigaction> = OnceLock::new();

/// A mapping's place in the guard's table, freed on drop.
pub(crate) struct Registration {
    slot: Option<usize>,
}

impl Registration {
    /// Guards `len` bytes mapped at `start`.
    pub(crate) fn new(start: usize, len: usize) -> Registration {
        install();
        for (i, slot) in SLOTS_TABLE.iter().enumerate() {
            if slot
                .start
                .compare_exchange(0, usize::MAX, Ordering::AcqRel, Ordering::Relaxed)
                .is_ok()
            {
                slot.faulted.store(false, Ordering::Relaxed);
                slot.end.store(start + len, Ordering::Release);
                slot.start.store(start, Ordering::Release);
                return Registration { slot: Some(i) };
            }
        }
        Registration { slot: None }
    }

    /// Whether a read of this mapping faulted past the end of the file.
    pub(crate) fn faulted(&self) -> bool {
        self.slot
            .is_some_and(|i| SLOTS_TABLE[i].faulted.load(Ordering::Acquire))
    }
}

impl Drop for Registration {
    fn drop(&mut self) {
        if let Some(i) = self.slot {
            let slot = &SLOTS_TABLE[i];
            slot.end.store(0, Ordering::Release);
            slot.start.store(0, Ordering::Release);
        }
    }
}

/// Installs the handler once per process.
fn install() {
    PREVIOUS.get_or_init(|| {
        // SAFETY: sysconf has no preconditions.
        let page = unsafe { libc::sysconf(libc::_SC_PAGESIZE) };
        if page > 0 {
            PAGE_SIZE.store(page as usize, Ordering::Relaxed);
        }
        // SAFETY: a zeroed sigaction is a valid value to fill; the handler below only does
        // async-signal-safe work; SA_ONSTACK keeps it usable on the alternate signal stack Rust
        // sets up for its own stack-overflow handler.
        unsafe {
            let mut action: libc::sigaction = std::mem::zeroed();
            action.sa_sigaction = on_sigbus as *const () as libc::sighandler_t;
            action.sa_flags = libc::SA_SIGINFO | libc::SA_ONSTACK;
            libc::sigemptyset(&mut action.sa_mask);
            let mut previous: libc::sigaction = std::mem::zeroed();
            if libc::sigaction(libc::SIGBUS, &action, &mut previous) != 0 {
                previous.sa_sigaction = libc::SIG_DFL;
            }
            previous
        }
    });
}

extern "C" fn on_sigbus(_signal: libc::c_int, info: *mut libc::siginfo_t, _ctx: *mut libc::c_void) {
    // SAFETY: the kernel passes a valid siginfo_t to an SA_SIGINFO handler.
    let addr = unsafe { (*info).si_addr() } as usize;
    let page = PAGE_SIZE.load(Ordering::Relaxed);
    for slot in &SLOTS_TABLE {
        let start = slot.start.load(Ordering::Acquire);
        if start == 0 || start == usize::MAX || addr < start {
            continue;
        }
        if addr >= slot.end.load(Ordering::Acquire) {
            continue;
        }
        // SAFETY: the page lies inside a read-only file mapping this process owns, which stays
        // mapped while it is registered; replacing one page of it by an anonymous zero page
        // changes only what that page reads as (the mapping is unmapped as a whole later).
        let patched = unsafe {
            libc::mmap(
                (addr - addr % page) as *mut libc::c_void,
                page,
                libc::PROT_READ,
                libc::MAP_PRIVATE | libc::MAP_ANONYMOUS | libc::MAP_FIXED,
                -1,
                0,
            )
        };
        if patched != libc::MAP_FAILED {
            slot.faulted.store(true, Ordering::Release);
            return;
        }
    }
    // Not ours: put the previous disposition back; returning repeats the faulting access, which
    // then meets it.
    if let Some(previous) = PREVIOUS.get() {
        // SAFETY: restoring a disposition the kernel gave us.
        unsafe { libc::sigaction(libc::SIGBUS, previous, std::ptr::null_mut()) };
    }
}
