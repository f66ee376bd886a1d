//! One verdict per value, whichever front end it comes through: each row gives a setting's value
//! as flags (to `live`, and to `replay` for the analysis settings) and as the daemon's TOML (to
//! `egress-ids config --check`). Both must accept it, or both refuse it with the same reason,
//! word for word.
//!
//! The command line is probed without capture privileges: a value that passes every check
//! reaches the signature files, and the probe's own `--signatures` names one that does not
//! exist, so the run stops there (before any interface or output is opened) with that error.

use crate::common::*;
use std::path::Path;

/// The probe's signature file: its absence is the sign that every flag was accepted.
const PROBE: &str = "/nonexistent/ioc-domains.txt";

#[derive(Debug, PartialEq, Eq)]
enum Verdict {
    Accepted,
    /// The reason, without the flag or the `file:line:column: key:` in front of it.
    Refused(String),
}

/// The flags, the same value as TOML, and `None` when both must accept it, or a piece of the
/// reason both must give.
type Row = (&'static [&'static str], &'static str, Option<&'static str>);

/// What `egress-ids MODE FLAGS` says of the flags.
fn cli_verdict(mode: &str, flags: &[&str], dir: &Path) -> Verdict {
    let eve = dir.join("eve.json");
    let mut args = vec![mode, "--signatures", PROBE];
    if !flags.contains(&"--eve") {
        args.extend(["--eve", eve.to_str().unwrap()]);
    }
    if mode == "live" && !flags.contains(&"-i") {
        args.extend(["-i", "egress-none0"]);
    }
    args.extend(flags);
    if mode == "replay" {
        args.push("/nonexistent/capture.pcap");
    }
    let out = egress_ids(&args);
    let stderr = String::from_utf8_lossy(&out.stderr).into_owned();
    assert_eq!(out.status.code(), Some(2), "{args:?}: {stderr}");
    let first = stderr.lines().next().unwrap_or_default();
    if let Some(error) = first.strip_prefix("error: ") {
        // clap's `invalid value 'V' for '--flag <V>': REASON`, or ours, `--flag: REASON`.
        let reason = match error.split_once("' for '") {
            Some((_, rest)) => rest.split_once("': ").map(|(_, r)| r),
            None => error.split_once(": ").map(|(_, r)| r),
        };
        return Verdict::Refused(reason.unwrap_or(error).to_string());
    }
    assert!(
        first.starts_with(&format!("egress-ids: error: {PROBE}")),
        "{args:?}: neither refused nor stopped at the probe: {stderr}"
    );
    Verdict::Accepted
}

/// What `egress-ids config --check` says of `toml`.
fn toml_verdict(toml: &str, dir: &Path, n: usize) -> Verdict {
    let path = dir.join(format!("row{n}.toml"));
    std::fs::write(&path, toml).unwrap();
    let out = egress_ids(&["config", "--check", path.to_str().unwrap()]);
    let stderr = String::from_utf8_lossy(&out.stderr).into_owned();
    if out.status.code() == Some(0) {
        return Verdict::Accepted;
    }
    assert_eq!(out.status.code(), Some(2), "{toml:?}: {stderr}");
    let first = stderr.lines().next().unwrap_or_default();
    // egress-ids: error: FILE:LINE:COLUMN: KEY: REASON
    let reason = first
        .strip_prefix(&format!("egress-ids: error: {}:", path.display()))
        .and_then(|rest| rest.split_once(": "))
        .and_then(|(_, rest)| rest.split_once(": "))
        .map(|(_, reason)| reason);
    Verdict::Refused(
        reason
            .unwrap_or_else(|| panic!("{toml:?}: not file:line:column: key: {stderr}"))
            .to_string(),
    )
}

