//! Suricata rules (`--rules`): ET Open rules on the rules corpus of real clients and servers
//! (`../shared/rules-corpus`: dig, openssl, curl against dnsmasq, s_server, http.server), scored
//! against Suricata 9's own alerts; the seed article's rules on the project's captures
//! (`pcaps/`, made by `pcaps/make-captures.sh`), as printed and one per line, against Suricata's
//! alerts there; refusals named with file, line, sid and reason; `pass`, thresholds and flowbits
//! on real captures; and a live sensor that reads its rules again on SIGHUP.

mod common;

use common::live::{hup_until, occurrences, wait_until, Pair};
use common::netns::root_or_skip;
use common::*;
use serde_json::Value;
use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::Duration;

fn capture(name: &str) -> PathBuf {
    root().join(format!("pcaps/{name}.pcap"))
}

/// Suricata's HOME_NET in the seed's verdicts (`../shared/rules-corpus/seed/README.md`).
const SEED_HOME_NET: &str = "192.168.0.0/16,10.0.0.0/8,172.16.0.0/12";

/// The alerts of loaded rules (not of the built-in detections, which carry `detection`).
fn rule_alerts(events: &[Value]) -> Vec<&Value> {
    events
        .iter()
        .filter(|e| e["event_type"] == "alert")
        .filter(|e| e["alert"]["metadata"]["detection"].is_null())
        .collect()
}

fn sids(events: &[Value]) -> Vec<u64> {
    let mut v: Vec<u64> = rule_alerts(events)
        .iter()
        .filter_map(|e| e["alert"]["signature_id"].as_u64())
        .collect();
    v.sort_unstable();
    v
}

/// Runs the corpus scorer on `eve_dir` against `expected`; returns its output.
fn score(expected: &Path, eve_dir: &Path) -> (String, bool) {
    let out = Command::new("python3")
        .arg(
            expected
                .join("../score_rules.py")
                .canonicalize()
                .unwrap_or_else(|_| {
                    expected
                        .parent()
                        .unwrap()
                        .parent()
                        .unwrap()
                        .join("score_rules.py")
                }),
        )
        .arg(expected)
        .arg(eve_dir)
        .output()
        .expect("run score_rules.py");
    (
        String::from_utf8_lossy(&out.stdout).into_owned(),
        out.status.success(),
    )
}

/// Writes the rule alerts of `events` as `dir/NAME.eve.json`.
fn write_eve(dir: &Path, name: &str, events: &[Value]) {
    let lines: String = rule_alerts(events)
        .iter()
        .map(|e| format!("{e}\n"))
        .collect();
    std::fs::write(dir.join(format!("{name}.eve.json")), lines).expect("write eve");
}

#[test]
fn et_open_rules_give_suricatas_alerts_on_the_rules_corpus() {
    let Some(shared) = shared() else { return };
    let corpus = shared.join("rules-corpus");
    let rules = corpus.join("rules/et-dev.rules");
    let out = scratch("rules-corpus-eve");
    let mut sample = None;
    for name in ["dns", "tls", "http"] {
        let r = replay(
            &format!("rules-corpus-{name}"),
            &[&corpus.join(format!("pcaps/{name}.pcap"))],
            &["--rules", rules.to_str().unwrap(), "--eve-types", "alert"],
        );
        assert!(
            r.stderr
                .contains("1658 rules loaded from 1 file(s), 0 refused"),
            "{}",
            r.stderr
        );
        write_eve(&out, name, &r.events);
        if name == "http" {
            sample = r
                .events
                .iter()
                .find(|e| e["alert"]["signature_id"] == 2_002_078)
                .cloned();
        }
    }
    let (printed, exact) = score(&corpus.join("expected"), &out);
    eprintln!("{printed}");
    assert!(exact, "{printed}");
    assert!(
        printed.contains("rules: 3/3 pcaps exact, sid-hits 1782/1782, extra 0"),
        "{printed}"
    );
    // The alert says what the rule says, with the flow's app-layer object.
    let a = sample.expect("sid 2002078 alerted");
    assert_eq!(
        a["alert"]["signature"],
        "ET USER_AGENTS SideStep User-Agent"
    );
    assert_eq!(a["alert"]["rev"], 32);
    assert_eq!(a["alert"]["gid"], 1);
    assert_eq!(a["alert"]["category"], "Misc activity");
    assert_eq!(a["alert"]["severity"], 3);
    assert_eq!(
        a["alert"]["metadata"]["tag"],
        serde_json::json!(["User_Agent"])
    );
    assert_eq!(
        a["alert"]["metadata"]["attack_target"],
        serde_json::json!(["Client_Endpoint"])
    );
    assert_eq!(a["app_proto"], "http");
    assert_eq!(a["http"]["http_user_agent"], "SideStep");
}

