//! The eBPF process collector (`egress_ids::host`) on real processes: a runner namespace linked
//! by a veth pair to an "internet" namespace with an HTTP server (`python3 -m http.server`) and
//! dnsmasq on documentation addresses. Real `curl` (200 sequential, 200 eight-way parallel), a
//! detached double fork, `dig` over UDP, and a process in a cgroup v2 leaf of its own standing in
//! for a container: every connection must come back to the right pid, exe, source port, cgroup
//! and network namespace. Needs root (`root_or_skip`; under CI=true it must run).

mod common;

use common::netns::{root_or_skip, run_ok, start_logged, Child, Netns};
use egress_ids::host::{Attribution, Collector, HookStatus, Proto};
use std::net::IpAddr;
use std::os::unix::fs::MetadataExt;
use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::{Duration, Instant, SystemTime};

const RUNNER: &str = "10.0.0.2";
const SERVER: &str = "192.0.2.10";
const RESOLVER: &str = "192.0.2.53";
const PORT: u16 = 8080;

/// The two namespaces and the servers; all stopped and deleted on drop.
struct Lab {
    // Children before namespaces: they are stopped first.
    _http: Child,
    _dns: Child,
    runner: Netns,
    inet: Netns,
}

fn lab(tag: &str, dir: &Path) -> Lab {
    let runner = Netns::new(&format!("h{tag}r"));
    let inet = Netns::new(&format!("h{tag}i"));
    runner.veth_to("eth0", &inet, "eth0", 1500);
    runner.ip(&["addr", "add", &format!("{RUNNER}/24"), "dev", "eth0"]);
    runner.ip(&["route", "add", "192.0.2.0/24", "dev", "eth0"]);
    inet.ip(&["addr", "add", &format!("{SERVER}/24"), "dev", "eth0"]);
    inet.ip(&["addr", "add", &format!("{RESOLVER}/24"), "dev", "eth0"]);
    inet.ip(&["route", "add", "10.0.0.0/24", "dev", "eth0"]);
    let http = start_logged(
        inet.exec("python3")
            .args([
                "-u",
                "-m",
                "http.server",
                "--bind",
                SERVER,
                &PORT.to_string(),
            ])
            .current_dir(dir),
        &dir.join("http.log"),
        "Serving HTTP",
        "http.server",
    );
    let dns = common::netns::dnsmasq(
        &inet,
        dir,
        &[RESOLVER],
        &[("pkg-validate.example", "192.0.2.99")],
        &[],
    );
    Lab {
        _http: http,
        _dns: dns,
        runner,
        inet,
    }
}

/// The test's scratch directory `host-NAME` and its lab (namespaces tagged `tag`); `None`
/// (skipped) without root.
fn setup(name: &str, tag: &str) -> Option<(PathBuf, Lab)> {
    if !root_or_skip("the eBPF collector test") {
        return None;
    }
    let dir = common::scratch(&format!("host-{name}"));
    let lab = lab(tag, &dir);
    Some((dir, lab))
}

fn collector() -> Collector {
    let c = Collector::start().unwrap_or_else(|e| panic!("collector: {e}"));
    for h in c.hooks() {
        assert!(matches!(h, HookStatus::Attached(_)), "{h:?}");
    }
    c
}

/// The inode of a network namespace made by `ip netns add`.
fn netns_inode(ns: &Netns) -> u32 {
    std::fs::metadata(format!("/run/netns/{}", ns.name()))
        .unwrap()
        .ino() as u32
}

fn ip(s: &str) -> IpAddr {
    s.parse().unwrap()
}

/// Polls the collector (its ring buffer is drained every 10 ms) for at most 3 s.
fn lookup(c: &Collector, proto: Proto, local: (IpAddr, u16), remote: (IpAddr, u16)) -> Attribution {
    let at = SystemTime::now();
    let deadline = Instant::now() + Duration::from_secs(3);
    loop {
        if let Some(a) = c.lookup(proto, local, remote, at) {
            return a;
        }
        assert!(
            Instant::now() < deadline,
            "{proto:?} {local:?} -> {remote:?} not attributed; hooks {:?}, events {:?}",
            c.hooks(),
            c.stats()
        );
        std::thread::sleep(Duration::from_millis(20));
    }
}

