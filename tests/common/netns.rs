//! Network namespaces, veth pairs and child processes for the live-capture tests. Everything made
//! here is undone on drop, also when the test panics: children get SIGTERM, then SIGKILL, and are
//! reaped; namespaces are deleted. Nothing is created in the root namespace.

use nix::sys::signal::{kill, Signal};
use nix::unistd::Pid;
use std::path::Path;
use std::process::{Command, ExitStatus, Stdio};
use std::time::{Duration, Instant};

/// Whether the tests run as root. When not, a live test is skipped with a NOTE, except under
/// `CI=true`, where it must run (CI runs as root).
pub fn root_or_skip(what: &str) -> bool {
    if nix::unistd::geteuid().is_root() {
        return true;
    }
    assert!(
        std::env::var("CI").map(|v| v != "true").unwrap_or(true),
        "CI runs as root: {what} must run"
    );
    eprintln!("NOTE: not root: skipping {what} (needs network namespaces and packet capture)");
    false
}

/// Runs `cmd` to completion within `timeout`; panics with its output when it fails. For commands
/// with little output (stdout and stderr are read after the exit, so more than a pipe's 64 KiB
/// would block the command until the timeout).
pub fn run_ok(cmd: &mut Command, timeout: Duration) -> String {
    let what = format!("{cmd:?}");
    let (status, out) = run_finished(cmd, timeout);
    assert!(status.success(), "{what} failed ({status}): {out}");
    out
}

/// Runs `cmd` to completion within `timeout` (panics when it does not finish), whatever its exit
/// status: the status and its output (the same limits as [`run_ok`]).
pub fn run_finished(cmd: &mut Command, timeout: Duration) -> (std::process::ExitStatus, String) {
    let what = format!("{cmd:?}");
    let mut child = Child::spawn(
        cmd.stdin(Stdio::null())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped()),
        &what,
    );
    let status = child
        .wait_timeout(timeout)
        .unwrap_or_else(|| panic!("{what} did not finish within {timeout:?}"));
    (status, child.take_output())
}

/// A network namespace named `eids-<tag>-<pid>`, deleted on drop.
pub struct Netns {
    name: String,
}

impl Netns {
    /// Creates the namespace, brings its loopback up and disables IPv6 in it (for interfaces
    /// made later too), so that no router solicitation, MLD report or DAD probe ever appears on
    /// its links: a capture there holds only what the test sends.
    pub fn new(tag: &str) -> Netns {
        let name = format!("eids-{tag}-{}", std::process::id());
        run_ok(
            Command::new("ip").args(["netns", "add", &name]),
            Duration::from_secs(10),
        );
        let ns = Netns { name };
        for key in ["all", "default"] {
            ns.sysctl(&format!("net.ipv6.conf.{key}.disable_ipv6=1"));
        }
        ns.ip(&["link", "set", "lo", "up"]);
        ns
    }

    pub fn name(&self) -> &str {
        &self.name
    }

    /// `program` to be run inside the namespace (`ip netns exec NS program`; `ip` execs it,
    /// so the child's pid is the program's own).
    pub fn exec(&self, program: impl AsRef<std::ffi::OsStr>) -> Command {
        let mut cmd = Command::new("ip");
        cmd.args(["netns", "exec", &self.name]).arg(program);
        cmd
    }

    /// tcpdump on `iface` into `pcap` (every packet handed over and written at once, whole,
    /// as root), once it is listening (its stderr in `log`). Stop it with [`Child::terminate`]
    /// before reading the file.
    pub fn tcpdump(&self, iface: &str, pcap: &Path, log: &Path) -> Child {
        start_logged(
            self.exec("tcpdump")
                .args(["-i", iface, "-n", "-U", "--immediate-mode", "-s", "0"])
                .args(["-Z", "root", "-w"])
                .arg(pcap),
            log,
            "listening on",
            "tcpdump",
        )
    }

