//! Replay options and the DNS-answer semantics of `direct-ip`, as a user drives them: HOME_NET,
//! replacing the built-in signatures, several captures as one stream, and an answer's lifetime
//! (TTL plus grace).

use crate::common::*;
use std::path::PathBuf;

/// A DNS response: `name` A `addr` with `ttl`, from the resolver 198.51.100.53 to the runner.
fn dns_answer(name: &str, addr: [u8; 4], ttl: u32) -> Vec<u8> {
    let mut dns = dns_a_query(0x4242, name);
    // A response (QR, RD, RA) with one answer: the query name (pointer to offset 12) A IN.
    dns[2..4].copy_from_slice(&[0x81, 0x80]);
    dns[7] = 1;
    dns.extend_from_slice(&[0xc0, 12, 0, 1, 0, 1]);
    dns.extend_from_slice(&ttl.to_be_bytes());
    dns.extend_from_slice(&[0, 4]);
    dns.extend_from_slice(&addr);
    ipv4_packet([198, 51, 100, 53], [10, 0, 0, 5], L4::udp(53, 40000), &dns)
}

/// A TCP SYN from the runner to `addr`:443.
fn syn_to(addr: [u8; 4], sport: u16) -> Vec<u8> {
    ipv4_packet([10, 0, 0, 5], addr, L4::tcp(sport, 443, 1000, 0x02), &[])
}

const T0: u32 = 1_774_958_400;

fn pcap(dir: &std::path::Path, name: &str, records: &[(u32, Vec<u8>)]) -> PathBuf {
    let path = dir.join(name);
    let records: Vec<_> = records
        .iter()
        .map(|(t, p)| (*t, 0, p.clone(), p.len() as u32))
        .collect();
    write_pcap(&path, 101, &records);
    path
}

#[test]
fn an_answer_in_an_earlier_file_counts_for_a_later_one() {
    let dir = scratch("two-files");
    let answers = pcap(
        &dir,
        "dns.pcap",
        &[(T0, dns_answer("cdn.example.net", [203, 0, 113, 50], 60))],
    );
    let connects = pcap(
        &dir,
        "syn.pcap",
        &[(T0 + 1, syn_to([203, 0, 113, 50], 40001))],
    );
    let alone = replay("two-files-alone", &[&connects], &[]);
    assert_eq!(
        alert_rows(&alone.events),
        vec!["direct-ip\t203.0.113.50\t10.0.0.5\t203.0.113.50\t443"]
    );
    assert!(
        alone.stderr.contains("the input held no DNS at all"),
        "{}",
        alone.stderr
    );
    let both = replay("two-files-both", &[&answers, &connects], &[]);
    assert_eq!(both.code, 0, "{}", both.stderr);
    assert!(alert_rows(&both.events).is_empty());
}

#[test]
fn an_answer_counts_for_its_ttl_plus_the_grace_period() {
    let dir = scratch("ttl");
    let capture = pcap(
        &dir,
        "ttl.pcap",
        &[
            (T0, dns_answer("cdn.example.net", [203, 0, 113, 50], 60)),
            (T0 + 100, syn_to([203, 0, 113, 50], 40001)),
            (T0 + 400, syn_to([203, 0, 113, 50], 40002)),
        ],
    );
    // Default grace 300 s: +100 s is within 60 + 300, +400 s is not.
    let r = replay("ttl-default", &[&capture], &[]);
    assert_eq!(
        alert_rows(&r.events),
        vec!["direct-ip\t203.0.113.50\t10.0.0.5\t203.0.113.50\t443"]
    );
    let late = r
        .events
        .iter()
        .find(|e| e["event_type"] == "alert")
        .unwrap();
    assert_eq!(late["src_port"], 40002);
    // With no grace, +100 s is past the 60 s TTL too.
    let r = replay("ttl-no-grace", &[&capture], &["--dns-grace", "0"]);
    assert_eq!(alert_rows(&r.events).len(), 2);
}

#[test]
fn home_net_decides_what_is_egress() {
    let pcap = root().join("pcaps/tls-ip-literal.pcap");
    let default = replay("homenet-default", &[&pcap], &[]);
    assert_eq!(default.code, 1);
    let elsewhere = replay(
        "homenet-elsewhere",
        &[&pcap],
        &["--home-net", "192.168.0.0/16,fd00:1::/64"],
    );
    assert_eq!(
        elsewhere.code, 0,
        "a runner outside HOME_NET makes no egress: {}",
        elsewhere.stderr
    );
    assert!(alert_rows(&elsewhere.events).is_empty());
    assert_eq!(
        elsewhere.of_type("tls").len(),
        1,
        "the ClientHello is still logged"
    );
}

#[test]
fn replacing_the_default_signatures_drops_the_builtin_lists() {
    let pcap = root().join("pcaps/ioc-sni.pcap");
    let dir = scratch("nodefault");
    let allow = dir.join("allow-domains.txt");
    std::fs::write(&allow, "registry.npmjs.org\n").unwrap();
    let r = replay(
        "nodefault-run",
        &[&pcap],
        &[
            "--no-default-signatures",
            "--signatures",
            allow.to_str().unwrap(),
        ],
    );
    // Without the IOC list pkg-validate.net is just a name outside the allowlist.
    let rows = alert_rows(&r.events);
    assert_eq!(rows.len(), 1, "{rows:?}");
    assert!(
        rows[0].starts_with("non-registry-tls\tpkg-validate.net\t"),
        "{rows:?}"
    );
}