/// Runs every row through `modes` and the TOML; fails listing every row whose verdicts differ
/// from each other or from the row's.
fn check_rows(tag: &str, modes: &[&str], rows: &[Row]) {
    let dir = scratch(tag);
    let mut wrong = Vec::new();
    for (n, (flags, toml, expected)) in rows.iter().enumerate() {
        let from_toml = toml_verdict(toml, &dir, n);
        let fits = |v: &Verdict| match (v, expected) {
            (Verdict::Accepted, None) => true,
            (Verdict::Refused(reason), Some(part)) => reason.contains(part),
            _ => false,
        };
        if !fits(&from_toml) {
            wrong.push(format!("{toml:?}: {from_toml:?}, expected {expected:?}"));
        }
        for mode in modes {
            let from_cli = cli_verdict(mode, flags, &dir);
            if from_cli != from_toml || !fits(&from_cli) {
                wrong.push(format!(
                    "{mode} {flags:?}: {from_cli:?}\n    TOML {toml:?}: {from_toml:?}\n    expected {expected:?}"
                ));
            }
        }
    }
    assert!(
        wrong.is_empty(),
        "{} rows disagree:\n  {}",
        wrong.len(),
        wrong.join("\n  ")
    );
}

#[test]
fn capture_settings_get_one_verdict() {
    const ROWS: &[Row] = &[
        (
            &["-i", "eth0", "-i", "eth1"],
            "[capture]\ninterfaces = [\"eth0\", \"eth1\"]",
            None,
        ),
        (&["-i", "any"], "[capture]\ninterfaces = [\"any\"]", None),
        (
            &["-i", "enp0s31f6abcdef"],
            "[capture]\ninterfaces = [\"enp0s31f6abcdef\"]",
            None,
        ),
        (
            &["-i", ""],
            "[capture]\ninterfaces = [\"\"]",
            Some("\"\" is not an interface name (1 to 15 characters"),
        ),
        (
            &["-i", "enp0s31f6abcdefg"],
            "[capture]\ninterfaces = [\"enp0s31f6abcdefg\"]",
            Some("is not an interface name"),
        ),
        (
            &["-i", "eth0/1"],
            "[capture]\ninterfaces = [\"eth0/1\"]",
            Some("is not an interface name"),
        ),
        (
            &["-i", "eth0", "-i", "eth0"],
            "[capture]\ninterfaces = [\"eth0\", \"eth0\"]",
            Some("\"eth0\" is listed twice"),
        ),
        (
            &["-i", "any", "-i", "eth0"],
            "[capture]\ninterfaces = [\"any\", \"eth0\"]",
            Some("\"any\" already captures on every interface"),
        ),
        (
            &["-i", "any", "--promisc"],
            "[capture]\npromisc = true",
            Some("the \"any\" interface cannot be promiscuous"),
        ),
        (
            &["-i", "eth1", "--promisc"],
            "[capture]\ninterfaces = [\"eth1\"]\npromisc = true",
            None,
        ),
        (
            &["--bpf", "not port 22"],
            "[capture]\nbpf = \"not port 22\"",
            None,
        ),
        (&["--bpf", ""], "[capture]\nbpf = \"\"", None),
        (
            &["--bpf", "port eleventy"],
            "[capture]\nbpf = \"port eleventy\"",
            Some("\"port eleventy\" is not a BPF filter"),
        ),
        (&["--snaplen", "0"], "[capture]\nsnaplen = 0", None),
        (&["--snaplen", "64"], "[capture]\nsnaplen = 64", None),
        (
            &["--snaplen", "262144"],
            "[capture]\nsnaplen = 262144",
            None,
        ),
        (
            &["--snaplen", "63"],
            "[capture]\nsnaplen = 63",
            Some("63 is out of range; use 64 to 262144, or 0 for 262144 (whole packets)"),
        ),
        (
            &["--snaplen", "262145"],
            "[capture]\nsnaplen = 262145",
            Some("262145 is out of range"),
        ),
        (
            &["--snaplen=-1"],
            "[capture]\nsnaplen = -1",
            Some("-1 is out of range"),
        ),
        (
            &["--buffer-size", "64KiB"],
            "[capture]\nbuffer_size = \"64KiB\"",
            None,
        ),
        (
            &["--buffer-size", "65536"],
            "[capture]\nbuffer_size = 65536",
            None,
        ),
        (
            &["--buffer-size", "2047MiB"],
            "[capture]\nbuffer_size = \"2047MiB\"",
            None,
        ),
        (
            &["--buffer-size", "0"],
            "[capture]\nbuffer_size = 0",
            Some("0 is below the minimum, 64KiB"),
        ),
        (
            &["--buffer-size", "2GiB"],
            "[capture]\nbuffer_size = \"2GiB\"",
            Some("\"2GiB\" is above the maximum, 2047MiB"),
        ),
        (
            &["--buffer-size", "12 parsecs"],
            "[capture]\nbuffer_size = \"12 parsecs\"",
            Some("unknown size unit \"parsecs\""),
        ),
        (
            &["--buffer-size", ""],
            "[capture]\nbuffer_size = \"\"",
            Some("\"\" is not a size"),
        ),
        (
            &["--capture-threads", "2"],
            "[capture]\ncapture_threads = 2",
            None,
        ),
        (
            &["--capture-threads", "0"],
            "[capture]\ncapture_threads = 0",
            Some("0 is out of range; use 1 to 64"),
        ),
        (
            &["--capture-threads", "65"],
            "[capture]\ncapture_threads = 65",
            Some("65 is out of range; use 1 to 64"),
        ),
    ];
    check_rows("settings-capture", &["live"], ROWS);
}

