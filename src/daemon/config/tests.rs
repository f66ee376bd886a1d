//! The configuration reader, key by key: defaults, the documented defaults, every section, and
//! the place and words of every error.

use super::*;
use crate::output::attribute::AttributeMode;
use crate::output::targets::{RedisSpec, WebhookSpec};
use std::time::Duration;

const FILE: &str = "/etc/egress-ids/egress-ids.toml";

fn parse(text: &str) -> Result<DaemonConfig, ConfigError> {
    DaemonConfig::from_toml(text, Path::new(FILE))
}

/// The error message of `text`, which must be refused.
fn refused(text: &str) -> String {
    match parse(text) {
        Ok(c) => panic!("accepted {text:?} as {c:?}"),
        Err(e) => e.to_string(),
    }
}

/// `text` with every commented-out key (`# key = value`, `# [[output]]`) uncommented.
fn uncommented(text: &str) -> String {
    text.lines()
        .map(|line| match line.strip_prefix("# ") {
            Some(rest)
                if rest == "[[output]]"
                    || rest.split_once(" = ").is_some_and(|(k, _)| {
                        k.chars().all(|c| c.is_ascii_lowercase() || c == '_')
                    }) =>
            {
                rest
            }
            _ => line,
        })
        .collect::<Vec<_>>()
        .join("\n")
}

#[test]
fn the_documented_defaults_are_the_defaults() {
    assert_eq!(parse(default_toml()).unwrap(), DaemonConfig::default());
    assert_eq!(parse("").unwrap(), DaemonConfig::default());
    let d = DaemonConfig::default();
    assert_eq!(d.capture.interfaces, ["any"]);
    assert_eq!(d.detect.home_net, Detector::default_home_net());
    assert_eq!(d.detect.dns_grace, DEFAULT_DNS_GRACE_SECS);
    assert_eq!(d.detect.warmup, 60);
    assert_eq!(d.engine.flow_memcap, DEFAULT_MEMCAP);
    assert_eq!(d.engine.stats_interval, DEFAULT_STATS_INTERVAL);
    let t = Timeouts::default();
    let e = d.engine.timeouts();
    assert_eq!(
        (e.tcp_new, e.tcp_established, e.tcp_closed, e.udp),
        (t.tcp_new, t.tcp_established, t.tcp_closed, t.udp)
    );
    assert_eq!(
        d.outputs,
        [OutputSpec::File {
            path: DEFAULT_EVE_PATH.into()
        }]
    );
    assert_eq!(d.privileges, PrivilegesSection::default());
}

#[test]
fn the_commented_examples_are_valid_and_the_webhook_ones_are_its_defaults() {
    let c = parse(&uncommented(default_toml())).unwrap();
    // The top-level key, before the first table; the sensor runs with it.
    assert_eq!(
        c.sensor_name.as_ref().map(|n| n.as_str()),
        Some("runner-17.ci.example")
    );
    assert_eq!(c.sensor_options().analysis.sensor_name, c.sensor_name);
    assert_eq!(DaemonConfig::default().sensor_name, None);
    assert_eq!(
        refused("sensor_name = \"\"\n"),
        format!("{FILE}:1:15: sensor_name: the name is empty")
    );
    assert_eq!(
        c.capture.bpf.as_deref(),
        Some("not (host 10.0.0.2 and port 9000)")
    );
    assert_eq!(c.privileges.user.as_deref(), Some("egress-ids"));
    assert_eq!(c.privileges.group.as_deref(), Some("egress-ids"));
    assert_eq!(
        c.outputs,
        [
            OutputSpec::File {
                path: DEFAULT_EVE_PATH.into()
            },
            OutputSpec::Webhook(WebhookSpec::new("https://alerts.example.com/egress-ids")),
            OutputSpec::Redis(RedisSpec {
                ca_file: Some("/etc/egress-ids/redis-ca.pem".into()),
                ..RedisSpec::new("rediss://egress-ids:CHANGE-ME@redis.example.com:6380/0")
            }),
        ]
    );
}

