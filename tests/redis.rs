//! The Redis output against a real `redis-server` (Debian's package) that each test starts in its
//! own scratch directory, on a Unix socket or a loopback port, and that is killed and reaped on
//! drop, also when the test fails. What Redis holds is read back with `redis-cli`.
//!
//! - Every mode (`list`/`lpush`, `rpush`, `channel` with a subscriber started first, `stream`):
//!   `egress-ids live` in a network namespace, real captures replayed into it, and the lines in
//!   Redis are byte for byte the lines of the run's own EVE file, in order.
//! - The server killed (SIGKILL) mid-stream and started again on its append-only file: every
//!   line is in Redis or counted as dropped; lines sent again after the crash are counted, and the
//!   duplicates the consumer sees are at most those.
//! - The daemon's `[[output]] type = "redis"` tables (a stream and a list at once) hold its EVE
//!   file's lines.
//! - A stream trimmed exactly to `MAXLEN`; lines the server refuses (`WRONGTYPE`) dropped and
//!   counted with the server's reason.
//! - AUTH with an ACL user and TLS (a CA made by openssl here) from the URL; a wrong password is
//!   a clear error in the report, and the sensor goes on.

mod common;

use common::live::{wait_until, Pair};
use common::netns::{root_or_skip, run_ok, start_logged, Child};
use common::{root, scratch};
use egress_ids::eve::EventSink;
use egress_ids::output::targets::{
    OutputReport, OutputSpec, Outputs, RedisMode, RedisSpec, TargetKind, TargetReport,
};
use nix::sys::signal::Signal;
use std::net::TcpListener;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::sync::atomic::AtomicBool;
use std::sync::Arc;
use std::time::Duration;

/// Whether `redis-server` and `redis-cli` are installed (scripts/install-deps.sh installs them);
/// under CI they must be.
fn redis_or_skip() -> bool {
    let present = ["redis-server", "redis-cli"].iter().all(|tool| {
        Command::new(tool)
            .arg("--version")
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .status()
            .is_ok_and(|s| s.success())
    });
    if !present {
        assert!(
            std::env::var("CI").map(|v| v != "true").unwrap_or(true),
            "CI installs redis-server (scripts/install-deps.sh)"
        );
        eprintln!("NOTE: redis-server is not installed: skipping (bash scripts/install-deps.sh)");
    }
    present
}

/// A loopback port with nothing listening on it (free a moment ago).
fn free_port() -> u16 {
    let listener = TcpListener::bind("127.0.0.1:0").unwrap();
    listener.local_addr().unwrap().port()
}

/// A `redis-server` in `dir` with `args` (no RDB snapshots; the rest as given), ready.
struct Redis {
    dir: PathBuf,
    args: Vec<String>,
    child: Option<Child>,
    /// How `redis-cli` reaches it (`-s PATH` or `-p PORT` and TLS/ACL options).
    cli: Vec<String>,
    env: Vec<(String, String)>,
    starts: usize,
}

impl Redis {
    fn start(dir: &Path, args: &[String], cli: Vec<String>) -> Redis {
        let mut server = Redis {
            dir: dir.to_path_buf(),
            args: args.to_vec(),
            child: None,
            cli,
            env: Vec::new(),
            starts: 0,
        };
        server.restart();
        server
    }

    /// On a Unix socket `dir/redis.sock`, no TCP.
    fn unix(dir: &Path) -> Redis {
        let sock = dir.join("redis.sock");
        let args = vec![
            "--port".into(),
            "0".into(),
            "--unixsocket".into(),
            sock.display().to_string(),
        ];
        Redis::start(dir, &args, vec!["-s".into(), sock.display().to_string()])
    }

    fn sock(&self) -> PathBuf {
        self.dir.join("redis.sock")
    }