    /// `ip -n NS ARGS...`, which must succeed.
    pub fn ip(&self, args: &[&str]) -> String {
        run_ok(
            Command::new("ip").args(["-n", &self.name]).args(args),
            Duration::from_secs(10),
        )
    }

    /// `sysctl -qw KEY=VALUE` inside the namespace, which must succeed.
    pub fn sysctl(&self, assignment: &str) {
        run_ok(
            self.exec("sysctl").args(["-qw", assignment]),
            Duration::from_secs(10),
        );
    }

    /// A veth pair from `a` in this namespace to `b` in `peer`, with `mtu`, both ends up, no
    /// addresses: a capture on `b` (even on `any`) sees only what is sent into `a`. (The `name`
    /// keyword is spelled out: iproute2 would read a bare `tx` as `txqueuelen`.)
    pub fn veth_to(&self, a: &str, peer: &Netns, b: &str, mtu: u32) {
        let mtu = mtu.to_string();
        self.ip(&[
            "link", "add", "name", a, "mtu", &mtu, "type", "veth", "peer", "name", b, "mtu", &mtu,
            "netns", &peer.name,
        ]);
        self.ip(&["link", "set", a, "up"]);
        peer.ip(&["link", "set", b, "up"]);
    }
}

impl Drop for Netns {
    fn drop(&mut self) {
        let out = Command::new("ip")
            .args(["netns", "del", &self.name])
            .output();
        if !out.as_ref().is_ok_and(|o| o.status.success()) {
            eprintln!(
                "NOTE: could not delete network namespace {}: {out:?}",
                self.name
            );
        }
    }
}

/// A child process that is stopped (SIGTERM, then SIGKILL after 3 s) and reaped on drop.
pub struct Child {
    child: std::process::Child,
    what: String,
    status: Option<ExitStatus>,
}

/// How long a dropped child gets between SIGTERM and SIGKILL.
const TERM_GRACE: Duration = Duration::from_secs(3);

impl Child {
    /// Spawns `cmd`; panics naming `what` when it cannot start.
    pub fn spawn(cmd: &mut Command, what: &str) -> Child {
        let child = cmd
            .spawn()
            .unwrap_or_else(|e| panic!("cannot start {what}: {e}"));
        Child {
            child,
            what: what.to_owned(),
            status: None,
        }
    }

    /// The child's process id.
    pub fn pid(&self) -> u32 {
        self.child.id()
    }

    /// Sends `signal` (unless the child was already reaped).
    pub fn signal(&mut self, signal: Signal) {
        if self.status.is_none() {
            let _ = kill(Pid::from_raw(self.child.id() as i32), signal);
        }
    }

    /// Its exit status if it has exited.
    pub fn try_wait(&mut self) -> Option<ExitStatus> {
        if self.status.is_none() {
            self.status = self.child.try_wait().ok().flatten();
        }
        self.status
    }

    /// Waits at most `timeout` for it to exit.
    pub fn wait_timeout(&mut self, timeout: Duration) -> Option<ExitStatus> {
        let deadline = Instant::now() + timeout;
        loop {
            if let Some(status) = self.try_wait() {
                return Some(status);
            }
            if Instant::now() >= deadline {
                return None;
            }
            std::thread::sleep(Duration::from_millis(10));
        }
    }

    /// SIGTERM, then waits at most `timeout`.
    pub fn terminate(&mut self, timeout: Duration) -> Option<ExitStatus> {
        self.signal(Signal::SIGTERM);
        self.wait_timeout(timeout)
    }

    /// Its piped stdout and stderr (what is there; call after it exited).
    pub fn take_output(&mut self) -> String {
        use std::io::Read;
        let mut text = String::new();
        if let Some(mut out) = self.child.stdout.take() {
            let _ = out.read_to_string(&mut text);
        }
        if let Some(mut err) = self.child.stderr.take() {
            let _ = err.read_to_string(&mut text);
        }
        text
    }
}