#[test]
fn every_key_is_in_the_default_document() {
    let doc = default_toml();
    // Each table's keys, as the unknown-key error lists them: a key added to the code but not
    // to the document fails here.
    for table in [
        "[capture]",
        "[detect]",
        "[engine]",
        "[[output]]\ntype = \"stdout\"",
        "[privileges]",
    ] {
        let message = refused(&format!("{table}\nno_such_key = 1\n"));
        let keys: Vec<&str> = message
            .split("the keys there are ")
            .nth(1)
            .unwrap()
            .split(", ")
            .map(|k| k.trim_matches('`'))
            .collect();
        assert!(keys.len() > 1, "{message}");
        for key in keys {
            let present = doc.lines().any(|l| {
                l.starts_with(&format!("{key} = ")) || l.starts_with(&format!("# {key} = "))
            });
            assert!(
                present,
                "{key} (of {table}) is not in contrib/egress-ids.toml"
            );
        }
    }
}

#[test]
fn every_section_parses() {
    let c = parse(
        r#"
[capture]
interfaces = ["eth1", "eth2"]
bpf = "not port 22"
promisc = true
snaplen = 1514
buffer_size = "16MiB"
capture_threads = 2
attribute = true

[detect]
home_net = ["10.20.0.0/16", "fd00::/8"]
signatures = ["/etc/egress-ids/signatures", "/etc/egress-ids/corp.ioc-domains.txt"]
no_default_signatures = true
resolvers = ["10.20.0.53", "fd00::/120"]
egress_policy = "/etc/egress-ids/egress.policy"
inventory = "/var/lib/egress-ids/known-packages.txt"
rules = ["/etc/egress-ids/rules"]
rule_vars = ["DNS_SERVERS=[10.20.0.53]"]
rules_strict = true
dns_grace = "10m"
warmup = 0
log_lan_discovery = true

[engine]
threads = 4
flow_memcap = 67108864
tcp_new_timeout = 30
tcp_established_timeout = "1h"
tcp_closed_timeout = "5s"
udp_timeout = 45
stats_interval = 0
eve_types = "alert,dns"
checksum_validation = "yes"
vxlan_ports = "4789,8472"

[[output]]
type = "stdout"

[[output]]
type = "unix-socket"
path = "/run/collector/eve.sock"

[[output]]
type = "webhook"
url = "http://10.0.0.9:8080/alerts"
queue = 10
timeout = 2
max_attempts = 3
backoff = "1s"
max_backoff = "1m"

[privileges]
user = "nobody"
group = "nogroup"
"#,
    )
    .unwrap();
    assert_eq!(
        c.capture,
        CaptureSection {
            interfaces: vec!["eth1".into(), "eth2".into()],
            bpf: Some("not port 22".into()),
            promisc: true,
            snaplen: 1514,
            buffer_size: 16 << 20,
            capture_threads: 2,
            attribute: AttributeMode::Required,
        }
    );
    assert_eq!(
        c.detect,
        DetectSection {
            home_net: vec!["10.20.0.0/16".parse().unwrap(), "fd00::/8".parse().unwrap()],
            signatures: vec![
                "/etc/egress-ids/signatures".into(),
                "/etc/egress-ids/corp.ioc-domains.txt".into()
            ],
            no_default_signatures: true,
            resolvers: Some(vec![
                "10.20.0.53/32".parse().unwrap(),
                "fd00::/120".parse().unwrap()
            ]),
            egress_policy: Some("/etc/egress-ids/egress.policy".into()),
            inventory: Some("/var/lib/egress-ids/known-packages.txt".into()),
            rules: RuleSources {
                paths: vec!["/etc/egress-ids/rules".into()],
                vars: vec!["DNS_SERVERS=[10.20.0.53]".into()],
                strict: true,
            },
            dns_grace: 600,
            warmup: 0,
            log_lan_discovery: true,
        }
    );
    assert_eq!(
        c.engine,
        EngineSection {
            threads: 4,
            flow_memcap: 64 << 20,
            tcp_new_timeout: 30,
            tcp_established_timeout: 3600,
            tcp_closed_timeout: 5,
            udp_timeout: 45,
            stats_interval: 0,
            eve_types: EveTypes::parse("alert,dns").unwrap(),
            checksum_validation: crate::settings::ChecksumValidation::Yes,
            tunnel_ports: proto::decode::DecodeConfig {
                vxlan_ports: proto::decode::PortList::new(&[4789, 8472]).unwrap(),
                ..Default::default()
            },
        }
    );
    assert_eq!(worker_threads(c.engine.threads), 4);
    let mut hook = WebhookSpec::new("http://10.0.0.9:8080/alerts");
    hook.queue = 10;
    hook.timeout = Duration::from_secs(2);
    hook.max_attempts = 3;
    hook.backoff = Duration::from_secs(1);
    hook.max_backoff = Duration::from_secs(60);
    assert_eq!(
        c.outputs,
        [
            OutputSpec::Stdout,
            OutputSpec::UnixSocket {
                path: "/run/collector/eve.sock".into()
            },
            OutputSpec::Webhook(hook),
        ]
    );
    assert_eq!(
        c.privileges,
        PrivilegesSection {
            user: Some("nobody".into()),
            group: Some("nogroup".into()),
        }
    );
    let o = c.sensor_options();
    assert_eq!(
        (
            o.analysis.threads,
            o.analysis.flow_memcap,
            o.analysis.dns_grace_secs
        ),
        (4, 64 << 20, 600)
    );
}