#[test]
fn analysis_settings_get_one_verdict() {
    const ROWS: &[Row] = &[
        (&["--threads", "0"], "[engine]\nthreads = 0", None),
        (&["--threads", "1"], "[engine]\nthreads = 1", None),
        (&["--threads", "256"], "[engine]\nthreads = 256", None),
        (&["--threads", "257"], "[engine]\nthreads = 257", Some("257 is out of range; use 0 to 256 (0 is one per core)")),
        (&["--threads=-1"], "[engine]\nthreads = -1", Some("-1 is out of range")),
        (&["--flow-memcap", "1MiB"], "[engine]\nflow_memcap = \"1MiB\"", None),
        (&["--flow-memcap", "1048576"], "[engine]\nflow_memcap = 1048576", None),
        (&["--flow-memcap", "1048575"], "[engine]\nflow_memcap = 1048575", Some("1048575 is below the minimum, 1MiB")),
        (&["--flow-memcap", "0"], "[engine]\nflow_memcap = \"0\"", Some("0 is below the minimum, 1MiB")),
        (&["--flow-memcap", "lots"], "[engine]\nflow_memcap = \"lots\"", Some("\"lots\" is not a size")),
        (&["--flow-memcap", "18446744073709551615G"], "[engine]\nflow_memcap = \"18446744073709551615G\"", Some("is too large")),
        (&["--tcp-new-timeout", "0"], "[engine]\ntcp_new_timeout = 0", Some("must be more than 0")),
        (&["--tcp-established-timeout", "0"], "[engine]\ntcp_established_timeout = 0", Some("must be more than 0")),
        (&["--tcp-closed-timeout", "0s"], "[engine]\ntcp_closed_timeout = \"0s\"", Some("must be more than 0")),
        (&["--udp-timeout", "0"], "[engine]\nudp_timeout = 0", Some("must be more than 0")),
        (&["--tcp-new-timeout", "1"], "[engine]\ntcp_new_timeout = 1", None),
        (&["--tcp-established-timeout", "1h"], "[engine]\ntcp_established_timeout = \"1h\"", None),
        (&["--tcp-closed-timeout", "4294967295"], "[engine]\ntcp_closed_timeout = 4294967295", None),
        (&["--udp-timeout", "4294967296"], "[engine]\nudp_timeout = 4294967296", Some("4294967296 is above the maximum, 4294967295 seconds")),
        (&["--udp-timeout", "1500ms"], "[engine]\nudp_timeout = \"1500ms\"", Some("1.5s is not a whole number of seconds")),
        (&["--checksum-validation", "auto"], "[engine]\nchecksum_validation = \"auto\"", None),
        (&["--checksum-validation", "yes"], "[engine]\nchecksum_validation = \"yes\"", None),
        (&["--checksum-validation", "no"], "[engine]\nchecksum_validation = \"no\"", None),
        (&["--checksum-validation", "maybe"], "[engine]\nchecksum_validation = \"maybe\"", Some("\"maybe\" is not a checksum validation mode (use auto, yes, no)")),
        (&["--stats-interval", "0"], "[engine]\nstats_interval = 0", None),
        (&["--stats-interval", "10m"], "[engine]\nstats_interval = \"10m\"", None),
        (&["--stats-interval=-5"], "[engine]\nstats_interval = -5", Some("-5 is negative")),
        (&["--dns-grace", "0"], "[detect]\ndns_grace = 0", None),
        (&["--dns-grace", "10m"], "[detect]\ndns_grace = \"10m\"", None),
        (&["--dns-grace", "soon"], "[detect]\ndns_grace = \"soon\"", Some("\"soon\" is not a duration")),
        (&["--dns-grace", "5 fortnights"], "[detect]\ndns_grace = \"5 fortnights\"", Some("unknown duration unit \"fortnights\"")),
        (&["--eve-types", "alert,dns"], "[engine]\neve_types = \"alert,dns\"", None),
        (&["--eve-types", "all"], "[engine]\neve_types = \"all\"", None),
        (&["--eve-types", ""], "[engine]\neve_types = \"\"", None),
        (&["--eve-types", "alert,netflow"], "[engine]\neve_types = \"alert,netflow\"", Some("unknown EVE type \"netflow\"")),
        (&["--vxlan-ports", "4789,8472"], "[engine]\nvxlan_ports = \"4789,8472\"", None),
        (&["--vxlan-ports", ""], "[engine]\nvxlan_ports = \"\"", None),
        (&["--geneve-ports", "6081,6082"], "[engine]\ngeneve_ports = \"6081,6082\"", None),
        (&["--vxlan-ports", "4789,0"], "[engine]\nvxlan_ports = \"4789,0\"", Some("\"0\" is not a UDP port; write ports from 1 to 65535")),
        (&["--geneve-ports", "6081,6081"], "[engine]\ngeneve_ports = \"6081,6081\"", Some("port 6081 is given twice")),
        (&["--vxlan-ports", "1,2,3,4,5,6,7,8,9"], "[engine]\nvxlan_ports = \"1,2,3,4,5,6,7,8,9\"", Some("9 ports; at most 8 are decoded")),
        (&["--home-net", "10.0.0.0/8,fd00::/8"], "[detect]\nhome_net = [\"10.0.0.0/8\", \"fd00::/8\"]", None),
        (&["--home-net", "0.0.0.0/0"], "[detect]\nhome_net = [\"0.0.0.0/0\"]", None),
        (&["--home-net", "10.0.0.0/8,10.1.2.3"], "[detect]\nhome_net = [\"10.0.0.0/8\", \"10.1.2.3\"]", Some("\"10.1.2.3\" is not a CIDR prefix such as \"10.0.0.0/8\" or \"fd00::/8\"; for one address write \"10.1.2.3/32\"")),
        (&["--home-net", "10.0.0.0/33"], "[detect]\nhome_net = [\"10.0.0.0/33\"]", Some("is not a CIDR prefix")),
        (&["--home-net", ""], "[detect]\nhome_net = [\"\"]", Some("\"\" is not a CIDR prefix")),
        (&["--no-default-signatures"], "[detect]\nno_default_signatures = true", None),
        (&["--resolvers", "10.0.0.53,fd00::/8"], "[detect]\nresolvers = [\"10.0.0.53\", \"fd00::/8\"]", None),
        (&["--resolvers", "10.0.0.53,dns.corp"], "[detect]\nresolvers = [\"10.0.0.53\", \"dns.corp\"]", Some("\"dns.corp\" is not a resolver address or prefix such as \"10.0.0.53\" or \"fd00::/8\"")),
        (&["--resolvers", "10.0.0.0/33"], "[detect]\nresolvers = [\"10.0.0.0/33\"]", Some("is not a resolver address or prefix")),
        // An empty policy file: valid, it allows nothing.
        (&["--egress-policy", "/dev/null"], "[detect]\negress_policy = \"/dev/null\"", None),
        (&["--egress-policy", ""], "[detect]\negress_policy = \"\"", Some("the path is empty")),
        (&["--rule-var", "DNS_SERVERS=[10.0.0.53]"], "[detect]\nrule_vars = [\"DNS_SERVERS=[10.0.0.53]\"]", None),
        (&["--rule-var", "DNS_SERVERS"], "[detect]\nrule_vars = [\"DNS_SERVERS\"]", Some("write NAME=VALUE")),
        (&["--rule-var", "=x"], "[detect]\nrule_vars = [\"=x\"]", Some("write NAME=VALUE")),
        (&["--rules", ""], "[detect]\nrules = [\"\"]", Some("the path is empty")),
        (&["--signatures", ""], "[detect]\nsignatures = [\"\"]", Some("the path is empty")),
        (&["--sensor-name", "runner-17.ci"], "sensor_name = \"runner-17.ci\"", None),
        (&["--sensor-name", "ci \"east\""], "sensor_name = 'ci \"east\"'", None),
        (&["--sensor-name", ""], "sensor_name = \"\"", Some("the name is empty")),
        (&["--sensor-name", "a\tb"], "sensor_name = \"a\\tb\"", Some("the name holds a control character ('\\t')")),
    ];
    check_rows("settings-analysis", &["live", "replay"], ROWS);
}