/// `process` against its definition in docs/eve-extensions.schema.json.
fn valid_process(process: &serde_json::Value) {
    let ext: serde_json::Value = serde_json::from_str(
        &std::fs::read_to_string(common::root().join("docs/eve-extensions.schema.json")).unwrap(),
    )
    .unwrap();
    let schema = serde_json::json!({"$defs": ext["$defs"], "$ref": "#/$defs/process"});
    let v = jsonschema::validator_for(&schema).expect("schema compiles");
    let errors: Vec<String> = v.iter_errors(process).map(|e| e.to_string()).collect();
    assert!(errors.is_empty(), "{process}: {errors:?}");
    eprintln!("process: {process}");
}

/// curl in the runner namespace fetching `url`, printing the source port it used.
fn curl_cmd(lab: &Lab, url: &str) -> Command {
    let mut cmd = lab.runner.exec("/usr/bin/curl");
    cmd.args([
        "-s",
        "-o",
        "/dev/null",
        "-w",
        "%{local_port}",
        "--max-time",
        "5",
        url,
    ]);
    cmd
}

/// One real curl in the runner namespace: (its pid, the source port it used).
fn curl(lab: &Lab) -> (u32, u16) {
    let mut cmd = curl_cmd(lab, &format!("http://{SERVER}:{PORT}/"));
    let mut child = Child::spawn(
        cmd.stdin(std::process::Stdio::null())
            .stdout(std::process::Stdio::piped())
            .stderr(std::process::Stdio::piped()),
        "curl",
    );
    let pid = child.pid();
    let status = child
        .wait_timeout(Duration::from_secs(10))
        .expect("curl hangs");
    let out = child.take_output();
    assert!(status.success(), "curl: {status} {out}");
    let port = out
        .trim()
        .parse()
        .unwrap_or_else(|_| panic!("curl printed {out:?}"));
    (pid, port)
}

fn check_curl(c: &Collector, lab: &Lab, pid: u32, port: u16, ns: u32) {
    let a = lookup(c, Proto::Tcp, (ip(RUNNER), port), (ip(SERVER), PORT));
    assert_eq!((a.pid, a.exe.as_str()), (pid, "/usr/bin/curl"), "{a:?}");
    assert_eq!(a.cmdline.first().map(String::as_str), Some("/usr/bin/curl"));
    assert_eq!((a.netns, a.uid, a.user.as_deref()), (ns, 0, Some("root")));
    let _ = lab;
}

#[test]
fn curl_200_sequential_and_200_parallel_each_to_its_pid_and_port() {
    let Some((_dir, lab)) = setup("curl", "c") else {
        return;
    };
    let c = collector();
    let ns = netns_inode(&lab.runner);
    for _ in 0..200 {
        let (pid, port) = curl(&lab);
        check_curl(&c, &lab, pid, port, ns);
    }
    let runs: Vec<(u32, u16)> = std::thread::scope(|s| {
        let workers: Vec<_> = (0..8)
            .map(|_| s.spawn(|| (0..25).map(|_| curl(&lab)).collect::<Vec<_>>()))
            .collect();
        workers
            .into_iter()
            .flat_map(|w| w.join().unwrap())
            .collect()
    });
    assert_eq!(runs.len(), 200);
    for (pid, port) in runs {
        check_curl(&c, &lab, pid, port, ns);
    }
    // A tuple nobody had is nobody's, even on the server's port.
    assert!(c
        .lookup(
            Proto::Tcp,
            (ip(RUNNER), 1),
            (ip(SERVER), PORT),
            SystemTime::now()
        )
        .is_none());
    eprintln!("events {:?}, evicted {:?}", c.stats(), c.evicted());
    assert_eq!(c.lost(), Some(0), "records lost to a full ring buffer");
}