#[test]
fn a_partial_section_keeps_the_other_defaults() {
    let c = parse("[engine]\nthreads = 2\n").unwrap();
    assert_eq!(
        c.engine,
        EngineSection {
            threads: 2,
            ..EngineSection::default()
        }
    );
    assert_eq!(c.capture, CaptureSection::default());
    assert_eq!(c.outputs, DaemonConfig::default().outputs);
    assert!(worker_threads(parse("[engine]\nthreads = 0\n").unwrap().engine.threads) >= 1);
}

#[test]
fn attribution_is_auto_by_default_and_takes_true_false_or_auto() {
    assert_eq!(CaptureSection::default().attribute, AttributeMode::Auto);
    for (value, mode) in [
        ("true", AttributeMode::Required),
        ("false", AttributeMode::Off),
        ("\"auto\"", AttributeMode::Auto),
    ] {
        let c = parse(&format!("[capture]\nattribute = {value}\n")).unwrap();
        assert_eq!(c.capture.attribute, mode, "{value}");
        assert_eq!(c.sensor_options().attribute, mode);
    }
    assert_refused(&[(
        "[capture]\nattribute = \"yes\"\n",
        ":2:13: capture.attribute: 'yes' is not true, false or \"auto\"",
    )]);
}

#[test]
fn zero_snaplen_is_whole_packets_as_on_the_command_line() {
    let c = parse("[capture]\ninterfaces = [\"eth1\"]\npromisc = true\nsnaplen = 0\n").unwrap();
    assert_eq!((c.capture.snaplen, c.capture.promisc), (262_144, true));
    let live = &c.sensor_options().captures[0];
    assert_eq!((live.interface.as_str(), live.snaplen), ("eth1", 262_144));
}

#[test]
fn syntax_and_type_errors_name_file_line_column_and_key() {
    let cases: [(&str, &str); 9] = [
        (
            "[capture]\ninterfaces = [\"any\"]\ninterfacez = [\"eth0\"]\n",
            ":3:1: unknown key `interfacez` in [capture]; the keys there are `interfaces`, `bpf`, `promisc`, `snaplen`, `buffer_size`",
        ),
        (
            "[captur]\n",
            ":1:2: unknown key `captur` at the top level; the keys there are `capture`, `detect`, `engine`, `output`, `privileges`, `sensor_name`",
        ),
        (
            "[[output]]\ntype = \"file\"\npath = \"/x\"\ncolour = 1\n",
            ":4:1: unknown key `colour` in output[0]; the keys there are `type`",
        ),
        (
            "[engine]\nthreads = \"four\"\n",
            ":2:11: engine.threads: invalid type: string \"four\", expected an integer",
        ),
        (
            "[capture]\ninterfaces = \"eth0\"\n",
            ":2:14: capture.interfaces: invalid type: string \"eth0\", expected an array",
        ),
        ("capture = 1\n", ":1:11: capture: invalid type: integer `1`, expected a table"),
        ("[engine]\nthreads = 1\nthreads = 2\n", ":3:1: duplicate key `threads`; give each key once"),
        ("[detect\n", ":1:8: unclosed table, expected `]`"),
        ("[[output]]\npath = \"/x\"\n", ":1:1: output[0]: missing key `type`"),
    ];
    assert_refused(&cases);
}

