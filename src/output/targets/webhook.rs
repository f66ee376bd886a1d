//! Alerts POSTed as JSON to an HTTP(S) webhook, one at a time and in order, from a writer thread
//! fed by a bounded queue (a full queue drops the new alert and counts it). A failed POST
//! (no connection, a timeout, 5xx, 408, 429) is retried with exponential backoff before any
//! later alert is sent, up to `max_attempts`; then the alert is dropped and counted. Any other
//! answer (a 4xx, a redirect) is final: retrying would give the same answer.
//!
//! Why a thread with a blocking client (ureq) rather than an async runtime: there is one
//! connection, a handful of alerts a second at most, sent strictly one after the other; the
//! packet path only does a non-blocking `try_send`, so a thread waiting on the network costs it
//! nothing, while tokio would add a runtime and its threads for the work of one thread.
//!
//! Proxies come from the environment (`HTTPS_PROXY`, `NO_PROXY`, ...), except for a loopback
//! URL, which no proxy can reach.

use super::backoff::Backoff;
use super::queue::{Stop, Worker};
use super::report::{Counters, TargetKind, TargetReport};
use super::{OutputError, WebhookSpec};
use crossbeam_channel::Receiver;
use std::io::{self, Read};
use std::net::IpAddr;
use std::sync::Arc;
use std::time::Duration;
use ureq::http::Uri;
use ureq::Agent;

/// Response bytes read (and thrown away) so the connection can be used again.
const MAX_RESPONSE_BYTES: u64 = 64 * 1024;

/// The pipeline's side of a webhook.
pub(crate) struct WebhookTarget {
    name: String,
    worker: Worker<Vec<u8>>,
}

impl WebhookTarget {
    /// Checks the URL and settings and starts the writer thread (no connection is made yet).
    pub(crate) fn open(spec: &WebhookSpec) -> Result<Self, OutputError> {
        let uri = check_webhook_url(&spec.url).map_err(OutputError::WebhookUrl)?;
        let shown = redacted(&uri);
        let settings = |reason: &str| OutputError::WebhookSettings {
            url: shown.clone(),
            reason: reason.to_string(),
        };
        if spec.queue == 0 {
            return Err(settings("the queue must hold at least 1 alert"));
        }
        if spec.max_attempts == 0 {
            return Err(settings("max_attempts must be at least 1"));
        }
        if spec.timeout.is_zero() {
            return Err(settings("the timeout must be longer than zero"));
        }
        let counters = Arc::new(Counters::default());
        let poster = Poster {
            agent: agent(spec, is_loopback(&uri)),
            url: spec.url.clone(),
            timeout: spec.timeout,
            max_attempts: spec.max_attempts,
            backoff: Backoff::new(spec.backoff, spec.max_backoff),
            counters: Arc::clone(&counters),
        };
        let name = format!("webhook {shown}");
        let worker = Worker::spawn("eve-webhook", spec.queue, counters, move |queue, stop| {
            poster.run(queue, stop)
        })
        .map_err(|source| OutputError::Thread {
            target: name.clone(),
            source,
        })?;
        Ok(WebhookTarget { name, worker })
    }

    /// Queues one alert (its JSON is the request body).
    pub(crate) fn alert(&self, json: &[u8]) {
        self.worker.offer(json.to_vec());
    }

    pub(crate) fn worker(&mut self) -> &mut Worker<Vec<u8>> {
        &mut self.worker
    }

    pub(crate) fn report(&self) -> TargetReport {
        self.worker
            .counters
            .snapshot(TargetKind::Webhook, &self.name)
    }
}

/// The HTTP client: statuses are answers rather than errors, redirects are not followed (a POST
/// body is not re-sent to another place), one timeout covers the whole request.
fn agent(spec: &WebhookSpec, loopback: bool) -> Agent {
    let config = Agent::config_builder()
        .http_status_as_error(false)
        .max_redirects(0)
        .timeout_global(Some(spec.timeout))
        .user_agent(concat!("egress-ids/", env!("CARGO_PKG_VERSION")));
    let config = if loopback { config.proxy(None) } else { config };
    config.build().into()
}

/// A usable webhook URL, or why not and what to write instead, with the URL shown without the
/// secrets it may hold. The one check of every webhook URL: command line, daemon file, and here.
pub(crate) fn check_webhook_url(url: &str) -> Result<Uri, String> {
    check_url(url).map_err(|reason| {
        format!(
            "{:?} is not a usable webhook URL: {reason}; write a full http:// or https:// URL, e.g. \"https://alerts.example.com/hook\"",
            shown_url(url)
        )
    })
}