#[test]
fn the_seed_rules_give_suricatas_alerts_on_the_projects_captures() {
    let Some(shared) = shared() else { return };
    let seed = shared.join("rules-corpus/seed");
    let expected = seed.join("expected");
    let out = scratch("rules-seed-eve");
    let mut names: Vec<String> = std::fs::read_dir(&expected)
        .unwrap()
        .filter_map(|e| e.ok())
        .filter_map(|e| {
            e.file_name()
                .to_str()?
                .strip_suffix(".json")
                .map(String::from)
        })
        .collect();
    names.sort();
    assert_eq!(names.len(), 12);
    for name in &names {
        let r = replay(
            &format!("rules-seed-{name}"),
            &[&capture(name)],
            &[
                "--rules",
                seed.join("seed.rules").to_str().unwrap(),
                "--home-net",
                SEED_HOME_NET,
            ],
        );
        // Suricata refuses 9100005 as published; so does egress-ids, saying what to write.
        let refusal = r
            .stderr
            .lines()
            .find(|l| l.contains("sid 9100005"))
            .unwrap_or_else(|| panic!("no refusal of 9100005: {}", r.stderr));
        assert!(
            refusal.contains("seed.rules:8: sid 9100005: refused")
                && refusal.contains("\"tls.sni; absent;\""),
            "{refusal}"
        );
        assert!(
            r.stderr
                .contains("5 rules loaded from 1 file(s), 1 refused (content: 1)"),
            "{}",
            r.stderr
        );
        write_eve(&out, name, &r.events);
    }
    let (printed, exact) = score(&expected, &out);
    eprintln!("{printed}");
    assert!(exact, "{printed}");
    assert!(printed.contains("rules: 12/12 pcaps exact, sid-hits 7/7, extra 0"));
}

#[test]
fn the_seed_file_as_printed_loads_and_strict_mode_refuses_it() {
    let Some(shared) = shared() else { return };
    let printed = shared.join("rules-corpus/seed/npm-supply-chain.rules");
    let pcaps = [
        capture("ioc-sni"),
        capture("npm-postinstall-ioc"),
        capture("node-http-ua"),
    ];
    let refs: Vec<&Path> = pcaps.iter().map(PathBuf::as_path).collect();
    let args = [
        "--rules",
        printed.to_str().unwrap(),
        "--home-net",
        SEED_HOME_NET,
    ];
    let r = replay("rules-printed", &refs, &args);
    // Each rule spreads over lines; 9100005 starts on line 66 and is refused there.
    assert!(
        r.stderr
            .contains("4 rules loaded from 1 file(s), 1 refused (content: 1)"),
        "{}",
        r.stderr
    );
    assert!(
        r.stderr
            .contains("npm-supply-chain.rules:66: sid 9100005: refused"),
        "{}",
        r.stderr
    );
    // The same alerts as the one-per-line file (Suricata's: seed/expected).
    assert_eq!(
        sids(&r.events),
        [9_100_001, 9_100_001, 9_100_002, 9_100_003, 9_100_004]
    );
    // The built-in detections still run beside them, under their own sids.
    let builtin: Vec<u64> = r
        .events
        .iter()
        .filter(|e| !e["alert"]["metadata"]["detection"].is_null())
        .filter_map(|e| e["alert"]["signature_id"].as_u64())
        .collect();
    assert!(!builtin.is_empty() && builtin.iter().all(|s| (9_200_001..=9_200_010).contains(s)));
    // --rules-strict: the refusal is an error, exit 2.
    let strict = egress_ids(&[
        "replay",
        "--rules-strict",
        "--rules",
        printed.to_str().unwrap(),
        "--eve",
        "/dev/null",
        capture("ioc-sni").to_str().unwrap(),
    ]);
    let stderr = String::from_utf8_lossy(&strict.stderr);
    assert_eq!(strict.status.code(), Some(2), "{stderr}");
    assert!(
        stderr.contains("1 rule(s) refused and --rules-strict is set")
            && stderr.contains("npm-supply-chain.rules:66"),
        "{stderr}"
    );
}