#[test]
fn bad_values_name_file_line_column_and_key() {
    let cases: [(&str, &str); 36] = [
        ("[detect]\nresolvers = []\n", ":2:13: detect.resolvers: the list is empty, so every DNS query would bypass the resolvers"),
        ("[detect]\nresolvers = [\"10.0.0.53\", \"dns.corp\"]\n", ":2:27: detect.resolvers: \"dns.corp\" is not a resolver address or prefix"),
        ("[detect]\negress_policy = \"egress.policy\"\n", ":2:17: detect.egress_policy: \"egress.policy\" is relative; write an absolute path"),
        ("[detect]\ninventory = \"known.txt\"\n", ":2:13: detect.inventory: \"known.txt\" is relative; write an absolute path"),
        ("[capture]\ninterfaces = []\n", ":2:14: capture.interfaces: the list is empty"),
        ("[capture]\ninterfaces = [\"eth0\", \"\"]\n", ":2:23: capture.interfaces: \"\" is not an interface name"),
        ("[capture]\ninterfaces = [\"a-very-long-interface\"]\n", ":2:15: capture.interfaces: \"a-very-long-interface\" is not an interface name"),
        ("[capture]\ninterfaces = [\"eth0\", \"eth0\"]\n", ":2:23: capture.interfaces: \"eth0\" is listed twice"),
        ("[capture]\ninterfaces = [\"any\", \"eth0\"]\n", ":2:14: capture.interfaces: \"any\" already captures on every interface"),
        ("[capture]\npromisc = true\n", ":2:11: capture.promisc: the \"any\" interface cannot be promiscuous"),
        ("[capture]\nbpf = \"port eleventy\"\n", ":2:7: capture.bpf: \"port eleventy\" is not a BPF filter"),
        ("[capture]\nsnaplen = 10\n", ":2:11: capture.snaplen: 10 is out of range; use 64 to 262144"),
        ("[capture]\nbuffer_size = \"12 parsecs\"\n", ":2:15: capture.buffer_size: unknown size unit \"parsecs\""),
        ("[capture]\nbuffer_size = \"4GiB\"\n", ":2:15: capture.buffer_size: \"4GiB\" is above the maximum, 2047MiB"),
        ("[detect]\nhome_net = []\n", ":2:12: detect.home_net: the list is empty"),
        ("[detect]\nhome_net = [\n  \"10.0.0.0/8\",\n  \"10.1.2.3\",\n]\n", ":4:3: detect.home_net: \"10.1.2.3\" is not a CIDR prefix such as \"10.0.0.0/8\" or \"fd00::/8\"; for one address write \"10.1.2.3/32\""),
        ("[detect]\nsignatures = [\"sigs\"]\n", ":2:15: detect.signatures: \"sigs\" is relative; write an absolute path"),
        ("[detect]\nwarmup = -5\n", ":2:10: detect.warmup: -5 is negative"),
        ("[detect]\ndns_grace = \"1500ms\"\n", ":2:13: detect.dns_grace: 1.5s is not a whole number of seconds"),
        ("[engine]\nthreads = 999\n", ":2:11: engine.threads: 999 is out of range; use 0 to 256"),
        ("[engine]\nflow_memcap = \"12\"\n", ":2:15: engine.flow_memcap: 12 is below the minimum, 1MiB"),
        ("[engine]\nudp_timeout = 0\n", ":2:15: engine.udp_timeout: must be more than 0"),
        ("[engine]\ntcp_new_timeout = \"0s\"\n", ":2:19: engine.tcp_new_timeout: must be more than 0"),
        ("[capture]\nsnaplen = 262145\n", ":2:11: capture.snaplen: 262145 is out of range; use 64 to 262144, or 0 for 262144 (whole packets)"),
        ("[capture]\nbuffer_size = 1024\n", ":2:15: capture.buffer_size: 1024 is below the minimum, 64KiB"),
        ("[capture]\ncapture_threads = 0\n", ":2:19: capture.capture_threads: 0 is out of range; use 1 to 64 (1: one capture thread, no fanout)"),
        ("[[output]]\ntype = \"unix-socket\"\npath = \"/run/egress-ids/a-socket-path-far-too-long-for-sun-path-aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa.sock\"\n", ":3:8: output[0].path: \"/run/egress-ids/a-socket-path-far-too-long-for-sun-path-aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa.sock\" is 191 bytes; a Unix socket path is at most 107 bytes"),
        ("[engine]\neve_types = \"alert,netflow\"\n", ":2:13: engine.eve_types: unknown EVE type \"netflow\""),
        ("output = []\n", ":1:10: output: no output"),
        ("[[output]]\ntype = \"fil\"\n", ":2:8: output[0].type: unknown output type \"fil\""),
        ("[[output]]\ntype = \"file\"\n", ":1:1: output[0].path: a \"file\" output needs `path`"),
        ("[[output]]\ntype = \"stdout\"\n[[output]]\ntype = \"file\"\npath = \"eve.json\"\n", ":5:8: output[1].path: \"eve.json\" is relative"),
        ("[[output]]\ntype = \"webhook\"\nurl = \"ftp://x\"\n", ":3:7: output[0].url: \"ftp://x\" is not a usable webhook URL: the scheme ftp:// is not supported"),
        ("[[output]]\ntype = \"webhook\"\nurl = \"https://h\"\npath = \"/x\"\n", ":4:8: output[0].path: a \"webhook\" output has no `path`"),
        ("[[output]]\ntype = \"stdout\"\n\n[[output]]\ntype = \"stdout\"\n", ":4:1: output[1]: the same output is given twice"),
        ("[privileges]\ngroup = \"adm\"\n", ":2:9: privileges.group: a group needs a user"),
    ];
    assert_refused(&cases);
}

