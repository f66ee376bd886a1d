//! The world of the `egress-ids run` tests: a CI runner in a network namespace of the test's own
//! (10.67.0.2, its resolver the "internet's" dnsmasq) linked by one veth pair to an "internet"
//! namespace holding the resolver at 198.51.100.53 and two `openssl s_server`s, one for the IOC
//! name at 203.0.113.21 and one for the registry's name at 203.0.113.10. [`run`] starts
//! `egress-ids run ... -- STEP` in the runner, with cgroup v2 mounted there, and returns its
//! output. Everything is undone on drop.

use super::netns::{self, self_signed_cert, start_logged, Child, Netns};
use std::ffi::OsString;
use std::io::Read;
use std::path::{Path, PathBuf};
use std::process::{Command, Output, Stdio};
use std::thread::JoinHandle;
use std::time::{Duration, Instant};

/// The runner's resolver (on the "internet" side).
pub const RESOLVER: &str = "198.51.100.53";
/// The IOC name (in the default IOC list) and the address it resolves to.
pub const IOC: (&str, &str) = ("npm-health-check.io", "203.0.113.21");
/// The registry's name and the address it resolves to.
pub const REGISTRY: (&str, &str) = ("registry.npmjs.org", "203.0.113.10");

/// `/etc/netns/NS/resolv.conf` (what `ip netns exec` mounts over /etc/resolv.conf), removed
/// on drop.
pub struct Resolv(PathBuf);

impl Resolv {
    pub fn new(ns: &Netns, server: &str) -> Resolv {
        let dir = PathBuf::from("/etc/netns").join(ns.name());
        std::fs::create_dir_all(&dir).expect("create /etc/netns/NS");
        std::fs::write(
            dir.join("resolv.conf"),
            format!("nameserver {server}\noptions timeout:5 attempts:1\n"),
        )
        .expect("write resolv.conf");
        Resolv(dir)
    }
}

impl Drop for Resolv {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.0);
    }
}

/// The two namespaces, the resolver and the two HTTPS servers.
pub struct World {
    pub runner: Netns,
    _inet: Netns,
    _resolv: Resolv,
    _servers: Vec<Child>,
    /// Where the servers log: `dnsmasq.log` (every query), `s_server-NAME.log`.
    pub dir: PathBuf,
}

impl World {
    /// The log of the `openssl s_server` for `name` (one of [`IOC`], [`REGISTRY`]'s names).
    pub fn server_log(&self, name: &str) -> String {
        std::fs::read_to_string(self.dir.join(format!("s_server-{name}.log"))).unwrap_or_default()
    }

    /// The server names (SNI) the `openssl s_server` for `name` received, one per client hello,
    /// read from the hex dump `-tlsextdebug` logs: what really arrived there.
    pub fn sni_received(&self, name: &str) -> Vec<String> {
        let log = self.server_log(name);
        let mut names = Vec::new();
        let mut lines = log.lines().peekable();
        while let Some(line) = lines.next() {
            if !line.starts_with("TLS client extension \"server name\"") {
                continue;
            }
            let mut bytes = Vec::new();
            while let Some(dump) = lines.next_if(|l| l.get(4..7) == Some(" - ")) {
                let hex = dump.get(7..).unwrap_or("");
                let hex = &hex[..hex.len().min(48)];
                bytes.extend(
                    hex.replace('-', " ")
                        .split_whitespace()
                        .filter_map(|b| u8::from_str_radix(b, 16).ok()),
                );
            }
            // server_name_list length (2), name_type (1), host_name length (2), host_name.
            if let Some(host) = bytes.get(5..) {
                names.push(String::from_utf8_lossy(host).into_owned());
            }
        }
        names
    }

    /// What dnsmasq logged (with `--log-queries`: one `query[A] NAME from ADDR` line per query).
    pub fn dns_log(&self) -> String {
        std::fs::read_to_string(self.dir.join("dnsmasq.log")).unwrap_or_default()
    }
}

