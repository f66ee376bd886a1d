//! TCP evasions against a real Linux receiver: for each trick a client in a "runner" namespace
//! sends a ClientHello whose server name differs between the bytes Linux keeps and the bytes it
//! drops; a plain TCP server in an "internet" namespace records what its kernel delivered;
//! tcpdump captures the runner's side of the veth between them; `egress-ids replay` of the
//! capture must log the server name the server received (`tls.sni`), raise its alert, and, where
//! overlapping copies differed, write an `anomaly` event.
//!
//! The tricks no ordinary client makes (data on the SYN, a segment PAWS drops, a wrong checksum,
//! an out-of-order segment replaced by a longer one) come from a raw-socket client
//! (`tests/tricks/tcp/rawclient.py`) sending from an address no kernel owns, so nothing resets
//! its connection; urgent data comes from an ordinary Python client (`MSG_OOB`), port reuse from
//! Node.js without privileges. Everything stays in the two namespaces made here.

mod common;

use common::netns::{root_or_skip, run_ok, wait_for_line, Child, Netns};
use common::{replay, root, scratch, Replay};
use serde_json::Value;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::Duration;

/// The runner's and the internet side's MAC addresses (fixed: the raw client writes frames).
const RUN_MAC: &str = "02:00:0a:4d:00:02";
const INET_MAC: &str = "02:00:c0:00:02:01";
/// The runner's own address, and the one the raw client sends from (configured nowhere).
const RUNNER: &str = "10.77.0.2";
const RAW_SRC: &str = "10.77.0.3";
/// The server (a documentation address).
const SERVER: &str = "192.0.2.10";
const PORT: &str = "443";
/// The IOC name the receiver keeps, and the allowlisted name of the same length it drops.
const IOC: &str = "pkg-validate.net";
const DECOY: &str = "cdn.jsdelivr.net";

fn tricks() -> PathBuf {
    root().join("tests/tricks/tcp")
}

/// Two namespaces joined by a veth pair (`eth0` on both sides), a capture on the runner's side.
struct Lab {
    runner: Netns,
    inet: Netns,
    dir: PathBuf,
}

impl Lab {
    fn new(tag: &str) -> Lab {
        let runner = Netns::new(&format!("tcpr-{tag}"));
        let inet = Netns::new(&format!("tcpi-{tag}"));
        runner.veth_to("eth0", &inet, "eth0", 1500);
        runner.ip(&["link", "set", "eth0", "address", RUN_MAC]);
        inet.ip(&["link", "set", "eth0", "address", INET_MAC]);
        runner.ip(&["addr", "add", &format!("{RUNNER}/24"), "dev", "eth0"]);
        runner.ip(&["route", "add", "192.0.2.0/24", "dev", "eth0"]);
        runner.ip(&[
            "neigh",
            "replace",
            SERVER,
            "lladdr",
            INET_MAC,
            "dev",
            "eth0",
            "nud",
            "permanent",
        ]);
        inet.ip(&["addr", "add", "192.0.2.1/24", "dev", "eth0"]);
        inet.ip(&["addr", "add", &format!("{SERVER}/32"), "dev", "eth0"]);
        inet.ip(&["route", "add", "10.77.0.0/24", "dev", "eth0"]);
        for addr in [RUNNER, RAW_SRC] {
            inet.ip(&[
                "neigh",
                "replace",
                addr,
                "lladdr",
                RUN_MAC,
                "dev",
                "eth0",
                "nud",
                "permanent",
            ]);
        }
        Lab {
            runner,
            inet,
            dir: scratch(&format!("tcp-evasion-{tag}")),
        }
    }

    /// tcpdump on the runner's side, until the returned child is stopped.
    fn capture(&self) -> (Child, PathBuf) {
        let pcap = self.dir.join("trick.pcap");
        let child = self
            .runner
            .tcpdump("eth0", &pcap, &self.dir.join("tcpdump.log"));
        (child, pcap)
    }

    /// The recording server, for `connections` connections; the bytes of connection N go to
    /// `received.N`.
    fn server(&self, connections: u32) -> Child {
        let out = self.dir.join("server.out");
        let child = Child::spawn(
            self.inet
                .exec("python3")
                .arg(tricks().join("server.py"))
                .args([SERVER, PORT])
                .arg(self.dir.join("received"))
                .args([&connections.to_string(), "15"])
                .stdout(std::fs::File::create(&out).unwrap())
                .stderr(Stdio::null()),
            "server.py",
        );
        assert!(
            wait_for_line(&out, "READY", Duration::from_secs(10)).is_some(),
            "server.py did not start"
        );
        child
    }

