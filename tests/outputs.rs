//! The live sensor's outputs through the public API, against real endpoints on this machine: a
//! Python HTTP server for the webhook (up, down and coming back, answering 503), a Unix socket
//! listener that goes away and comes back, a file that logrotate moves. Only loopback is used;
//! every child process is killed and waited for, every wait is bounded.

mod common;

use common::live::wait_until;
use common::webhook::start_server;

use egress_ids::eve::EventSink;
use egress_ids::output::targets::{OutputSpec, Outputs, TargetKind, TargetReport, WebhookSpec};
use proto::Timestamp;
use serde_json::Value;
use std::io::{BufRead, BufReader, ErrorKind};
use std::net::TcpListener;
use std::os::unix::net::{UnixListener, UnixStream};
use std::path::{Path, PathBuf};
use std::sync::atomic::AtomicBool;
use std::sync::Arc;
use std::thread;
use std::time::{Duration, Instant};

/// A loopback port with nothing listening on it (free a moment ago).
fn free_port() -> u16 {
    let listener = TcpListener::bind("127.0.0.1:0").unwrap();
    listener.local_addr().unwrap().port()
}

/// The bodies the server received, one a line.
fn received(bodies: &Path) -> Vec<String> {
    match std::fs::read_to_string(bodies) {
        Ok(text) => text.lines().map(str::to_string).collect(),
        Err(e) if e.kind() == ErrorKind::NotFound => Vec::new(),
        Err(e) => panic!("read {}: {e}", bodies.display()),
    }
}

/// A distinct alert; the text has quotes, a backslash and non-ASCII to check the body arrives
/// byte for byte.
fn alert(i: usize) -> String {
    format!(
        r#"{{"timestamp":"2026-03-31T12:00:00.{i:06}+0000","flow_id":{i},"event_type":"alert","src_ip":"10.0.0.5","dest_ip":"203.0.113.7","alert":{{"signature_id":{i},"signature":"ioc-domain \"pkg-validate.net\" \\ été"}}}}"#
    )
}

fn webhook(url: String, queue: usize, max_attempts: u32, backoff_ms: u64) -> OutputSpec {
    let mut spec = WebhookSpec::new(url);
    spec.queue = queue;
    spec.max_attempts = max_attempts;
    spec.backoff = Duration::from_millis(backoff_ms);
    spec.max_backoff = Duration::from_millis(backoff_ms * 8);
    spec.timeout = Duration::from_secs(2);
    OutputSpec::Webhook(spec)
}

fn open(specs: &[OutputSpec]) -> Outputs {
    Outputs::open(specs, Arc::new(AtomicBool::new(false))).unwrap()
}

fn only(report: &egress_ids::output::targets::OutputReport, kind: TargetKind) -> TargetReport {
    let mut found = report.targets.iter().filter(|t| t.kind == kind);
    let t = found.next().expect("a target of that kind").clone();
    assert!(found.next().is_none());
    assert_eq!(t.offered, t.written + t.dropped() + t.queued, "{t}");
    t
}