#[test]
fn live_only_settings_get_one_verdict() {
    const ROWS: &[Row] = &[
        (&["--warmup", "0"], "[detect]\nwarmup = 0", None),
        (&["--warmup", "2m"], "[detect]\nwarmup = \"2m\"", None),
        (&["--warmup", "4294967295"], "[detect]\nwarmup = \"4294967295\"", None),
        (&["--warmup", "5 fortnights"], "[detect]\nwarmup = \"5 fortnights\"", Some("unknown duration unit \"fortnights\"")),
        (&["--warmup=-5"], "[detect]\nwarmup = -5", Some("-5 is negative; write a number of seconds")),
        (&["--eve", ""], "[[output]]\ntype = \"file\"\npath = \"\"", Some("the path is empty")),
        (&["--eve", "-"], "[[output]]\ntype = \"stdout\"", None),
        (&["--webhook", "https://alerts.example.com/hook"], "[[output]]\ntype = \"webhook\"\nurl = \"https://alerts.example.com/hook\"", None),
        (&["--webhook", "http://127.0.0.1:8080/x"], "[[output]]\ntype = \"webhook\"\nurl = \"http://127.0.0.1:8080/x\"", None),
        (&["--webhook", "ftp://user:pw@h/x?token=s3cret"], "[[output]]\ntype = \"webhook\"\nurl = \"ftp://user:pw@h/x?token=s3cret\"", Some("\"ftp://h/x?…\" is not a usable webhook URL: the scheme ftp:// is not supported; write a full http:// or https:// URL")),
        (&["--webhook", "https://user:pw@/x?token=s3cret"], "[[output]]\ntype = \"webhook\"\nurl = \"https://user:pw@/x?token=s3cret\"", Some("\"https:///x?…\" is not a usable webhook URL")),
        (&["--webhook", "alerts.example.com/hook"], "[[output]]\ntype = \"webhook\"\nurl = \"alerts.example.com/hook\"", Some("it has no scheme")),
        (&["--webhook", ""], "[[output]]\ntype = \"webhook\"\nurl = \"\"", Some("\"\" is not a usable webhook URL: it has no scheme")),
        (&["--webhook", "http://h/x", "--webhook", "http://h/x"], "[[output]]\ntype = \"webhook\"\nurl = \"http://h/x\"\n[[output]]\ntype = \"webhook\"\nurl = \"http://h/x\"", Some("the same output is given twice")),
        (&["--redis", "redis://127.0.0.1:6379/2"], "[[output]]\ntype = \"redis\"\nurl = \"redis://127.0.0.1:6379/2\"", None),
        (&["--redis", "unix:///run/redis/redis.sock", "--redis-mode", "stream", "--redis-key", "ci:eve", "--redis-stream-maxlen", "0"], "[[output]]\ntype = \"redis\"\nurl = \"unix:///run/redis/redis.sock\"\nmode = \"stream\"\nkey = \"ci:eve\"\nstream_maxlen = 0", None),
        (&["--redis", "rediss://eids:s3cret@h", "--redis-ca-file", "/etc/ssl/ca.pem"], "[[output]]\ntype = \"redis\"\nurl = \"rediss://eids:s3cret@h\"\nca_file = \"/etc/ssl/ca.pem\"", None),
        (&["--redis", "redis://h", "--redis-ca-file", "/etc/ssl/ca.pem"], "[[output]]\ntype = \"redis\"\nurl = \"redis://h\"\nca_file = \"/etc/ssl/ca.pem\"", Some("a CA file is only used with TLS; write rediss://")),
        (&["--redis", "redis://eids:s3cret@h:0"], "[[output]]\ntype = \"redis\"\nurl = \"redis://eids:s3cret@h:0\"", Some("\"redis://h:0\" is not a usable Redis URL: the port \"0\" is not 1 to 65535")),
        (&["--redis", "http://h"], "[[output]]\ntype = \"redis\"\nurl = \"http://h\"", Some("the scheme http:// is not supported")),
        (&["--redis", "redis://h", "--redis-mode", "queue"], "[[output]]\ntype = \"redis\"\nurl = \"redis://h\"\nmode = \"queue\"", Some("unknown Redis mode \"queue\"; use list, lpush, rpush, channel, publish, stream or xadd")),
        (&["--redis", "redis://h", "--redis-key", "a b"], "[[output]]\ntype = \"redis\"\nurl = \"redis://h\"\nkey = \"a b\"", Some("has spaces")),
        (&["--redis", "redis://h", "--redis-stream-maxlen", "2000000000"], "[[output]]\ntype = \"redis\"\nurl = \"redis://h\"\nstream_maxlen = 2000000000", Some("use 0 (never trimmed) to 1000000000")),
        (&["--unix-socket", "/run/collector/eve.sock"], "[[output]]\ntype = \"unix-socket\"\npath = \"/run/collector/eve.sock\"", None),
        (&["--unix-socket", ""], "[[output]]\ntype = \"unix-socket\"\npath = \"\"", Some("the path is empty")),
        (&["--unix-socket", "/run/a-socket-path-far-too-long-for-sun-path/aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa.sock"], "[[output]]\ntype = \"unix-socket\"\npath = \"/run/a-socket-path-far-too-long-for-sun-path/aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa.sock\"", Some("a Unix socket path is at most 107 bytes")),
        (&["--unix-socket", "/run/a.sock", "--unix-socket", "/run/a.sock"], "[[output]]\ntype = \"unix-socket\"\npath = \"/run/a.sock\"\n[[output]]\ntype = \"unix-socket\"\npath = \"/run/a.sock\"", Some("the same output is given twice")),
    ];
    check_rows("settings-live", &["live"], ROWS);
}

