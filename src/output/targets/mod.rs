//! Where a live sensor's EVE lines go: files, stdout, a Unix stream socket, an HTTP webhook for
//! alerts. [`OutputSpec`] says what to open; the implementation fans every line out to each one.

use std::path::PathBuf;
use std::time::Duration;

/// One configured output.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum OutputSpec {
    /// EVE lines appended to a file; reopened on request (logrotate).
    File { path: PathBuf },
    /// EVE lines on standard output.
    Stdout,
    /// EVE lines sent to a Unix stream socket that another program listens on; reconnects.
    UnixSocket { path: PathBuf },
    /// Alerts POSTed as JSON to an HTTP(S) URL.
    Webhook(WebhookSpec),
}

/// How alerts are delivered to a webhook.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct WebhookSpec {
    pub url: String,
    /// Alerts waiting for delivery at most; beyond it new alerts are dropped and counted.
    pub queue: usize,
    /// Timeout of one POST.
    pub timeout: Duration,
    /// Delivery attempts per alert before it is dropped and counted.
    pub max_attempts: u32,
    /// First retry delay; doubled per attempt up to `max_backoff`.
    pub backoff: Duration,
    pub max_backoff: Duration,
}

impl WebhookSpec {
    /// A webhook at `url` with the default queue and retry policy.
    pub fn new(url: impl Into<String>) -> Self {
        WebhookSpec {
            url: url.into(),
            queue: 1024,
            timeout: Duration::from_secs(5),
            max_attempts: 8,
            backoff: Duration::from_millis(200),
            max_backoff: Duration::from_secs(10),
        }
    }
}