/// A usable webhook URL: http or https, with a host.
fn check_url(url: &str) -> Result<Uri, String> {
    if !url.contains("://") {
        return Err("it has no scheme".into());
    }
    let uri: Uri = url.parse().map_err(|e| format!("it is not a URL ({e})"))?;
    match uri.scheme_str() {
        Some(s) if s.eq_ignore_ascii_case("http") || s.eq_ignore_ascii_case("https") => {}
        Some(s) => return Err(format!("the scheme {s}:// is not supported")),
        None => return Err("it has no scheme".into()),
    }
    if uri.host().is_none_or(str::is_empty) {
        return Err("it has no host".into());
    }
    Ok(uri)
}

/// The URL as logs show it: without user, password and query, which may hold secrets.
pub(crate) fn redacted(uri: &Uri) -> String {
    let scheme = uri.scheme_str().unwrap_or("http");
    let host_port = uri
        .authority()
        .map(|a| a.as_str().rsplit('@').next().unwrap_or_default())
        .unwrap_or_default();
    let path = uri.path();
    let query = if uri.query().is_some() { "?…" } else { "" };
    format!("{scheme}://{host_port}{path}{query}")
}

/// `url` for an error message, as written but without user, password and query, whether it
/// parses or not.
fn shown_url(url: &str) -> String {
    let (url, query) = match url.split_once(['?', '#']) {
        Some((before, _)) => (before, "?…"),
        None => (url, ""),
    };
    let (scheme, rest) = match url.split_once("://") {
        Some((scheme, rest)) => (format!("{scheme}://"), rest),
        None => (String::new(), url),
    };
    let (authority, path) = rest.split_at(rest.find('/').unwrap_or(rest.len()));
    let host = authority.rsplit('@').next().unwrap_or(authority);
    format!("{scheme}{host}{path}{query}")
}

fn is_loopback(uri: &Uri) -> bool {
    let host = uri.host().unwrap_or_default();
    let bare = host.trim_start_matches('[').trim_end_matches(']');
    host.eq_ignore_ascii_case("localhost")
        || bare.parse::<IpAddr>().is_ok_and(|ip| ip.is_loopback())
}

/// What one POST came to.
#[derive(Debug, PartialEq, Eq)]
enum Attempt {
    Delivered,
    /// Worth trying again later (the reason).
    Retry(String),
    /// Final: the same request would get the same answer (the reason).
    Refused(String),
}

/// What a response status means for the alert.
fn by_status(status: u16) -> Attempt {
    let reason = ureq::http::StatusCode::from_u16(status)
        .ok()
        .and_then(|s| s.canonical_reason())
        .unwrap_or("");
    let text = format!("HTTP {status} {reason}");
    match status {
        200..=299 => Attempt::Delivered,
        408 | 429 | 500..=599 => Attempt::Retry(text),
        300..=399 => Attempt::Refused(format!(
            "{text} (redirects are not followed: configure the final URL)"
        )),
        _ => Attempt::Refused(format!("{text} (not retried)")),
    }
}

/// What a failed request means for the alert: a request the server never answered is worth
/// trying again, a request that cannot be made (bad URL or header, a redirect) is not.
fn by_error(e: ureq::Error) -> Attempt {
    use ureq::Error as E;
    match e {
        E::BadUri(_)
        | E::Http(_)
        | E::RedirectFailed
        | E::TooManyRedirects
        | E::InvalidProxyUrl
        | E::BodyExceedsLimit(_) => Attempt::Refused(e.to_string()),
        E::Io(io) => Attempt::Retry(io.to_string()),
        other => Attempt::Retry(other.to_string()),
    }
}

/// The writer thread.
struct Poster {
    agent: Agent,
    url: String,
    timeout: Duration,
    max_attempts: u32,
    /// Shared by consecutive alerts: an unreachable server is not hammered by each new one.
    backoff: Backoff,
    counters: Arc<Counters>,
}

impl Poster {
    /// Delivers queued alerts until the queue closes or the deadline passes; returns how many
    /// it holds undelivered (0 or 1).
    fn run(mut self, queue: &Receiver<Vec<u8>>, stop: &mut Stop) -> u64 {
        while let Some(body) = stop.next(queue) {
            if !self.deliver(&body, stop) {
                return 1;
            }
        }
        0
    }

    /// Delivers one alert, retrying as the policy says; false when the deadline passed first.
    fn deliver(&mut self, body: &[u8], stop: &mut Stop) -> bool {
        let mut attempts = 0u32;
        loop {
            if stop.passed() {
                return false;
            }
            attempts += 1;
            match self.post(body, stop.remaining()) {
                Attempt::Delivered => {
                    Counters::add(&self.counters.written, 1);
                    self.backoff.reset();
                    return true;
                }
                Attempt::Refused(reason) => {
                    self.counters.set_error(reason);
                    Counters::add(&self.counters.dropped_failed, 1);
                    self.backoff.reset();
                    return true;
                }
                Attempt::Retry(reason) => {
                    self.counters.set_error(reason);
                    if attempts >= self.max_attempts {
                        Counters::add(&self.counters.dropped_failed, 1);
                        return true;
                    }
                    Counters::add(&self.counters.retries, 1);
                    if !stop.sleep(self.backoff.next_delay()) {
                        return false;
                    }
                }
            }
        }
    }

