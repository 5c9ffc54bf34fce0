//! Giving the memory of closed sessions back to the system.
//!
//! A session's allocations are small and interleaved with longer-lived ones, so glibc keeps
//! the freed memory inside its heaps, where only `malloc_trim` returns it: 1,000 sessions
//! opened and closed left the server at 51.4 MiB with them gone, and 28.7 MiB after one
//! trim (idle: 23.3 MiB; docs/performance.md, "Fourth look"). A trim walks every heap, so
//! it runs on the blocking pool, once after a burst of closes settles, at most once a second.

use std::{
    sync::{Arc, OnceLock},
    time::Duration,
};

use tokio::sync::Notify;

/// How long closes must pause before the trim; more closes meanwhile join the same trim.
const SETTLE: Duration = Duration::from_secs(1);

#[derive(Default)]
pub struct Trim {
    wanted: Arc<Notify>,
    started: OnceLock<()>,
}

impl Trim {
    /// A session closed: trim once the closes settle.
    pub fn after_close(&self) {
        self.started.get_or_init(|| {
            // Started on the first close, which runs on the server's runtime.
            if let Ok(runtime) = tokio::runtime::Handle::try_current() {
                runtime.spawn(trim_when_wanted(self.wanted.clone()));
            }
        });
        // Keeps a permit if the task is trimming now, so the last close is always followed
        // by a trim.
        self.wanted.notify_one();
    }
}

async fn trim_when_wanted(wanted: Arc<Notify>) {
    loop {
        wanted.notified().await;
        tokio::time::sleep(SETTLE).await;
        let _ = tokio::task::spawn_blocking(trim).await;
    }
}

#[cfg(all(target_os = "linux", target_env = "gnu"))]
#[allow(unsafe_code)] // No safe API gives glibc's free memory back; the call has no inputs.
fn trim() {
    // SAFETY: malloc_trim takes a byte count to keep and touches only the allocator's own
    // state, under its own locks; it is safe to call from any thread at any time.
    unsafe {
        libc::malloc_trim(0);
    }
}

/// Other allocators (musl, macOS) give memory back on their own or offer no such call.
#[cfg(not(all(target_os = "linux", target_env = "gnu")))]
fn trim() {}