    /// Starts it (again, on the same directory and append-only file) and waits until it is ready.
    fn restart(&mut self) {
        self.starts += 1;
        let log = self.dir.join(format!("redis-{}.log", self.starts));
        let child = start_logged(
            Command::new("redis-server")
                .args(["--save", "", "--dir"])
                .arg(&self.dir)
                .args(&self.args),
            &log,
            // "Ready to accept connections tcp", "… ready to accept connections at PATH".
            "accept connections",
            "redis-server",
        );
        self.child = Some(child);
    }

    /// SIGKILL: no shutdown, no last write; waits until it is gone.
    fn kill(&mut self) {
        if let Some(mut child) = self.child.take() {
            child.signal(Signal::SIGKILL);
            assert!(child.wait_timeout(Duration::from_secs(10)).is_some());
        }
    }

    /// `redis-cli --raw ARGS`: its output lines (stdout only), within 20 s.
    fn cli(&self, args: &[&str]) -> Vec<String> {
        let out = self.dir.join("cli.out");
        let mut cmd = Command::new("redis-cli");
        cmd.args(&self.cli)
            .arg("--raw")
            .args(args)
            .envs(self.env.iter().map(|(k, v)| (k.as_str(), v.as_str())))
            .stdin(Stdio::null())
            .stdout(std::fs::File::create(&out).unwrap())
            .stderr(Stdio::null());
        let mut child = Child::spawn(&mut cmd, "redis-cli");
        let status = child
            .wait_timeout(Duration::from_secs(20))
            .expect("redis-cli finishes within 20 s");
        assert!(status.success(), "redis-cli {args:?} failed: {status}");
        std::fs::read_to_string(&out)
            .unwrap()
            .lines()
            .map(str::to_string)
            .collect()
    }

    /// A list's elements, first to last.
    fn list(&self, key: &str) -> Vec<String> {
        self.cli(&["LRANGE", key, "0", "-1"])
    }

    /// A stream's `eve` values, oldest first.
    fn stream(&self, key: &str) -> Vec<String> {
        let raw = self.cli(&["XRANGE", key, "-", "+"]);
        assert_eq!(raw.len() % 3, 0, "id, field, value per entry: {raw:?}");
        raw.chunks(3)
            .map(|entry| {
                assert_eq!(entry[1], "eve", "Suricata's field name");
                entry[2].clone()
            })
            .collect()
    }
}

/// `redis-cli SUBSCRIBE key`, writing what it receives into `dir/subscriber.out`.
struct Subscriber {
    out: PathBuf,
    _child: Child,
}

impl Subscriber {
    /// Subscribed once it printed the confirmation (`subscribe`, the key, 1).
    fn start(redis: &Redis, key: &str) -> Subscriber {
        let out = redis.dir.join("subscriber.out");
        let child = Child::spawn(
            Command::new("redis-cli")
                .args(&redis.cli)
                .args(["--raw", "SUBSCRIBE", key])
                .stdin(Stdio::null())
                .stdout(std::fs::File::create(&out).unwrap())
                .stderr(Stdio::null()),
            "redis-cli SUBSCRIBE",
        );
        let subscriber = Subscriber { out, _child: child };
        assert!(
            wait_until(Duration::from_secs(10), || subscriber.lines().len() >= 3),
            "the subscriber did not subscribe: {:?}",
            subscriber.lines()
        );
        subscriber
    }

    fn lines(&self) -> Vec<String> {
        std::fs::read_to_string(&self.out)
            .unwrap_or_default()
            .lines()
            .map(str::to_string)
            .collect()
    }

    /// The messages received, once `n` came (10 s at most).
    fn messages(&self, n: usize) -> Vec<String> {
        wait_until(Duration::from_secs(10), || self.lines().len() >= 3 + 3 * n);
        let lines = self.lines();
        assert_eq!(
            lines[..3],
            ["subscribe".to_string(), lines[1].clone(), "1".into()]
        );
        lines[3..]
            .chunks(3)
            .map(|m| {
                assert_eq!(m[0], "message", "{m:?}");
                m[2].clone()
            })
            .collect()
    }
}