#[test]
fn webhook_gets_every_alert_in_order_and_the_file_every_line() {
    let dir = common::scratch("outputs-webhook-up");
    let bodies = dir.join("bodies.txt");
    let server = start_server(0, &bodies, 0);
    let url = format!("http://127.0.0.1:{}/alerts", server.port);
    let eve = dir.join("eve.json");
    let mut out = open(&[
        OutputSpec::File { path: eve.clone() },
        webhook(url.clone(), 1024, 3, 50),
    ]);
    let alerts: Vec<String> = (0..40).map(alert).collect();
    for (i, a) in alerts.iter().enumerate() {
        out.line(a.as_bytes(), true);
        out.line(
            format!(r#"{{"event_type":"flow","n":{i}}}"#).as_bytes(),
            false,
        );
    }
    out.emit_stats(
        Timestamp::from_parts(1_774_958_400, 0, 1),
        serde_json::json!({"uptime": 1}),
    );
    let report = out.finish(Duration::from_secs(10));

    let got = received(&bodies);
    assert_eq!(
        got, alerts,
        "the webhook got every alert, in order, unchanged"
    );
    for body in &got {
        let v: Value = serde_json::from_str(body).unwrap();
        assert_eq!(v["event_type"], "alert");
    }
    let w = only(&report, TargetKind::Webhook);
    assert_eq!(
        (w.offered, w.written, w.dropped(), w.retries),
        (40, 40, 0, 0)
    );
    assert!(
        w.to_string()
            .starts_with(&format!("webhook {url}: 40 alerts delivered, 0 dropped")),
        "{w}"
    );
    let f = only(&report, TargetKind::File);
    assert_eq!((f.written, f.dropped()), (81, 0));
    let lines: Vec<String> = std::fs::read_to_string(&eve)
        .unwrap()
        .lines()
        .map(str::to_string)
        .collect();
    assert_eq!(lines.len(), 81);
    assert_eq!(lines[0], alerts[0]);
    assert_eq!(
        lines[80],
        r#"{"timestamp":"2026-03-31T12:00:00.000000+0000","event_type":"stats","stats":{"uptime":1}}"#
    );
}

#[test]
fn webhook_down_then_back_delivers_everything() {
    let dir = common::scratch("outputs-webhook-back");
    let bodies = dir.join("bodies.txt");
    let port = free_port();
    let mut out = open(&[webhook(
        format!("http://127.0.0.1:{port}/alerts"),
        1024,
        1000,
        50,
    )]);
    let alerts: Vec<String> = (0..20).map(alert).collect();
    for a in &alerts {
        out.line(a.as_bytes(), true);
    }
    thread::sleep(Duration::from_secs(1));
    let before = only(&out.report(), TargetKind::Webhook);
    assert_eq!(before.written, 0);
    assert_eq!(before.queued, 20);
    assert!(before.retries > 0, "{before}");
    assert!(before.last_error.is_some(), "{before}");

    let _server = start_server(port, &bodies, 0);
    assert!(wait_until(Duration::from_secs(10), || received(&bodies)
        .len()
        == alerts.len()));
    let w = only(&out.finish(Duration::from_secs(5)), TargetKind::Webhook);
    assert_eq!(received(&bodies), alerts);
    assert_eq!((w.written, w.dropped(), w.queued), (20, 0, 0), "{w}");
    assert!(w.retries > 0);
}

#[test]
fn webhook_with_a_tiny_queue_counts_every_drop() {
    let dir = common::scratch("outputs-webhook-tiny");
    let bodies = dir.join("bodies.txt");
    let port = free_port();
    let mut out = open(&[webhook(
        format!("http://127.0.0.1:{port}/alerts"),
        2,
        1000,
        20,
    )]);
    let alerts: Vec<String> = (0..10).map(alert).collect();
    for a in &alerts {
        out.line(a.as_bytes(), true);
    }
    let _server = start_server(port, &bodies, 0);
    let w = only(&out.finish(Duration::from_secs(10)), TargetKind::Webhook);
    assert_eq!(w.offered, 10);
    assert_eq!(w.written + w.dropped(), 10, "{w}");
    assert_eq!(w.dropped(), w.dropped_queue_full, "{w}");
    // The queue holds 2 and the thread perhaps 1 more; they went out, the rest was dropped.
    assert!((2..=3).contains(&w.written), "{w}");
    let got = received(&bodies);
    assert_eq!(got.len() as u64, w.written);
    assert_eq!(got, alerts[..got.len()]);

    // Nobody ever listens: every alert is tried `max_attempts` times, then given up.
    let mut out = open(&[webhook(
        format!("http://127.0.0.1:{}/alerts", free_port()),
        8,
        3,
        10,
    )]);
    for a in &alerts[..3] {
        out.line(a.as_bytes(), true);
    }
    let w = only(&out.finish(Duration::from_secs(5)), TargetKind::Webhook);
    assert_eq!((w.written, w.dropped_failed, w.retries), (0, 3, 6), "{w}");
    let e = w.last_error.clone().unwrap_or_default().to_lowercase();
    assert!(e.contains("refused"), "{w}");
    assert!(
        w.to_string()
            .contains("0 alerts delivered, 3 dropped (queue full 0, gave up 3, at shutdown 0), 6 retries; last error: "),
        "{w}"
    );
}

#[test]
fn webhook_retries_503_until_accepted() {
    let dir = common::scratch("outputs-webhook-503");
    let bodies = dir.join("bodies.txt");
    let server = start_server(0, &bodies, 3);
    let mut out = open(&[webhook(
        format!("http://127.0.0.1:{}/alerts", server.port),
        64,
        10,
        20,
    )]);
    let alerts: Vec<String> = (0..5).map(alert).collect();
    for a in &alerts {
        out.line(a.as_bytes(), true);
    }
    let w = only(&out.finish(Duration::from_secs(10)), TargetKind::Webhook);
    assert_eq!(received(&bodies), alerts);
    assert_eq!((w.written, w.dropped()), (5, 0), "{w}");
    assert!(w.retries >= 3, "{w}");
    assert_eq!(
        w.last_error.as_deref(),
        Some("HTTP 503 Service Unavailable")
    );
}

/// Accepts one connection, waiting at most 5 s.
fn accept(listener: &UnixListener) -> UnixStream {
    listener.set_nonblocking(true).unwrap();
    let until = Instant::now() + Duration::from_secs(5);
    loop {
        match listener.accept() {
            Ok((conn, _)) => {
                conn.set_nonblocking(false).unwrap();
                conn.set_read_timeout(Some(Duration::from_secs(5))).unwrap();
                return conn;
            }
            Err(e) if e.kind() == ErrorKind::WouldBlock && Instant::now() < until => {
                thread::sleep(Duration::from_millis(5))
            }
            Err(e) => panic!("the socket output did not connect within 5 s: {e}"),
        }
    }
}

#[test]
fn unix_socket_reconnects_after_the_listener_comes_back() {
    let dir = common::scratch("outputs-socket");
    let path = dir.join("eve.sock");
    let listener = UnixListener::bind(&path).unwrap();
    let mut out = open(&[OutputSpec::UnixSocket { path: path.clone() }]);
    let line = |phase: &str, i: usize| format!(r#"{{"phase":"{phase}","n":{i}}}"#);

    // Phase 1: every line arrives; the test reads them all before the listener goes away.
    let first: Vec<String> = (0..100).map(|i| line("first", i)).collect();
    for l in &first {
        out.line(l.as_bytes(), false);
    }
    let mut reader = BufReader::new(accept(&listener));
    let mut got_first = Vec::new();
    while got_first.len() < first.len() {
        let mut l = String::new();
        assert!(reader.read_line(&mut l).unwrap() > 0, "early EOF");
        got_first.push(l.trim_end().to_string());
    }
    assert_eq!(got_first, first);

    // The listener dies; more lines than the queue holds are offered meanwhile.
    drop(reader);
    drop(listener);
    std::fs::remove_file(&path).unwrap();
    let second: Vec<String> = (0..5000).map(|i| line("second", i)).collect();
    for l in &second {
        out.line(l.as_bytes(), false);
    }
    thread::sleep(Duration::from_millis(300));
    let down = only(&out.report(), TargetKind::UnixSocket);
    assert!(down.dropped_queue_full > 0, "{down}");
    assert!(down.retries > 0, "failed connects are counted: {down}");

    // The listener comes back: the queued lines and the later ones arrive.
    let listener = UnixListener::bind(&path).unwrap();
    let conn = accept(&listener);
    let reader = thread::spawn(move || {
        BufReader::new(conn)
            .lines()
            .map_while(Result::ok)
            .collect::<Vec<_>>()
    });
    let third: Vec<String> = (0..10).map(|i| line("third", i)).collect();
    for l in &third {
        out.line(l.as_bytes(), false);
    }
    let report = out.finish(Duration::from_secs(5));
    let got = reader.join().unwrap();
    let s = only(&report, TargetKind::UnixSocket);

    assert_eq!(s.offered, 5110);
    assert_eq!(
        first.len() + got.len() + s.dropped() as usize,
        5110,
        "every line arrived or is counted as dropped: {s}"
    );
    assert_eq!(s.written as usize, first.len() + got.len());
    assert_eq!(s.dropped(), s.dropped_queue_full);
    assert_eq!(s.reconnects, 1, "{s}");
    assert!(
        got.ends_with(&third),
        "the later lines arrive after the reconnect"
    );
    // What arrived of the second phase is in order, with no duplicates.
    let got_second = &got[..got.len() - third.len()];
    let mut next = 0;
    for l in got_second {
        let at = second[next..]
            .iter()
            .position(|s| s == l)
            .unwrap_or_else(|| panic!("{l} out of order or unknown"));
        next += at + 1;
    }
    assert!(s.to_string().contains("1 reconnect,"), "{s}");
}

#[test]
fn file_is_reopened_after_logrotate_moves_it() {
    let dir = common::scratch("outputs-reopen");
    let path = dir.join("eve.json");
    let reopen = Arc::new(AtomicBool::new(false));
    let mut out = Outputs::open(
        &[OutputSpec::File { path: path.clone() }],
        Arc::clone(&reopen),
    )
    .unwrap();
    out.line(br#"{"n":1}"#, false);
    out.line(br#"{"n":2}"#, true);
    out.flush();
    let rotated = dir.join("eve.json.1");
    std::fs::rename(&path, &rotated).unwrap();
    reopen.store(true, std::sync::atomic::Ordering::SeqCst);
    out.line(br#"{"n":3}"#, false);
    out.flush();
    assert!(!reopen.load(std::sync::atomic::Ordering::SeqCst));
    let report = out.finish(Duration::from_secs(1));
    assert_eq!(
        std::fs::read_to_string(&rotated).unwrap(),
        "{\"n\":1}\n{\"n\":2}\n"
    );
    assert_eq!(std::fs::read_to_string(&path).unwrap(), "{\"n\":3}\n");
    let f = only(&report, TargetKind::File);
    assert_eq!((f.written, f.dropped(), f.reconnects), (3, 0, 1));
    assert_eq!(
        report.to_string(),
        format!(
            "file {}: 3 lines written, 0 dropped, 1 reopen",
            path.display()
        )
    );
}

#[test]
fn file_lines_are_written_within_100_ms_without_a_flush() {
    let dir = common::scratch("outputs-interval");
    let path = dir.join("eve.json");
    let opened = Instant::now();
    let mut out = open(&[OutputSpec::File { path: path.clone() }]);
    out.line(br#"{"n":1}"#, false);
    if opened.elapsed() < Duration::from_millis(50) {
        // Buffered, not written per line.
        assert_eq!(std::fs::read_to_string(&path).unwrap(), "");
    }
    thread::sleep(Duration::from_millis(150));
    out.line(br#"{"n":2}"#, false);
    assert_eq!(
        std::fs::read_to_string(&path).unwrap(),
        "{\"n\":1}\n{\"n\":2}\n"
    );
    // An alert goes out at once.
    thread::sleep(Duration::from_millis(5));
    out.line(br#"{"alert":3}"#, true);
    assert!(std::fs::read_to_string(&path)
        .unwrap()
        .ends_with("{\"alert\":3}\n"));
}

#[test]
fn open_errors_name_the_target_and_a_socket_need_not_listen_yet() {
    let dir = common::scratch("outputs-open");
    let flag = || Arc::new(AtomicBool::new(false));
    let missing = dir.join("no-such-dir/eve.json");
    let e = Outputs::open(
        &[OutputSpec::File {
            path: missing.clone(),
        }],
        flag(),
    )
    .err()
    .unwrap()
    .to_string();
    assert!(e.contains(&missing.display().to_string()), "{e}");
    assert!(e.contains("directory exists"), "{e}");

    let e = Outputs::open(
        &[OutputSpec::Webhook(WebhookSpec::new("ftp://127.0.0.1/x"))],
        flag(),
    )
    .err()
    .unwrap()
    .to_string();
    assert!(
        e.contains("ftp://127.0.0.1/x") && e.contains("http:// or https://"),
        "{e}"
    );

    let sock: PathBuf = dir.join("nobody-listens.sock");
    let out = Outputs::open(&[OutputSpec::UnixSocket { path: sock }], flag()).unwrap();
    let s = only(
        &out.finish(Duration::from_millis(200)),
        TargetKind::UnixSocket,
    );
    assert_eq!((s.offered, s.dropped()), (0, 0));
}