#[test]
fn a_detached_double_fork_keeps_its_ancestry_and_dig_over_udp_is_attributed() {
    let Some((dir, lab)) = setup("fork", "f") else {
        return;
    };
    let c = collector();
    let out = dir.join("port");
    let _ = std::fs::remove_file(&out);
    // A (the outer sh) backgrounds B and exits at once; B sleeps, so curl connects when A is
    // gone and the kernel has re-parented B to init. `; true` keeps B from exec'ing curl.
    let script = format!(
        "sh -c 'sleep 0.3; /usr/bin/curl -s -o /dev/null -w %{{local_port}} http://{SERVER}:{PORT}/ > {}; true' & exit 0",
        out.display()
    );
    let mut a = Child::spawn(lab.runner.exec("/bin/sh").args(["-c", &script]), "sh");
    let outer = a.pid();
    assert!(a
        .wait_timeout(Duration::from_secs(5))
        .is_some_and(|s| s.success()));
    let deadline = Instant::now() + Duration::from_secs(10);
    let port: u16 = loop {
        let text = std::fs::read_to_string(&out).unwrap_or_default();
        if let Ok(p) = text.trim().parse() {
            break p;
        }
        assert!(
            Instant::now() < deadline,
            "the detached curl did not finish"
        );
        std::thread::sleep(Duration::from_millis(50));
    };
    let attr = lookup(&c, Proto::Tcp, (ip(RUNNER), port), (ip(SERVER), PORT));
    assert_eq!(attr.exe, "/usr/bin/curl");
    let chain: Vec<(u32, &str)> = attr
        .ancestry
        .iter()
        .map(|a| (a.pid, a.exe.as_str()))
        .collect();
    eprintln!("curl {} <- {chain:?}", attr.pid);
    assert!(chain.len() >= 3, "{chain:?}");
    assert!(chain[0].1.ends_with("/sh"), "{chain:?}");
    assert_eq!(chain[1], (outer, "/bin/sh"), "{chain:?}");
    assert_eq!(chain[2].0, std::process::id(), "{chain:?}");
    valid_process(&attr.to_eve());

    // dig from a fixed source port to dnsmasq.
    let answer = run_ok(
        lab.runner
            .exec("dig")
            .args(["+short", "+tries=1", "+time=3", "-b"])
            .arg(format!("{RUNNER}#53535"))
            .arg(format!("@{RESOLVER}"))
            .arg("pkg-validate.example"),
        Duration::from_secs(10),
    );
    assert_eq!(answer.trim(), "192.0.2.99");
    let d = lookup(&c, Proto::Udp, (ip(RUNNER), 53535), (ip(RESOLVER), 53));
    assert!(d.exe.ends_with("/dig"), "{d:?}");
    assert_eq!(d.netns, netns_inode(&lab.runner));
}

/// A cgroup v2 leaf, removed on drop (after its processes are gone).
struct Cgroup(PathBuf);

impl Drop for Cgroup {
    fn drop(&mut self) {
        for _ in 0..50 {
            if std::fs::remove_dir(&self.0).is_ok() || !self.0.exists() {
                return;
            }
            std::thread::sleep(Duration::from_millis(100));
        }
        eprintln!("NOTE: could not remove {}", self.0.display());
    }
}

#[test]
fn a_process_in_its_own_cgroup_and_netns_is_attributed_with_both() {
    let Some((_dir, lab)) = setup("cg", "g") else {
        return;
    };
    let name = format!("eids-host-{}", std::process::id());
    let root = egress_ids::host::cgroup2_root().unwrap_or_else(|| "/sys/fs/cgroup".into());
    let cg = Cgroup(root.join(&name));
    std::fs::create_dir(&cg.0).expect("a cgroup v2 leaf");
    assert!(
        cg.0.join("cgroup.procs").exists(),
        "{} is not cgroup v2",
        cg.0.display()
    );
    let c = collector();
    // Into the cgroup first (`ip netns exec` mounts a /sys of the namespace, without cgroups),
    // then into the network namespace, then curl: one process all along.
    let script = format!(
        "echo $$ > {}/cgroup.procs && exec ip netns exec {} /usr/bin/curl -s -o /dev/null -w %{{local_port}} http://{SERVER}:{PORT}/",
        cg.0.display(),
        lab.runner.name()
    );
    let out = run_ok(
        Command::new("/bin/sh").args(["-c", &script]),
        Duration::from_secs(10),
    );
    let port: u16 = out.trim().parse().unwrap();
    let a = lookup(&c, Proto::Tcp, (ip(RUNNER), port), (ip(SERVER), PORT));
    assert_eq!(a.exe, "/usr/bin/curl");
    assert_eq!(a.cgroup, format!("/{name}"));
    assert_eq!(a.netns, netns_inode(&lab.runner));
    assert_eq!(a.container, None);
    let eve = a.to_eve();
    assert_eq!(eve["cgroup"], format!("/{name}"));
    valid_process(&eve);
}