impl Drop for Redis {
    fn drop(&mut self) {
        // The child's own drop: SIGTERM, then SIGKILL, reaped.
        self.child.take();
    }
}

fn open(specs: &[OutputSpec]) -> Outputs {
    Outputs::open(specs, Arc::new(AtomicBool::new(false))).unwrap()
}

fn only(report: &OutputReport, kind: TargetKind) -> TargetReport {
    let mut found = report.targets.iter().filter(|t| t.kind == kind);
    let t = found.next().expect("a target of that kind").clone();
    assert!(found.next().is_none());
    assert_eq!(t.offered, t.written + t.dropped() + t.queued, "{t}");
    t
}

/// A distinct EVE-like line; quotes, a backslash and non-ASCII check the bytes arrive unchanged.
fn line(phase: &str, i: usize) -> String {
    format!(
        r#"{{"timestamp":"2026-03-31T12:00:00.{i:06}+0000","event_type":"alert","phase":"{phase}","n":{i},"alert":{{"signature":"ioc-domain \"pkg-validate.net\" \\ été"}}}}"#
    )
}

/// `contrib/redis/eve-consumer.py` until it printed `n` lines (20 s at most).
fn consume(redis: &Redis, url: &str, mode: &str, key: &str, n: usize) -> Vec<String> {
    let out = redis.dir.join("consumer.out");
    let mut child = Child::spawn(
        Command::new("python3")
            .arg(root().join("contrib/redis/eve-consumer.py"))
            .args(["--url", url, "--mode", mode, "--key", key, "--count"])
            .arg(n.to_string())
            .stdin(Stdio::null())
            .stdout(std::fs::File::create(&out).unwrap())
            .stderr(Stdio::inherit()),
        "eve-consumer.py",
    );
    let status = child.wait_timeout(Duration::from_secs(20));
    assert!(
        status.is_some_and(|s| s.success()),
        "eve-consumer.py: {status:?}"
    );
    file_lines(&out)
}

fn file_lines(path: &Path) -> Vec<String> {
    std::fs::read_to_string(path)
        .unwrap()
        .lines()
        .map(str::to_string)
        .collect()
}

#[test]
fn every_mode_holds_the_live_runs_eve_lines_in_order() {
    if !root_or_skip("the Redis output of a live run") || !redis_or_skip() {
        return;
    }
    let pcaps = [
        root().join("pcaps/npm-postinstall-ioc.pcap"),
        root().join("pcaps/ioc-sni.pcap"),
        root().join("pcaps/non-registry-tls.pcap"),
    ];
    for (mode, key) in [
        ("list", "eids:list"),
        ("rpush", "eids:rpush"),
        ("channel", "eids:channel"),
        ("stream", "eids:stream"),
    ] {
        let dir = scratch(&format!("redis-live-{mode}"));
        let redis = Redis::unix(&dir);
        let subscriber = (mode == "channel").then(|| Subscriber::start(&redis, key));
        let pair = Pair::new(&format!("redis-{mode}"));
        let url = format!("unix://{}", redis.sock().display());
        let mut sensor = pair.start(
            &dir,
            &[
                "-i",
                "eids-rx",
                "--warmup",
                "0",
                "--redis",
                &url,
                "--redis-mode",
                mode,
                "--redis-key",
                key,
            ],
        );
        for pcap in &pcaps {
            pair.send(pcap);
        }
        let live = pair.stop(&dir, &mut sensor);
        let eve = file_lines(&dir.join("live.json"));
        let alerts = live
            .events
            .iter()
            .filter(|e| e["event_type"] == "alert")
            .count();
        assert!(alerts >= 3, "{mode}: {alerts} alerts:\n{}", live.stderr);
        let got = match mode {
            // LPUSH puts the newest first: a consumer pops from the right (BRPOP).
            "list" => redis.list(key).into_iter().rev().collect(),
            "rpush" => redis.list(key),
            "channel" => subscriber.as_ref().unwrap().messages(eve.len()),
            _ => redis.stream(key),
        };
        assert_eq!(
            got.len(),
            eve.len(),
            "{mode}: every line of the EVE file is in Redis"
        );
        assert!(got == eve, "{mode}: the same bytes in the same order");
        if mode != "channel" {
            // What a team pastes reads the same lines, oldest first.
            assert!(
                consume(&redis, &url, mode, key, eve.len()) == eve,
                "{mode}: contrib/redis/eve-consumer.py"
            );
        }
        let summary = format!(
            "output redis {url} {} {key}: {} lines written, 0 dropped",
            mode.parse::<RedisMode>().unwrap(),
            eve.len()
        );
        assert!(live.stderr.contains(&summary), "{summary}\n{}", live.stderr);
        eprintln!("{mode}: {} lines, {alerts} alerts", eve.len());
    }
}