#[test]
fn errors_carry_their_key_and_location() {
    match parse("\n[engine]\n  threads = -1\n") {
        Err(ConfigError::Invalid {
            path,
            location,
            key,
            ..
        }) => {
            assert_eq!(path, Path::new(FILE));
            assert_eq!(
                location,
                Some(Location {
                    line: 3,
                    column: 13
                })
            );
            assert_eq!(key.as_deref(), Some("engine.threads"));
        }
        other => panic!("{other:?}"),
    }
}

#[test]
fn columns_count_characters_not_bytes() {
    let message = refused("# héhé ünïcode\n[capture]\nbpf = \"ünïcode\" \nsnaplen = 1\n");
    assert!(
        message.starts_with(&format!("{FILE}:3:7: capture.bpf")),
        "{message}"
    );
    let message = refused("[detect]\nhome_net = [\"ü\", \"x\"]\n");
    assert!(
        message.starts_with(&format!("{FILE}:2:13: detect.home_net: \"ü\"")),
        "{message}"
    );
    let doc = Doc {
        text: "ab\ncdé\nf",
        path: Path::new(FILE),
    };
    assert_eq!(doc.locate(0), Location { line: 1, column: 1 });
    assert_eq!(doc.locate(3), Location { line: 2, column: 1 });
    assert_eq!(doc.locate(7), Location { line: 2, column: 4 });
    assert_eq!(doc.locate(8), Location { line: 3, column: 1 });
    assert_eq!(doc.locate(99), Location { line: 3, column: 2 });
}