#[test]
fn refusals_are_local_and_name_file_line_sid_and_reason() {
    let dir = scratch("rules-refusals-in");
    let rules = dir.join("local.rules");
    std::fs::write(
        &rules,
        "\
# line 1: a comment
alert tls any any -> any any (msg:\"ok\"; tls.sni; content:\"pkg-validate.net\"; sid:1000001; rev:1;)
alert tls any any -> any any (msg:\"x\"; tls.sni; content:\"a\"; isdataat:1,relative; sid:1000002;)
alert tls any any -> any any (msg:\"x\"; tls.sni; content:\"a\"; sid:1000001;)
alert dns any any -> any any (msg:\"x\"; dns.query; content:\"a\"; sid:9200002;)
alert tcp any any -> any any (msg:\"x\"; content:\"GET\"; sid:1000003;)
alert tls any any -> any any (msg:\"x\"; tls.sni; pcre:\"/(a)\\1/\"; sid:1000004;)
alert tls any any -> any any (msg:\"no end\"; sid:1000005;
alert smb any any -> any any (msg:\"x\"; sid:1000006;)
",
    )
    .unwrap();
    let r = replay(
        "rules-refusals",
        &[&capture("ioc-sni")],
        &["--rules", rules.to_str().unwrap()],
    );
    let path = rules.display().to_string();
    for (line, sid, reason) in [
        (3, Some(1000002), "unknown keyword \"isdataat\""),
        (4, Some(1000001), "sid 1000001 is defined twice: first at"),
        (5, Some(9200002), "the built-in detection ioc-domain"),
        (6, Some(1000003), "packet payload"),
        (7, Some(1000004), "back-reference"),
        (8, None, "never closed"),
        (9, Some(1000006), "protocol \"smb\""),
    ] {
        let prefix = match sid {
            Some(s) => format!("{path}:{line}: sid {s}: refused: "),
            None => format!("{path}:{line}: refused: "),
        };
        let found = r.stderr.lines().find(|l| l.contains(&prefix));
        assert!(
            found.is_some_and(|l| l.contains(reason)),
            "{prefix}...{reason}: {}",
            r.stderr
        );
    }
    assert!(
        r.stderr.contains(&format!("{path}:2")),
        "the duplicate names the first place: {}",
        r.stderr
    );
    assert!(
        r.stderr
            .contains("1 rules loaded from 1 file(s), 7 refused"),
        "{}",
        r.stderr
    );
    // The rule that loaded still works.
    assert_eq!(sids(&r.events), [1_000_001], "ioc-sni: one TLS flow");
}

#[test]
fn pass_thresholds_and_flowbits_act_on_real_captures() {
    let dir = scratch("rules-actions");
    let write = |name: &str, text: &str| -> PathBuf {
        let p = dir.join(name);
        std::fs::write(&p, text).unwrap();
        p
    };
    // npm-postinstall-ioc: node resolves npm-health-check.io (A and AAAA on one socket: one
    // flow, two transactions), then calls it over TLS.
    let npm = capture("npm-postinstall-ioc");
    let builtin = |events: &[Value]| -> Vec<String> {
        alert_rows(events)
            .into_iter()
            .filter(|r| !r.starts_with('?'))
            .collect()
    };
    let plain = replay("rules-actions-plain", &[&npm], &[]);
    assert!(builtin(&plain.events).iter().any(|r| r
        .starts_with("ioc-domain\tnpm-health-check.io\t10.0.0.5\t203.0.113.21")
        || r.starts_with("ioc-domain\tnpm-health-check.io")));
    // pass: the TLS flow raises nothing any more (the DNS alerts stay: another flow).
    let pass = write(
        "pass.rules",
        "pass tls any any -> any any (tls.sni; content:\"npm-health-check.io\"; sid:1000100;)\n",
    );
    let passed = replay(
        "rules-actions-pass",
        &[&npm],
        &["--rules", pass.to_str().unwrap()],
    );
    let tls_alerts = |events: &[Value]| {
        events
            .iter()
            .filter(|e| e["event_type"] == "alert" && e["dest_port"] == 443)
            .count()
    };
    assert!(tls_alerts(&plain.events) > 0);
    assert_eq!(
        tls_alerts(&passed.events),
        0,
        "{:#?}",
        builtin(&passed.events)
    );
    let dns_alerts = |events: &[Value]| {
        events
            .iter()
            .filter(|e| e["event_type"] == "alert" && e["dest_port"] == 53)
            .count()
    };
    assert_eq!(dns_alerts(&passed.events), dns_alerts(&plain.events));
    // flowbits: the first query of the flow sets the bit; the rule that needs it unset fires
    // once, not for the AAAA query after it; another flow (TLS) never sees the bit.
    let bits = write(
        "bits.rules",
        "\
alert dns any any -> any any (msg:\"first query\"; dns.query; content:\"npm-health-check.io\"; flowbits:isnotset,seen; flowbits:set,seen; sid:1000200;)
alert dns any any -> any any (msg:\"every query\"; dns.query; content:\"npm-health-check.io\"; sid:1000201;)
alert dns any any -> any any (msg:\"silent\"; dns.query; content:\"npm-health-check\"; flowbits:set,quiet; flowbits:noalert; sid:1000202;)
alert tls any any -> any any (msg:\"bit of another flow\"; tls.sni; content:\"npm\"; flowbits:isset,seen; sid:1000203;)
",
    );
    let r = replay(
        "rules-actions-bits",
        &[&npm],
        &["--rules", bits.to_str().unwrap()],
    );
    let every = sids(&r.events).iter().filter(|s| **s == 1_000_201).count();
    assert!(every >= 2, "{:?}", sids(&r.events));
    assert_eq!(
        sids(&r.events).iter().filter(|s| **s == 1_000_200).count(),
        1
    );
    assert!(!sids(&r.events).contains(&1_000_202));
    assert!(!sids(&r.events).contains(&1_000_203));
    // threshold and detection_filter, counted in packet time across flows.
    let Some(shared) = shared() else { return };
    let dns = shared.join("rules-corpus/pcaps/dns.pcap");
    let counted = write(
        "counted.rules",
        "\
alert dns any any -> any any (msg:\"all\"; dns.query; content:\".\"; sid:1000300;)
alert dns any any -> any any (msg:\"limit\"; dns.query; content:\".\"; threshold:type limit, track by_rule, count 3, seconds 86400; sid:1000301;)
alert dns any any -> any any (msg:\"after 5\"; dns.query; content:\".\"; detection_filter:track by_rule, count 5, seconds 86400; sid:1000302;)
alert dns any any -> any any (msg:\"one per client\"; dns.query; content:\".\"; threshold:type limit, track by_src, count 1, seconds 86400; sid:1000303;)
",
    );
    let r = replay(
        "rules-actions-counted",
        &[&dns],
        &["--rules", counted.to_str().unwrap(), "--eve-types", "alert"],
    );
    let n = |sid: u64| sids(&r.events).iter().filter(|s| **s == sid).count();
    let all = n(1_000_300);
    let clients: std::collections::HashSet<&str> = rule_alerts(&r.events)
        .iter()
        .filter(|e| e["alert"]["signature_id"] == 1_000_300)
        .filter_map(|e| e["src_ip"].as_str())
        .collect();
    eprintln!("all {all}, clients {}", clients.len());
    assert!(all > 100, "{all}");
    assert_eq!(n(1_000_301), 3);
    assert_eq!(n(1_000_302), all - 5);
    assert_eq!(n(1_000_303), clients.len());
    assert!(
        r.stderr.contains(&format!(
            "rules {} ({} kept back by thresholds)",
            all + 3 + (all - 5) + clients.len(),
            (all - 3) + 5 + (all - clients.len())
        )),
        "{}",
        r.stderr
    );
}

#[test]
fn a_live_sensor_reads_its_rules_again_on_sighup_and_keeps_them_when_the_new_ones_fail() {
    if !root_or_skip("the live rules reload") {
        return;
    }
    let dir = scratch("rules-live");
    let rules = dir.join("live.rules");
    let tls_rule = "alert tls any any -> any any (msg:\"C2 SNI\"; tls.sni; content:\"pkg-validate.net\"; sid:1000401;)\n";
    std::fs::write(&rules, tls_rule).unwrap();
    let pair = Pair::new("rules-live");
    let mut sensor = pair.start(
        &dir,
        &[
            "-i",
            "eids-rx",
            "--warmup",
            "0",
            "--rules-strict",
            "--rules",
            rules.to_str().unwrap(),
        ],
    );
    let eve = dir.join("live.json");
    let stderr = dir.join("live.stderr");
    assert_eq!(
        occurrences(&stderr, "rules: 1 rules loaded from 1 file(s), 0 refused"),
        1
    );
    // 1. The TLS rule (ioc-sni: one TLS flow).
    pair.send(&capture("ioc-sni"));
    assert!(
        wait_until(Duration::from_secs(10), || occurrences(
            &eve,
            "\"signature_id\":1000401"
        ) == 1),
        "the alert of 1000401"
    );
    // 2. A DNS rule instead; SIGHUP.
    std::fs::write(
        &rules,
        "alert dns any any -> any any (msg:\"C2 query\"; dns.query; content:\"npm-health-check.io\"; sid:1000402;)\n",
    )
    .unwrap();
    hup_until(&mut sensor, &dir, "signatures reloaded", 1);
    assert_eq!(
        occurrences(&stderr, "rules: 1 rules loaded from 1 file(s), 0 refused"),
        2
    );
    pair.send(&capture("npm-postinstall-ioc"));
    pair.send(&capture("ioc-sni"));
    // 3. A refused rule under --rules-strict: the reload is refused, the DNS rule stays.
    std::fs::write(
        &rules,
        "alert dns any any -> any any (msg:\"bad\"; dns.query; isdataat:1; sid:1000403;)\n",
    )
    .unwrap();
    hup_until(&mut sensor, &dir, "reload refused", 1);
    pair.send(&capture("npm-postinstall-ioc"));
    let live = pair.stop(&dir, &mut sensor);
    let got = sids(&live.events);
    let n = |sid: u64| got.iter().filter(|s| **s == sid).count();
    assert_eq!(n(1_000_401), 1, "only before the reload: {got:?}");
    let per_send = n(1_000_402) / 2;
    assert!(per_send >= 2, "{got:?}");
    assert_eq!(
        n(1_000_402),
        2 * per_send,
        "both sends after the reload: {got:?}"
    );
    assert_eq!(n(1_000_403), 0);
    assert!(std::fs::read_to_string(&stderr)
        .unwrap_or_default()
        .contains("live.rules:1: sid 1000403: refused: unknown keyword \"isdataat\""),);
}