#[test]
fn the_daemons_redis_outputs_hold_its_eve_file() {
    if !root_or_skip("the daemon's Redis outputs") || !redis_or_skip() {
        return;
    }
    let dir = scratch("redis-daemon");
    let redis = Redis::unix(&dir);
    let url = format!("unix://{}", redis.sock().display());
    let eve = dir.join("eve.json");
    let config = dir.join("egress-ids.toml");
    std::fs::write(
        &config,
        format!(
            "[capture]\ninterfaces = [\"eids-rx\"]\n\n[detect]\nwarmup = 0\n\n\
             [[output]]\ntype = \"file\"\npath = \"{eve}\"\n\n\
             [[output]]\ntype = \"redis\"\nurl = \"{url}\"\nmode = \"stream\"\nkey = \"fleet:stream\"\n\
             stream_maxlen = 1000\nstream_trim_exact = true\nbatch_size = 8\n\n\
             [[output]]\ntype = \"redis\"\nurl = \"{url}\"\nmode = \"rpush\"\nkey = \"fleet:list\"\n",
            eve = eve.display()
        ),
    )
    .unwrap();
    let pair = Pair::new("redis-daemon");
    let log = dir.join("daemon.log");
    let mut daemon = start_logged(
        pair.sensor
            .exec(env!("CARGO_BIN_EXE_egress-ids"))
            .args(["daemon", "--config"])
            .arg(&config),
        &log,
        "capturing on",
        "egress-ids daemon",
    );
    for pcap in ["npm-postinstall-ioc.pcap", "ioc-sni.pcap"] {
        pair.send(&root().join("pcaps").join(pcap));
    }
    std::thread::sleep(Duration::from_millis(100));
    let status = daemon
        .terminate(Duration::from_secs(15))
        .expect("the daemon exits within 15 s of SIGTERM");
    let text = std::fs::read_to_string(&log).unwrap_or_default();
    assert!(status.success(), "the daemon exited {status}:\n{text}");
    let lines = file_lines(&eve);
    assert!(lines.iter().any(|l| l.contains("\"event_type\":\"alert\"")));
    assert!(redis.stream("fleet:stream") == lines, "stream = EVE file");
    assert!(redis.list("fleet:list") == lines, "list = EVE file");
    for (mode, key) in [("xadd", "fleet:stream"), ("rpush", "fleet:list")] {
        let summary = format!(
            "output redis {url} {mode} {key}: {} lines written, 0 dropped",
            lines.len()
        );
        assert!(text.contains(&summary), "{summary}\n{text}");
    }
}

#[test]
fn a_stream_is_trimmed_as_maxlen_says() {
    if !redis_or_skip() {
        return;
    }
    let dir = scratch("redis-maxlen");
    let redis = Redis::unix(&dir);
    let mut spec = RedisSpec::new(format!("unix://{}", redis.sock().display()));
    spec.mode = RedisMode::Xadd;
    spec.stream_maxlen = 25;
    spec.stream_trim_exact = true;
    let mut out = open(&[OutputSpec::Redis(spec)]);
    let lines: Vec<String> = (0..300).map(|i| line("trim", i)).collect();
    for l in &lines {
        out.line(l.as_bytes(), true);
    }
    let r = only(&out.finish(Duration::from_secs(10)), TargetKind::Redis);
    assert_eq!((r.written, r.dropped()), (300, 0), "{r}");
    assert_eq!(
        redis.stream("egress-ids"),
        lines[275..],
        "the last 25 remain"
    );
}