#[test]
fn an_unanswered_connect_is_attributed_at_its_first_syn_retransmission() {
    let Some((dir, lab)) = setup("syn", "s") else {
        return;
    };
    // 198.51.100.7 is routed to the "internet" namespace, which does not forward: the SYN is
    // dropped there, no answer ever comes.
    lab.runner
        .ip(&["route", "add", "198.51.100.0/24", "via", SERVER]);
    let c = collector();
    let script = "import socket, sys, time\n\
                  s = socket.socket(); s.setblocking(False)\n\
                  s.connect_ex(('198.51.100.7', 443))\n\
                  print(s.getsockname()[1], flush=True)\n\
                  time.sleep(5)\n";
    let log = dir.join("syn.log");
    let mut py = start_logged(
        lab.runner.exec("/usr/bin/python3").args(["-c", script]),
        &log,
        "",
        "python3",
    );
    let deadline = Instant::now() + Duration::from_secs(5);
    let port: u16 = loop {
        if let Ok(p) = std::fs::read_to_string(&log)
            .unwrap_or_default()
            .trim()
            .parse()
        {
            break p;
        }
        assert!(Instant::now() < deadline, "no port printed");
        std::thread::sleep(Duration::from_millis(20));
    };
    // The first retransmission is 1 s after the SYN; the socket is still in SYN_SENT.
    let a = lookup(
        &c,
        Proto::Tcp,
        (ip(RUNNER), port),
        (ip("198.51.100.7"), 443),
    );
    assert_eq!(a.pid, py.pid());
    assert!(a.exe.starts_with("/usr/bin/python3"), "{a:?}");
    assert!(
        py.try_wait().is_none(),
        "attributed while the connect was still pending"
    );
}

#[test]
fn ipv6_connects_are_attributed() {
    let Some((dir, lab)) = setup("v6", "6") else {
        return;
    };
    for (ns, addr) in [(&lab.runner, "fd00::2/64"), (&lab.inet, "2001:db8::10/64")] {
        ns.sysctl("net.ipv6.conf.eth0.disable_ipv6=0");
        ns.ip(&["addr", "add", addr, "dev", "eth0", "nodad"]);
    }
    lab.runner
        .ip(&["route", "add", "2001:db8::/64", "dev", "eth0"]);
    lab.inet.ip(&["route", "add", "fd00::/64", "dev", "eth0"]);
    let _http6 = start_logged(
        lab.inet
            .exec("python3")
            .args(["-u", "-m", "http.server", "--bind", "2001:db8::10", "8081"])
            .current_dir(&dir),
        &dir.join("http6.log"),
        "Serving HTTP",
        "http.server (IPv6)",
    );
    let c = collector();
    let out = run_ok(
        &mut curl_cmd(&lab, "http://[2001:db8::10]:8081/"),
        Duration::from_secs(10),
    );
    let port: u16 = out.trim().parse().unwrap();
    let a = lookup(
        &c,
        Proto::Tcp,
        (ip("fd00::2"), port),
        (ip("2001:db8::10"), 8081),
    );
    assert_eq!(a.exe, "/usr/bin/curl");
    assert_eq!(a.netns, netns_inode(&lab.runner));
}