    /// Runs `cmd` (in the runner namespace) to completion.
    fn run(&self, program: &str, args: &[&str]) -> String {
        run_ok(
            self.runner.exec(program).current_dir(tricks()).args(args),
            Duration::from_secs(30),
        )
    }

    /// What the server's connection `n` received.
    fn received(&self, server: &mut Child, n: u32) -> Vec<u8> {
        server.wait_timeout(Duration::from_secs(20));
        std::fs::read(self.dir.join(format!("received.{n}"))).unwrap_or_default()
    }
}

/// Stops tcpdump so that its file is complete.
fn stop(mut tcpdump: Child) {
    std::thread::sleep(Duration::from_millis(500));
    assert!(tcpdump.terminate(Duration::from_secs(10)).is_some());
}

/// The server name of the ClientHello in `bytes`.
fn sni_of(bytes: &[u8]) -> String {
    match proto::tls::next_step(bytes) {
        proto::tls::Step::Hello(hello, _) => hello.sni.expect("a server name"),
        _ => panic!("the server did not receive a whole ClientHello: {bytes:02x?}"),
    }
}

/// The `tls.sni` values egress-ids logged.
fn logged_snis(r: &Replay) -> Vec<String> {
    r.of_type("tls")
        .iter()
        .map(|e| e["tls"]["sni"].as_str().unwrap_or_default().to_owned())
        .collect()
}

/// The alerts of `detection`, as (severity, SNI of the alert's tls object).
fn alerts(r: &Replay, detection: &str) -> Vec<(i64, String)> {
    r.of_type("alert")
        .iter()
        .filter(|e| e["alert"]["metadata"]["detection"][0] == detection)
        .map(|e| {
            (
                e["alert"]["severity"].as_i64().unwrap_or(0),
                e["tls"]["sni"].as_str().unwrap_or_default().to_owned(),
            )
        })
        .collect()
}

fn anomalies(r: &Replay) -> Vec<&Value> {
    r.of_type("anomaly")
}

/// Asserts what every trick must give: egress-ids logs the name the server received, once, and
/// the IOC alert (severity 1) for it.
fn assert_reads_what_the_server_got(r: &Replay, got: &str, what: &str) {
    assert_eq!(got, IOC, "{what}: the server should keep the IOC copy");
    assert_eq!(logged_snis(r), vec![got.to_owned()], "{what}: tls.sni");
    assert_eq!(
        alerts(r, "ioc-domain"),
        vec![(1, got.to_owned())],
        "{what}: the IOC alert"
    );
}

/// Runs the raw client's `trick` in a fresh lab; returns the server's SNI and the pcap.
fn raw_trick(trick: &str) -> Option<(String, PathBuf, Lab)> {
    if !root_or_skip(&format!("the {trick} trick")) {
        return None;
    }
    let lab = Lab::new(trick);
    let mut server = lab.server(1);
    let (tcpdump, pcap) = lab.capture();
    let out = lab.run(
        "python3",
        &[
            "rawclient.py",
            "eth0",
            RUN_MAC,
            INET_MAC,
            RAW_SRC,
            SERVER,
            PORT,
            trick,
            IOC,
            DECOY,
        ],
    );
    eprintln!("{out}");
    let received = lab.received(&mut server, 1);
    stop(tcpdump);
    Some((sni_of(&received), pcap, lab))
}

#[test]
fn data_on_a_syn_that_the_syn_ack_does_not_acknowledge_is_not_read() {
    let Some((got, pcap, _lab)) = raw_trick("syn") else {
        return;
    };
    let r = replay("tcp-replay-syn", &[&pcap], &[]);
    assert_reads_what_the_server_got(&r, &got, "SYN data");
}

#[test]
fn a_segment_paws_drops_is_not_read() {
    let Some((got, pcap, _lab)) = raw_trick("paws") else {
        return;
    };
    let r = replay("tcp-replay-paws", &[&pcap], &[]);
    assert_reads_what_the_server_got(&r, &got, "PAWS");
}

#[test]
fn a_segment_with_a_wrong_checksum_is_not_read() {
    let Some((got, pcap, _lab)) = raw_trick("checksum") else {
        return;
    };
    for mode in ["auto", "yes"] {
        let r = replay(
            &format!("tcp-replay-checksum-{mode}"),
            &[&pcap],
            &["--checksum-validation", mode],
        );
        assert_reads_what_the_server_got(&r, &got, &format!("checksum ({mode})"));
        let stats = r.of_type("stats");
        let last = stats.last().expect("a stats event");
        let invalid = last["stats"]["tcp"]["invalid_checksum"]
            .as_u64()
            .unwrap_or(0);
        // `yes` also refuses the server's offloaded checksums (this capture is the client's).
        match mode {
            "auto" => assert_eq!(invalid, 1),
            _ => assert!(invalid > 1, "{invalid}"),
        }
    }
    // Without validation egress-ids reads the copy the receiver dropped: the trick works.
    let r = replay(
        "tcp-replay-checksum-no",
        &[&pcap],
        &["--checksum-validation", "no"],
    );
    assert_eq!(logged_snis(&r), vec![DECOY.to_owned()]);
}