#[test]
fn lines_the_server_refuses_are_dropped_and_counted_with_its_reason() {
    if !redis_or_skip() {
        return;
    }
    let dir = scratch("redis-wrongtype");
    let redis = Redis::unix(&dir);
    // The key already holds a string: every LPUSH gets WRONGTYPE.
    assert_eq!(redis.cli(&["SET", "egress-ids", "not a list"]), ["OK"]);
    let mut out = open(&[OutputSpec::Redis(RedisSpec::new(format!(
        "unix://{}",
        redis.sock().display()
    )))]);
    for i in 0..70 {
        out.line(line("refused", i).as_bytes(), false);
    }
    let r = only(&out.finish(Duration::from_secs(10)), TargetKind::Redis);
    assert_eq!(
        (r.written, r.dropped_failed, r.retries, r.reconnects),
        (0, 70, 0, 0),
        "{r}"
    );
    assert!(
        r.to_string().contains("refused by the server 70")
            && r.last_error.as_deref().unwrap_or_default().starts_with(
                "the server refused a line: WRONGTYPE Operation against a key holding the wrong kind of value"
            ),
        "{r}"
    );
    assert_eq!(redis.cli(&["GET", "egress-ids"]), ["not a list"]);
}

/// The Redis batch of the crash test: how far back a repeated line can be.
const BATCH: usize = 50;

#[test]
fn a_server_killed_mid_stream_loses_nothing_the_report_does_not_count() {
    if !redis_or_skip() {
        return;
    }
    let dir = scratch("redis-kill");
    let port = free_port();
    let args: Vec<String> = [
        "--port",
        &port.to_string(),
        "--bind",
        "127.0.0.1",
        "--appendonly",
        "yes",
        "--appendfsync",
        "always",
    ]
    .map(String::from)
    .to_vec();
    let mut redis = Redis::start(&dir, &args, vec!["-p".into(), port.to_string()]);
    let eve = dir.join("eve.json");
    let mut spec = RedisSpec::new(format!("redis://127.0.0.1:{port}"));
    spec.mode = RedisMode::Rpush;
    spec.queue = 1000;
    spec.batch_size = BATCH;
    let mut out = open(&[
        OutputSpec::File { path: eve.clone() },
        OutputSpec::Redis(spec),
    ]);

    // Phase 1: the server is killed while lines are still being written: once 500 of the first
    // 1000 are acknowledged. The rest come while it is down, more than the queue holds.
    let first: Vec<String> = (0..20_000).map(|i| line("first", i)).collect();
    for l in &first[..1000] {
        out.line(l.as_bytes(), true);
    }
    assert!(
        wait_until(Duration::from_secs(20), || {
            only(&out.report(), TargetKind::Redis).written >= 500
        }),
        "500 lines written within 20 s"
    );
    redis.kill();
    let killed_at = only(&out.report(), TargetKind::Redis).written;
    for l in &first[1000..] {
        out.line(l.as_bytes(), true);
    }
    let down = only(&out.report(), TargetKind::Redis);
    assert!(down.dropped_queue_full > 0, "the queue overflowed: {down}");

    // Phase 2: back on its append-only file; the queued lines and later ones arrive.
    std::thread::sleep(Duration::from_millis(300));
    redis.restart();
    assert!(
        wait_until(Duration::from_secs(20), || {
            only(&out.report(), TargetKind::Redis).queued == 0
        }),
        "the queue drains within 20 s of the restart"
    );
    let second: Vec<String> = (0..200).map(|i| line("second", i)).collect();
    for l in &second {
        out.line(l.as_bytes(), true);
    }
    let report = out.finish(Duration::from_secs(15));
    let r = only(&report, TargetKind::Redis);
    let f = only(&report, TargetKind::File);
    let offered: Vec<String> = file_lines(&eve);
    assert_eq!(offered.len(), 20_200);
    assert_eq!((f.written, r.offered), (20_200, 20_200));

    let got = redis.list("egress-ids");
    // In order, every line at most twice, each repeat right after a crash: the lines seen,
    // with repeats removed, are a subsequence of what was offered.
    let mut unique = Vec::with_capacity(got.len());
    let mut next = 0;
    let mut repeats = 0u64;
    for l in &got {
        if unique[unique.len().saturating_sub(BATCH)..].contains(l) {
            repeats += 1;
            continue;
        }
        let at = offered[next..]
            .iter()
            .position(|o| o == l)
            .unwrap_or_else(|| panic!("{l} out of order or unknown"));
        next += at + 1;
        unique.push(l.clone());
    }
    eprintln!(
        "killed with {killed_at} lines acknowledged; {r}; in Redis: {} lines, {} distinct, {repeats} repeated",
        got.len(),
        unique.len()
    );
    assert_eq!(
        unique.len() as u64,
        r.written,
        "every line acknowledged is in Redis once at least"
    );
    assert_eq!(
        r.written + r.dropped(),
        20_200,
        "what is not in Redis is counted as dropped: {r}"
    );
    assert_eq!(r.dropped(), r.dropped_queue_full, "{r}");
    assert!(repeats <= r.resent, "a repeat is a line sent again: {r}");
    assert!(
        unique.ends_with(&second),
        "the later lines arrive after the restart"
    );
    assert_eq!(r.reconnects, 1, "{r}");
    assert!(
        r.retries >= 1,
        "failed connects while the server was down: {r}"
    );
}