    /// One POST; during shutdown it never outlasts the deadline.
    fn post(&self, body: &[u8], remaining: Option<Duration>) -> Attempt {
        let mut request = self
            .agent
            .post(&self.url)
            .header("Content-Type", "application/json");
        if let Some(left) = remaining {
            // Not `clamp`: a configured timeout under a millisecond must not panic.
            let timeout = left.min(self.timeout).max(Duration::from_millis(1));
            request = request.config().timeout_global(Some(timeout)).build();
        }
        match request.send(body) {
            Ok(response) => {
                let status = response.status().as_u16();
                // Read the answer so the connection can carry the next alert; a failure here
                // only costs that reuse.
                let mut reader = response.into_body().into_reader().take(MAX_RESPONSE_BYTES);
                let _ = io::copy(&mut reader, &mut io::sink());
                by_status(status)
            }
            Err(e) => by_error(e),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn urls_are_checked_and_shown_without_secrets() {
        for good in [
            "http://127.0.0.1:8080/x",
            "https://hooks.example.com/a/b",
            "HTTPS://h/",
        ] {
            assert!(check_url(good).is_ok(), "{good}");
        }
        for (bad, why) in [
            ("ftp://h/x", "scheme ftp://"),
            ("127.0.0.1:8080/x", "no scheme"),
            ("localhost:8080", "no scheme"),
            ("/alerts", "no scheme"),
            ("http://", "not a URL"),
            ("", "no scheme"),
        ] {
            let e = check_url(bad).unwrap_err();
            assert!(e.contains(why), "{bad}: {e}");
        }
        let uri = check_url("https://user:pw@hooks.example.com:8443/h/1?token=s3cret").unwrap();
        assert_eq!(redacted(&uri), "https://hooks.example.com:8443/h/1?…");
        assert_eq!(shown_url("ftp://u:p@h/x"), "ftp://h/x");
        for (url, lo) in [
            ("http://127.0.0.1:9/", true),
            ("http://[::1]:9/", true),
            ("http://LOCALHOST/", true),
            ("http://10.0.0.1/", false),
            ("https://example.com/", false),
        ] {
            assert_eq!(is_loopback(&check_url(url).unwrap()), lo, "{url}");
        }
    }

    #[test]
    fn statuses_decide_retry_or_drop() {
        assert_eq!(by_status(200), Attempt::Delivered);
        assert_eq!(by_status(204), Attempt::Delivered);
        for s in [408, 429, 500, 502, 503, 504] {
            assert!(matches!(by_status(s), Attempt::Retry(_)), "{s}");
        }
        assert_eq!(
            by_status(503),
            Attempt::Retry("HTTP 503 Service Unavailable".into())
        );
        for s in [301, 400, 401, 404, 413] {
            assert!(matches!(by_status(s), Attempt::Refused(_)), "{s}");
        }
        let io = ureq::Error::Io(io::Error::from(io::ErrorKind::ConnectionRefused));
        assert!(matches!(by_error(io), Attempt::Retry(_)));
        assert!(matches!(
            by_error(ureq::Error::HostNotFound),
            Attempt::Retry(_)
        ));
        assert!(matches!(
            by_error(ureq::Error::TooManyRedirects),
            Attempt::Refused(_)
        ));
    }

    #[test]
    fn settings_are_checked_at_open() {
        let mut spec = WebhookSpec::new("http://127.0.0.1:9/x");
        spec.queue = 0;
        let e = WebhookTarget::open(&spec).err().unwrap().to_string();
        assert!(
            e.contains("http://127.0.0.1:9/x") && e.contains("queue"),
            "{e}"
        );
        let mut spec = WebhookSpec::new("http://127.0.0.1:9/x");
        spec.max_attempts = 0;
        assert!(WebhookTarget::open(&spec).is_err());
        let e = WebhookTarget::open(&WebhookSpec::new("unix:///x"))
            .err()
            .unwrap();
        assert!(e.to_string().contains("http:// or https://"), "{e}");
        let e = check_webhook_url(" https://u:pw@h/x?t=1").unwrap_err();
        assert!(
            e.starts_with("\" https://h/x?…\" is not a usable webhook URL: it is not a URL"),
            "{e}"
        );
        assert_eq!(shown_url("u:pw@h:80/x"), "h:80/x");
    }
}