#[test]
fn files_are_read_and_unreadable_ones_named() {
    let dir = std::env::temp_dir().join(format!("egress-ids-config-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let path = dir.join("egress-ids.toml");
    std::fs::write(&path, "[engine]\nthreads = 3\n").unwrap();
    assert_eq!(DaemonConfig::load(&path).unwrap().engine.threads, 3);
    std::fs::write(&path, "[engine]\nthreads = 3\nthreads = 4\n").unwrap();
    let message = DaemonConfig::load(&path).unwrap_err().to_string();
    assert!(
        message.starts_with(&format!("{}:3:1: duplicate key", path.display())),
        "{message}"
    );
    let missing = dir.join("absent.toml");
    let message = DaemonConfig::load(&missing).unwrap_err().to_string();
    assert!(
        message.starts_with(&format!(
            "{}: cannot read the configuration",
            missing.display()
        )),
        "{message}"
    );
    std::fs::write(
        &path,
        "[detect]\nsignatures = [\"/nonexistent/ioc-domains.txt\"]\n",
    )
    .unwrap();
    let message = DaemonConfig::check_file(&path).unwrap_err().to_string();
    assert_eq!(
        message,
        format!("{}: detect.signatures: /nonexistent/ioc-domains.txt: cannot read: No such file or directory (os error 2)", path.display())
    );
    let policy = dir.join("egress.policy");
    std::fs::write(&policy, "10.0.0.53 udp/53\n10.0.0.0/33\n").unwrap();
    std::fs::write(
        &path,
        format!(
            "[detect]\negress_policy = {:?}\n",
            policy.display().to_string()
        ),
    )
    .unwrap();
    let message = DaemonConfig::check_file(&path).unwrap_err().to_string();
    assert!(
        message.starts_with(&format!(
            "{}: detect.egress_policy: {}:2: \"10.0.0.0/33\" is not an address or CIDR prefix",
            path.display(),
            policy.display()
        )),
        "{message}"
    );
    std::fs::remove_dir_all(&dir).unwrap();
}

#[test]
fn sizes_and_durations_take_numbers_or_units() {
    let c = parse(
        "[capture]\nbuffer_size = 1048576\n[engine]\nflow_memcap = \"2G\"\nudp_timeout = \"2m\"\n",
    )
    .unwrap();
    assert_eq!(c.capture.buffer_size, 1 << 20);
    assert_eq!(c.engine.flow_memcap, 2 << 30);
    assert_eq!(c.engine.udp_timeout, 120);
    let c = parse("[[output]]\ntype = \"webhook\"\nurl = \"https://h.example\"\ntimeout = \"250ms\"\nbackoff = \"50ms\"\n").unwrap();
    let OutputSpec::Webhook(w) = &c.outputs[0] else {
        panic!("{c:?}")
    };
    assert_eq!(
        (w.timeout, w.backoff),
        (Duration::from_millis(250), Duration::from_millis(50))
    );
}

/// Each document is refused with a message that starts with the file and the expected text.
fn assert_refused(cases: &[(&str, &str)]) {
    for (text, expected) in cases {
        let message = refused(text);
        assert!(
            message.starts_with(&format!("{FILE}{expected}")),
            "{text:?}\n  gave {message}\n  not {expected}"
        );
    }
}

#[test]
fn a_redis_output_takes_suricatas_modes_and_its_own_keys() {
    let c = parse("[[output]]\ntype = \"redis\"\nurl = \"redis://:pw@10.0.0.9/1\"\nmode = \"stream\"\nkey = \"ci:eve\"\nstream_maxlen = 500\nstream_trim_exact = true\nbatch_size = 10\nqueue = 100\n").unwrap();
    let OutputSpec::Redis(r) = &c.outputs[0] else {
        panic!("{c:?}")
    };
    assert_eq!(r.mode, crate::output::targets::RedisMode::Xadd);
    assert_eq!(
        (r.key.as_str(), r.stream_maxlen, r.stream_trim_exact),
        ("ci:eve", 500, true)
    );
    assert_eq!((r.batch_size, r.queue, r.ca_file.as_ref()), (10, 100, None));
    assert_refused(&[
        (
            "[[output]]\ntype = \"redis\"\n",
            ":1:1: output[0].url: a \"redis\" output needs `url`",
        ),
        (
            "[[output]]\ntype = \"redis\"\nurl = \"redis://h\"\npath = \"/x\"\n",
            ":4:8: output[0].path: a \"redis\" output has no `path`",
        ),
        (
            "[[output]]\ntype = \"redis\"\nurl = \"redis://h\"\nbatch_size = 0\n",
            ":4:14: output[0].batch_size: 0 is out of range; use 1 to 10000",
        ),
        (
            "[[output]]\ntype = \"webhook\"\nurl = \"https://h\"\nkey = \"k\"\n",
            ":4:7: output[0].key: a \"webhook\" output has no `key`",
        ),
    ]);
}