/// A CA and a server certificate for 127.0.0.1 signed by it, made by openssl in `dir`:
/// (ca.pem, server.pem, server.key).
fn private_ca(dir: &Path) -> (PathBuf, PathBuf, PathBuf) {
    let (ca, ca_key) = (dir.join("ca.pem"), dir.join("ca.key"));
    let (cert, key, csr) = (
        dir.join("server.pem"),
        dir.join("server.key"),
        dir.join("server.csr"),
    );
    let ext = dir.join("san.ext");
    std::fs::write(&ext, "subjectAltName = IP:127.0.0.1\n").unwrap();
    let openssl = |args: &[&str]| {
        run_ok(
            Command::new("openssl").args(args).current_dir(dir),
            Duration::from_secs(30),
        )
    };
    openssl(&[
        "req",
        "-x509",
        "-newkey",
        "ec",
        "-pkeyopt",
        "ec_paramgen_curve:P-256",
        "-nodes",
        "-days",
        "1",
        "-subj",
        "/CN=egress-ids test CA",
        "-keyout",
        "ca.key",
        "-out",
        "ca.pem",
    ]);
    openssl(&[
        "req",
        "-newkey",
        "ec",
        "-pkeyopt",
        "ec_paramgen_curve:P-256",
        "-nodes",
        "-subj",
        "/CN=127.0.0.1",
        "-keyout",
        "server.key",
        "-out",
        "server.csr",
    ]);
    openssl(&[
        "x509",
        "-req",
        "-in",
        "server.csr",
        "-CA",
        "ca.pem",
        "-CAkey",
        "ca.key",
        "-CAcreateserial",
        "-days",
        "1",
        "-extfile",
        "san.ext",
        "-out",
        "server.pem",
    ]);
    let _ = (ca_key, csr);
    (ca, cert, key)
}