impl Drop for Child {
    fn drop(&mut self) {
        if self.try_wait().is_some() {
            return;
        }
        if self.terminate(TERM_GRACE).is_none() {
            eprintln!(
                "NOTE: {} ignored SIGTERM for {TERM_GRACE:?}; SIGKILL",
                self.what
            );
            let _ = self.child.kill();
            let _ = self.child.wait();
        }
    }
}

/// Starts `cmd` with stdout and stderr into `log` and stdin a pipe held open while the child
/// runs (a server that quits at the end of its input, such as `openssl s_server`, keeps
/// running); waits at most 20 s for a line containing `ready` in `log`, and panics with the log
/// when it does not come.
pub fn start_logged(cmd: &mut Command, log: &Path, ready: &str, what: &str) -> Child {
    let out = std::fs::File::create(log).unwrap_or_else(|e| panic!("{}: {e}", log.display()));
    let err = out.try_clone().expect("clone the log's handle");
    let mut child = Child::spawn(cmd.stdin(Stdio::piped()).stdout(out).stderr(err), what);
    assert!(
        wait_for_line(log, ready, Duration::from_secs(20)).is_some(),
        "{what} did not print '{ready}' ({:?}): {}",
        child.try_wait(),
        std::fs::read_to_string(log).unwrap_or_default()
    );
    child
}

/// A self-signed P-256 certificate for `cn` made by `openssl req`: (certificate, key) in `dir`.
pub fn self_signed_cert(dir: &Path, cn: &str) -> (std::path::PathBuf, std::path::PathBuf) {
    let (cert, key) = (dir.join("cert.pem"), dir.join("key.pem"));
    run_ok(
        Command::new("openssl")
            .args(["req", "-x509", "-newkey", "ec", "-pkeyopt"])
            .args(["ec_paramgen_curve:P-256", "-nodes", "-days", "1", "-subj"])
            .arg(format!("/CN={cn}"))
            .arg("-keyout")
            .arg(&key)
            .arg("-out")
            .arg(&cert),
        Duration::from_secs(20),
    );
    (cert, key)
}

/// Waits at most `timeout` for a line containing `needle` in the file `path` (a child's
/// redirected stderr, say); returns that line, or `None` on timeout.
pub fn wait_for_line(path: &Path, needle: &str, timeout: Duration) -> Option<String> {
    let deadline = Instant::now() + timeout;
    loop {
        let text = std::fs::read_to_string(path).unwrap_or_default();
        if let Some(line) = text.lines().find(|l| l.contains(needle)) {
            return Some(line.to_owned());
        }
        if Instant::now() >= deadline {
            return None;
        }
        std::thread::sleep(Duration::from_millis(20));
    }
}

/// `dnsmasq` in `ns` as the tests' resolver: no configuration file, no upstream, no hosts file;
/// bound to each of `listen` (UDP and TCP 53), answering each `(name, address)` of `records`
/// with `--host-record`, logging every query to `dir/dnsmasq.log` (a test can read there what
/// was asked); `extra` arguments are appended. Ready when it printed its version.
pub fn dnsmasq(
    ns: &Netns,
    dir: &Path,
    listen: &[&str],
    records: &[(&str, &str)],
    extra: &[String],
) -> Child {
    let mut cmd = ns.exec("dnsmasq");
    cmd.args([
        "--no-daemon",
        "--conf-file=/dev/null",
        "--no-resolv",
        "--no-hosts",
        "--no-poll",
        "--bind-interfaces",
        "--user=root",
        "--log-queries",
    ]);
    for addr in listen {
        cmd.arg(format!("--listen-address={addr}"));
    }
    for (name, addr) in records {
        cmd.arg(format!("--host-record={name},{addr}"));
    }
    cmd.args(extra)
        .arg(format!("--pid-file={}", dir.join("dnsmasq.pid").display()));
    start_logged(
        &mut cmd,
        &dir.join("dnsmasq.log"),
        "started, version",
        "dnsmasq",
    )
}
