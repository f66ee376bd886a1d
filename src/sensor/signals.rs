//! The signals a running sensor answers: SIGTERM and SIGINT stop it (capture stops, every queued
//! packet is analysed, every event written; a second one exits at once with status 1), SIGHUP
//! reloads the signatures, SIGUSR1 reopens the EVE files (for logrotate). Handlers only set
//! flags; the capture loop looks at them at least every 100 ms.

use signal_hook::consts::{SIGHUP, SIGINT, SIGTERM, SIGUSR1};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;

/// Flags set by signals (or by anyone holding them, such as a test).
#[derive(Clone, Debug, Default)]
pub struct Signals {
    pub(crate) stop: Arc<AtomicBool>,
    pub(crate) reload: Arc<AtomicBool>,
    pub(crate) reopen: Arc<AtomicBool>,
}

impl Signals {
    /// Flags no signal sets: stopping and reloading are up to the holder.
    pub(crate) fn new() -> Self {
        Signals::default()
    }

    /// Flags set by the process's signals.
    pub(crate) fn register() -> std::io::Result<Self> {
        let signals = Signals::new();
        for sig in [SIGTERM, SIGINT] {
            // Registered first, so it only acts on the second signal: the first sets the flag.
            signal_hook::flag::register_conditional_shutdown(sig, 1, signals.stop.clone())?;
            signal_hook::flag::register(sig, signals.stop.clone())?;
        }
        signal_hook::flag::register(SIGHUP, signals.reload.clone())?;
        signal_hook::flag::register(SIGUSR1, signals.reopen.clone())?;
        Ok(signals)
    }

    /// Whether a stop was asked for.
    pub(crate) fn stopping(&self) -> bool {
        self.stop.load(Ordering::Relaxed)
    }

    /// Whether a reload was asked for since the last call (clears the request).
    pub(crate) fn take_reload(&self) -> bool {
        self.reload.swap(false, Ordering::Relaxed)
    }
}