#[test]
fn acl_user_and_tls_come_from_the_url_and_a_wrong_password_is_reported() {
    if !redis_or_skip() {
        return;
    }
    let dir = scratch("redis-tls");
    let (ca, cert, key) = private_ca(&dir);
    let port = free_port();
    let args: Vec<String> = vec![
        "--port".into(),
        "0".into(),
        "--bind".into(),
        "127.0.0.1".into(),
        "--tls-port".into(),
        port.to_string(),
        "--tls-cert-file".into(),
        cert.display().to_string(),
        "--tls-key-file".into(),
        key.display().to_string(),
        "--tls-ca-cert-file".into(),
        ca.display().to_string(),
        "--tls-auth-clients".into(),
        "no".into(),
        // The default user is off: only the ACL user may connect.
    ];
    let args: Vec<String> = args
        .into_iter()
        .chain(
            "--user default off --user eids on >Corr3ct-h0rse ~egress-ids* +@all"
                .split(' ')
                .map(String::from),
        )
        .collect();
    let cli = vec![
        "--tls".into(),
        "--cacert".into(),
        ca.display().to_string(),
        "-p".into(),
        port.to_string(),
        "--user".into(),
        "eids".into(),
        "-n".into(),
        "3".into(),
    ];
    let mut redis = Redis::start(&dir, &args, cli);
    redis
        .env
        .push(("REDISCLI_AUTH".into(), "Corr3ct-h0rse".into()));

    let eve = dir.join("eve.json");
    let mut spec = RedisSpec::new(format!("rediss://eids:Corr3ct-h0rse@127.0.0.1:{port}/3"));
    spec.mode = RedisMode::Rpush;
    spec.ca_file = Some(ca.clone());
    let mut out = open(&[
        OutputSpec::File { path: eve.clone() },
        OutputSpec::Redis(spec),
    ]);
    let lines: Vec<String> = (0..120).map(|i| line("tls", i)).collect();
    for l in &lines {
        out.line(l.as_bytes(), true);
    }
    let r = only(&out.finish(Duration::from_secs(10)), TargetKind::Redis);
    assert_eq!((r.written, r.dropped(), r.retries), (120, 0, 0), "{r}");
    assert_eq!(r.last_error, None, "{r}");
    assert!(
        r.to_string().starts_with(&format!(
            "redis rediss://127.0.0.1:{port}/3 rpush egress-ids: 120 lines written"
        )),
        "{r}"
    );
    assert_eq!(redis.list("egress-ids"), file_lines(&eve));

    // A wrong password: refused at every attempt, reported without the password, no panic.
    let mut spec = RedisSpec::new(format!("rediss://eids:Wr0ng-pa55@127.0.0.1:{port}/3"));
    spec.ca_file = Some(ca.clone());
    let mut out = open(&[OutputSpec::Redis(spec)]);
    for l in &lines[..5] {
        out.line(l.as_bytes(), true);
    }
    std::thread::sleep(Duration::from_millis(400));
    let r = only(&out.finish(Duration::from_millis(300)), TargetKind::Redis);
    let error = r.last_error.clone().unwrap_or_default();
    assert!(
        error.starts_with("AUTH refused: WRONGPASS")
            && error.contains("check the user and password"),
        "{r}"
    );
    assert!(!r.to_string().contains("Wr0ng-pa55"), "{r}");
    assert_eq!(
        (r.written, r.dropped(), r.dropped_queue_full),
        (0, 5, 0),
        "{r}"
    );
    assert!(r.retries >= 2, "{r}");

    // Without the private CA the server's certificate is not trusted.
    let mut out = open(&[OutputSpec::Redis(RedisSpec::new(format!(
        "rediss://eids:Corr3ct-h0rse@127.0.0.1:{port}/3"
    )))]);
    out.line(lines[0].as_bytes(), true);
    std::thread::sleep(Duration::from_millis(300));
    let r = only(&out.finish(Duration::from_millis(200)), TargetKind::Redis);
    let error = r.last_error.clone().unwrap_or_default();
    assert!(error.contains("certificate"), "{r}");
    assert_eq!(
        redis.list("egress-ids").len(),
        120,
        "nothing more was written"
    );
    redis.kill();
}