/// Builds the world with its logs in `dir`; `tag` names its namespaces.
pub fn world(dir: &Path, tag: &str) -> World {
    let runner = Netns::new(&format!("{tag}-runner"));
    let inet = Netns::new(&format!("{tag}-inet"));
    runner.veth_to("eth0", &inet, "inet0", 1500);
    runner.ip(&["addr", "add", "10.67.0.2/24", "dev", "eth0"]);
    runner.ip(&["route", "add", "default", "via", "10.67.0.1"]);
    inet.ip(&["addr", "add", "10.67.0.1/24", "dev", "inet0"]);
    for addr in [RESOLVER, IOC.1, REGISTRY.1] {
        inet.ip(&["addr", "add", &format!("{addr}/32"), "dev", "lo"]);
    }
    let mut servers = vec![netns::dnsmasq(
        &inet,
        dir,
        &[RESOLVER],
        &[IOC, REGISTRY],
        &[],
    )];
    let (cert, key) = self_signed_cert(dir, "egress-ids-test");
    for (name, addr) in [IOC, REGISTRY] {
        servers.push(start_logged(
            inet.exec("openssl")
                .args(["s_server", "-www", "-tlsextdebug", "-accept"])
                .arg(format!("{addr}:443"))
                .arg("-cert")
                .arg(&cert)
                .arg("-key")
                .arg(&key),
            &dir.join(format!("s_server-{name}.log")),
            "ACCEPT",
            "openssl s_server",
        ));
    }
    let resolv = Resolv::new(&runner, RESOLVER);
    World {
        runner,
        _inet: inet,
        _resolv: resolv,
        _servers: servers,
        dir: dir.to_path_buf(),
    }
}

/// `egress-ids` in `ns`, with cgroup v2 mounted where a runner has it: `ip netns exec` gives the
/// program a mount namespace of its own with a fresh /sys, so the mount stays in there.
pub fn in_runner(ns: &Netns) -> Command {
    let mut cmd = ns.exec("sh");
    cmd.args([
        "-c",
        "mount -t cgroup2 cgroup2 /sys/fs/cgroup && exec \"$@\"",
        "sh",
        env!("CARGO_BIN_EXE_egress-ids"),
    ]);
    cmd
}

/// The command `run` watches: its argv, working directory and extra environment (`run` passes
/// its own on to the command).
#[derive(Clone, Debug)]
pub struct Step {
    argv: Vec<OsString>,
    cwd: Option<PathBuf>,
    env: Vec<(OsString, OsString)>,
}

impl Step {
    /// `sh -c SCRIPT`.
    pub fn sh(script: &str) -> Step {
        Step::argv(["sh", "-c", script])
    }

    /// Any command line.
    pub fn argv<I, S>(argv: I) -> Step
    where
        I: IntoIterator<Item = S>,
        S: Into<OsString>,
    {
        Step {
            argv: argv.into_iter().map(Into::into).collect(),
            cwd: None,
            env: Vec::new(),
        }
    }

    /// Runs in `dir`.
    pub fn cwd(mut self, dir: &Path) -> Step {
        self.cwd = Some(dir.to_path_buf());
        self
    }

    /// With `key=value` in the environment.
    pub fn env(mut self, key: impl Into<OsString>, value: impl Into<OsString>) -> Step {
        self.env.push((key.into(), value.into()));
        self
    }
}

/// `egress-ids run ARGS -- STEP` in the runner's namespace; killed after 60 s.
pub fn run(world: &World, args: &[&str], step: &Step) -> Output {
    let mut cmd = in_runner(&world.runner);
    cmd.arg("run")
        .args(args)
        .arg("--")
        .args(&step.argv)
        .envs(step.env.iter().map(|(k, v)| (k, v)))
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped());
    if let Some(dir) = &step.cwd {
        cmd.current_dir(dir);
    }
    let child = cmd.spawn().expect("start egress-ids run");
    wait_output(child, Duration::from_secs(60))
}

/// Waits at most `limit` for `child` (killed then) and returns its output, read while it runs
/// (npm's output does not block it on a full pipe).
pub fn wait_output(mut child: std::process::Child, limit: Duration) -> Output {
    fn drain(pipe: Option<impl Read + Send + 'static>) -> JoinHandle<Vec<u8>> {
        std::thread::spawn(move || {
            let mut buf = Vec::new();
            if let Some(mut pipe) = pipe {
                let _ = pipe.read_to_end(&mut buf);
            }
            buf
        })
    }
    let (out, err) = (drain(child.stdout.take()), drain(child.stderr.take()));
    let until = Instant::now() + limit;
    while Instant::now() < until {
        if let Ok(Some(_)) = child.try_wait() {
            break;
        }
        std::thread::sleep(Duration::from_millis(20));
    }
    if child.try_wait().ok().flatten().is_none() {
        let _ = child.kill();
    }
    let status = child.wait().expect("wait for egress-ids run");
    Output {
        status,
        stdout: out.join().unwrap_or_default(),
        stderr: err.join().unwrap_or_default(),
    }
}