#[test]
fn an_out_of_order_segment_replaced_by_a_longer_one_is_read_as_linux_reads_it() {
    let Some((got, pcap, _lab)) = raw_trick("ooo") else {
        return;
    };
    let r = replay("tcp-replay-ooo", &[&pcap], &[]);
    assert_reads_what_the_server_got(&r, &got, "out-of-order replacement");
    let anomalies = anomalies(&r);
    assert_eq!(anomalies.len(), 1, "one anomaly event: {anomalies:?}");
    assert_eq!(anomalies[0]["anomaly"]["type"], "stream");
    assert_eq!(
        anomalies[0]["anomaly"]["event"],
        "stream.reassembly_overlap_different_data"
    );
}

#[test]
fn an_urgent_byte_in_the_server_name_is_taken_out_as_linux_does() {
    if !root_or_skip("the urgent-data trick") {
        return;
    }
    let lab = Lab::new("urgent");
    let mut server = lab.server(1);
    let (tcpdump, pcap) = lab.capture();
    lab.run("python3", &["urgent.py", SERVER, PORT, IOC]);
    let received = lab.received(&mut server, 1);
    stop(tcpdump);
    let got = sni_of(&received);
    let r = replay("tcp-replay-urgent", &[&pcap], &[]);
    assert_reads_what_the_server_got(&r, &got, "urgent data");
    assert!(alerts(&r, "non-registry-tls").is_empty());
}

#[test]
fn a_new_connection_from_the_same_port_after_a_reset_is_a_new_flow() {
    if !root_or_skip("the port-reuse trick") {
        return;
    }
    let lab = Lab::new("reuse");
    let hello = |sni: &str, file: &str| -> PathBuf {
        let path = lab.dir.join(file);
        let out = Command::new("python3")
            .arg(tricks().join("hello.py"))
            .arg(sni)
            .output()
            .expect("run hello.py");
        std::fs::write(&path, out.stdout).unwrap();
        path
    };
    let first = hello("registry.npmjs.org", "first.bin");
    let second = hello(IOC, "second.bin");
    let mut server = lab.server(2);
    let (tcpdump, pcap) = lab.capture();
    lab.run(
        "node",
        &[
            "reuse.js",
            SERVER,
            PORT,
            "41000",
            first.to_str().unwrap(),
            second.to_str().unwrap(),
        ],
    );
    let got = [
        sni_of(&lab.received(&mut server, 1)),
        sni_of(&lab.received(&mut server, 2)),
    ];
    stop(tcpdump);
    assert_eq!(got, ["registry.npmjs.org".to_owned(), IOC.to_owned()]);
    let r = replay("tcp-replay-reuse", &[&pcap], &[]);
    assert_eq!(logged_snis(&r), got.to_vec());
    assert_eq!(alerts(&r, "ioc-domain"), vec![(1, IOC.to_owned())]);
    // The second connection came within a second of the first (not after a timeout).
    let secs = |e: &Value| -> f64 {
        let t = e["timestamp"].as_str().unwrap();
        let clock = &t[11..26]; // HH:MM:SS.ffffff
        let parts: Vec<f64> = clock.split(':').map(|p| p.parse().unwrap()).collect();
        parts[0] * 3600.0 + parts[1] * 60.0 + parts[2]
    };
    let tls = r.of_type("tls");
    let apart = secs(tls[1]) - secs(tls[0]);
    assert!((0.0..1.0).contains(&apart), "{apart} s apart");
    let flows = r.of_type("flow");
    let reasons: Vec<&str> = flows
        .iter()
        .map(|f| f["flow"]["reason"].as_str().unwrap_or_default())
        .collect();
    assert_eq!(flows.len(), 2, "{reasons:?}");
    assert!(reasons.contains(&"tcp_reuse"), "{reasons:?}");
    assert!(flows.iter().all(|f| f["src_port"] == 41000));
}

/// The address plan keeps to the documentation and private ranges.
#[test]
fn the_tricks_stay_in_private_and_documentation_addresses() {
    for a in [RUNNER, RAW_SRC] {
        assert!(a.starts_with("10."));
    }
    assert!(SERVER.starts_with("192.0.2."));
    assert_eq!(IOC.len(), DECOY.len(), "the names overlap byte for byte");
    assert!(Path::new(&tricks().join("rawclient.py")).is_file());
}