/// Paths are the one difference, on purpose: a command line runs in a working directory that a
/// relative path is resolved against; the daemon's file has none (systemd starts it in `/`), so
/// it takes absolute paths only.
#[test]
fn relative_paths_are_for_the_command_line_only() {
    let dir = scratch("settings-relative");
    for (flags, toml) in [
        (
            &["--unix-socket", "eve.sock"],
            "[[output]]\ntype = \"unix-socket\"\npath = \"eve.sock\"",
        ),
        (
            &["--signatures", "sigs"],
            "[detect]\nsignatures = [\"sigs\"]",
        ),
    ] {
        assert_eq!(
            cli_verdict("live", flags, &dir),
            Verdict::Accepted,
            "{flags:?}"
        );
        match toml_verdict(toml, &dir, 0) {
            Verdict::Refused(reason) => assert!(
                reason.contains("is relative; write an absolute path"),
                "{reason}"
            ),
            Verdict::Accepted => panic!("{toml:?} accepted"),
        }
    }
}

#[test]
fn secrets_in_a_refused_url_are_never_shown() {
    let dir = scratch("settings-secrets");
    for (kind, url) in [
        ("webhook", "ftp://user:pw@h/x?token=s3cret"),
        ("redis", "redis://user:pw@h:0/s3cret"),
    ] {
        let cli = egress_ids(&["live", "-i", "egress-none0", &format!("--{kind}"), url]);
        let path = dir.join("egress-ids.toml");
        std::fs::write(
            &path,
            format!("[[output]]\ntype = \"{kind}\"\nurl = {url:?}\n"),
        )
        .unwrap();
        let toml = egress_ids(&["config", "--check", path.to_str().unwrap()]);
        for out in [cli, toml] {
            let stderr = String::from_utf8_lossy(&out.stderr);
            assert_eq!(out.status.code(), Some(2), "{stderr}");
            assert!(stderr.contains("is not a usable"), "{stderr}");
            assert!(!stderr.contains(":pw"), "{stderr}");
            if kind == "webhook" {
                assert!(!stderr.contains("s3cret"), "{stderr}");
            }
        }
    }
}