#[test]
fn standard_input_replays_like_a_file_and_alerts_are_written_at_once() {
    use std::io::Write;
    use std::process::{Command, Stdio};
    use std::time::{Duration, Instant};

    let pcap = root().join("pcaps/npm-postinstall-ioc.pcap");
    let from_file = replay("stdin-file", &[&pcap], &[]);
    let dir = scratch("stdin-pipe");
    let eve = dir.join("eve.json");
    let mut child = Command::new(env!("CARGO_BIN_EXE_egress-ids"))
        .args(["replay", "-q", "--eve", eve.to_str().unwrap(), "-"])
        .stdin(Stdio::piped())
        .spawn()
        .expect("start egress-ids");
    let mut stdin = child.stdin.take().expect("stdin");
    stdin
        .write_all(&std::fs::read(&pcap).unwrap())
        .expect("feed the capture");
    stdin.flush().unwrap();
    // The pipe stays open, so the replay has not ended: the alerts must be on disk already.
    let deadline = Instant::now() + Duration::from_secs(10);
    let mut alerts = 0;
    while Instant::now() < deadline {
        let text = std::fs::read_to_string(&eve).unwrap_or_default();
        alerts = text
            .lines()
            .filter(|l| l.contains("\"event_type\":\"alert\""))
            .count();
        if alerts == alert_rows(&from_file.events).len() {
            break;
        }
        std::thread::sleep(Duration::from_millis(20));
    }
    assert!(
        child.try_wait().expect("poll").is_none(),
        "the replay is still reading its input"
    );
    assert_eq!(alerts, 3, "alerts written while the input is still open");
    drop(stdin);
    let status = child.wait().expect("wait");
    assert_eq!(status.code(), Some(1));
    let text = std::fs::read_to_string(&eve).unwrap();
    assert_eq!(
        alert_rows(&parse_and_validate(&text, "stdin")),
        alert_rows(&from_file.events)
    );
}

#[test]
fn eve_types_alert_writes_the_same_alerts_and_nothing_else() {
    let pcaps: Vec<std::path::PathBuf> = std::fs::read_dir(root().join("pcaps"))
        .expect("pcaps dir")
        .filter_map(|e| e.ok().map(|e| e.path()))
        .filter(|p| p.extension().is_some_and(|x| x == "pcap"))
        .collect();
    let refs: Vec<&std::path::Path> = pcaps.iter().map(|p| p.as_path()).collect();
    let all = replay("types-all", &refs, &[]);
    let only = replay("types-alert", &refs, &["--eve-types", "alert"]);
    let alerts =
        |r: &Replay| -> Vec<String> { r.of_type("alert").iter().map(|e| e.to_string()).collect() };
    assert!(alerts(&all).len() >= 20);
    // The same alert lines, app-layer objects included.
    assert_eq!(alerts(&only), alerts(&all));
    assert_eq!(only.events.len(), alerts(&only).len(), "nothing but alerts");
    let dns = replay("types-dns", &refs, &["--eve-types", "dns"]);
    assert_eq!(dns.of_type("dns").len(), all.of_type("dns").len());
    assert!(dns.of_type("flow").is_empty() && dns.of_type("tls").is_empty());
    let bad = egress_ids(&["replay", "--eve-types", "alert,netflow", "x.pcap"]);
    assert_eq!(bad.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&bad.stderr).contains("netflow"));
}

#[test]
fn progress_is_drawn_when_asked_and_never_into_a_pipe_otherwise() {
    let pcaps: Vec<PathBuf> = ["npm-postinstall-ioc.pcap", "benign-registry.pcap"]
        .iter()
        .map(|n| root().join("pcaps").join(n))
        .collect();
    let paths: Vec<&str> = pcaps.iter().map(|p| p.to_str().unwrap()).collect();
    let with = |flags: &[&str]| {
        let mut args = vec!["replay", "--eve", "/dev/null"];
        args.extend_from_slice(flags);
        args.extend_from_slice(&paths);
        let out = egress_ids(&args);
        (
            out.status.code(),
            String::from_utf8_lossy(&out.stderr).into_owned(),
        )
    };
    // Asked for: the last line says what was read, and agrees with the summary.
    let (code, err) = with(&["--progress"]);
    let last = err
        .split(['\r', '\n'])
        .rfind(|l| l.contains("replay: "))
        .unwrap_or_else(|| panic!("no progress line: {err}"));
    let summary = err
        .lines()
        .find(|l| l.starts_with("egress-ids: ") && l.contains(" packets ("))
        .unwrap_or_else(|| panic!("no summary: {err}"));
    let packets = summary["egress-ids: ".len()..].split(' ').next().unwrap();
    let alerts = summary
        .split(" alerts in ")
        .next()
        .and_then(|head| head.rsplit(' ').next())
        .unwrap_or_else(|| panic!("no alert count: {summary}"));
    assert!(
        last.contains(&format!(", {packets} packets, {alerts} alerts, ")),
        "{last:?} against {summary:?}"
    );
    assert!(
        last.contains("(100 %)") || last.contains("(99 %)"),
        "{last:?}"
    );
    assert!(matches!(code, Some(0 | 1)), "{err}");
    // Not asked for, stderr a pipe: not a byte of it.
    let (_, err) = with(&[]);
    assert!(!err.contains("replay: "), "{err}");
    assert!(!err.contains('\r'), "{err}");
    // Both: a usage error.
    let (code, _) = with(&["--progress", "--no-progress"]);
    assert_eq!(code, Some(2));
}
