//! `egress-policy` (`--egress-policy FILE`, `detect.egress_policy`) on committed captures of real
//! clients made by `pcaps/make-captures.sh` (`node-http-ua`: node-fetch, axios and fetch over
//! plain HTTP; `dns-over-tls`: dig +tls; `ipv6-ioc`: curl over IPv6; `non-registry-tls` and
//! `tls-port-8443`: curl over HTTPS), replayed with a policy that allows some of their flows and
//! not others: exactly the others alert, once per flow, with `ip:port/proto` and the flow's first
//! app-layer object. A bad policy file stops replay and `config --check` with `file:line: reason`
//! and exit code 2; a live sensor reads the file again on SIGHUP and keeps the old policy when
//! the new one is bad.

mod common;

use common::live::{hup_until, occurrences, wait_until, Pair};
use common::netns::root_or_skip;
use common::*;
use std::path::{Path, PathBuf};
use std::time::Duration;

/// The seed's allowlist, shaped for the capture plan of `pcaps/make-captures.sh`.
const POLICY: &str = "\
# DNS to the resolver only (nft: ip daddr 198.51.100.53 udp dport 53 accept; tcp dport 53)
198.51.100.53 udp/53 tcp/53
# the telemetry host, plain HTTP only
203.0.113.31/32 tcp/80
# IPv6: the whole documentation prefix, HTTPS and DNS
2001:db8::/32 tcp/443 udp/53
";

fn capture(name: &str) -> PathBuf {
    root().join(format!("pcaps/{name}.pcap"))
}

fn write_policy(dir: &Path, text: &str) -> PathBuf {
    let path = dir.join("egress.policy");
    std::fs::write(&path, text).expect("write policy");
    path
}

/// The `egress-policy` rows of a run's alerts.
fn policy_rows(events: &[serde_json::Value]) -> Vec<String> {
    alert_rows(events)
        .into_iter()
        .filter(|r| r.starts_with("egress-policy\t"))
        .collect()
}

#[test]
fn flows_outside_the_policy_alert_and_the_others_do_not() {
    let dir = scratch("egress-policy-files");
    let policy = write_policy(&dir, POLICY);
    let pcaps = [
        capture("node-http-ua"),
        capture("dns-over-tls"),
        capture("ipv6-ioc"),
    ];
    let refs: Vec<&Path> = pcaps.iter().map(PathBuf::as_path).collect();
    let without = replay("egress-policy-none", &refs, &[]);
    assert!(policy_rows(&without.events).is_empty());
    let with = replay(
        "egress-policy-replay",
        &refs,
        &["--egress-policy", policy.to_str().unwrap()],
    );
    // node-http-ua: three flows to 203.0.113.31:80 (allowed) and one to registry.npmjs.org
    // (203.0.113.10:80, not); its DNS to the resolver over UDP is allowed. dns-over-tls: TCP 853
    // to the resolver is not. ipv6-ioc: DNS and HTTPS inside 2001:db8::/32, allowed.
    assert_eq!(
        policy_rows(&with.events),
        vec![
            "egress-policy\t198.51.100.53:853/tcp\t10.77.0.2\t198.51.100.53\t853".to_string(),
            "egress-policy\t203.0.113.10:80/tcp\t10.77.0.2\t203.0.113.10\t80".to_string(),
        ]
    );
    // Every other alert is as without the policy.
    let others = |events: &[serde_json::Value]| -> Vec<String> {
        alert_rows(events)
            .into_iter()
            .filter(|r| !r.starts_with("egress-policy\t"))
            .collect()
    };
    assert_eq!(others(&with.events), others(&without.events));
    // The alert carries the flow's first app-layer object, as ioc-ip and direct-ip do.
    let alerts = with.of_type("alert");
    let registry = alerts
        .iter()
        .find(|a| a["alert"]["metadata"]["detection"][0] == "egress-policy" && a["dest_port"] == 80)
        .expect("the registry flow's alert");
    assert_eq!(registry["alert"]["signature_id"], 9_200_010, "{registry}");
    assert_eq!(registry["app_proto"], "http", "{registry}");
    assert_eq!(
        registry["http"]["hostname"], "registry.npmjs.org",
        "{registry}"
    );
    let dot = alerts
        .iter()
        .find(|a| {
            a["alert"]["metadata"]["detection"][0] == "egress-policy" && a["dest_port"] == 853
        })
        .expect("the DoT flow's alert");
    assert_eq!(dot["app_proto"], "tls", "{dot}");
    assert!(dot["tls"]["ja4"].is_string(), "{dot}");
    assert!(
        with.stderr.contains("egress-policy 2"),
        "the summary counts them: {}",
        with.stderr
    );

    // An empty policy allows nothing: every egress flow alerts, DNS and IPv6 included.
    let empty = write_policy(&dir, "# no egress at all\n");
    let none = replay(
        "egress-policy-empty",
        &refs,
        &["--egress-policy", empty.to_str().unwrap()],
    );
    let flows = without
        .of_type("flow")
        .iter()
        .filter(|f| {
            let dest = f["dest_ip"].as_str().unwrap_or("");
            !dest.starts_with("10.") && !dest.starts_with("fd00")
        })
        .count();
    assert!(flows >= 8, "{flows} egress flows");
    assert_eq!(policy_rows(&none.events).len(), flows);
}

#[test]
fn a_bad_policy_is_refused_with_file_line_and_exit_code_2() {
    let dir = scratch("egress-policy-bad");
    let bad = write_policy(
        &dir,
        "# allowed\n198.51.100.53 udp/53\n203.0.113.10 tcp/https\n",
    );
    let out = egress_ids(&[
        "replay",
        "--eve",
        dir.join("eve.json").to_str().unwrap(),
        "--egress-policy",
        bad.to_str().unwrap(),
        capture("node-http-ua").to_str().unwrap(),
    ]);
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(2), "{stderr}");
    assert_eq!(
        stderr.trim_end(),
        format!(
            "egress-ids: error: {}:3: \"https\" in \"tcp/https\" is not a port (1 to 65535): \"203.0.113.10 tcp/https\"",
            bad.display()
        )
    );
    let missing = dir.join("absent.policy");
    let out = egress_ids(&[
        "replay",
        "--egress-policy",
        missing.to_str().unwrap(),
        capture("node-http-ua").to_str().unwrap(),
    ]);
    assert_eq!(out.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&out.stderr).contains(&format!(
        "{}: cannot read: No such file or directory",
        missing.display()
    )));
    // The daemon's key, checked by config --check.
    let config = dir.join("egress-ids.toml");
    std::fs::write(
        &config,
        format!(
            "[detect]\negress_policy = {:?}\n",
            bad.display().to_string()
        ),
    )
    .unwrap();
    let out = egress_ids(&["config", "--check", config.to_str().unwrap()]);
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(2), "{stderr}");
    assert!(
        stderr.contains(&format!(
            "{}: detect.egress_policy: {}:3: \"https\" in \"tcp/https\" is not a port",
            config.display(),
            bad.display()
        )),
        "{stderr}"
    );
}

#[test]
fn a_live_sensor_reloads_the_policy_on_sighup_and_keeps_it_when_the_new_one_is_bad() {
    if !root_or_skip("the live egress-policy reload") {
        return;
    }
    let dir = scratch("egress-policy-live");
    let policy = write_policy(&dir, "198.51.100.53 udp/53\n");
    let pair = Pair::new("egress-policy");
    let mut sensor = pair.start(
        &dir,
        &[
            "-i",
            "eids-rx",
            "--warmup",
            "0",
            "--egress-policy",
            policy.to_str().unwrap(),
        ],
    );
    let eve = dir.join("live.json");
    // 1. Only DNS allowed: the four HTTP flows of node-http-ua alert.
    pair.send(&capture("node-http-ua"));
    assert!(
        wait_until(Duration::from_secs(10), || occurrences(
            &eve,
            "\"egress-policy\""
        ) == 4),
        "four egress-policy alerts after the first send"
    );
    // 2. Any TCP to the documentation prefix is now allowed; SIGHUP. non-registry-tls's two
    // HTTPS flows (203.0.113.30 and .11, port 443) would have alerted under the first policy.
    std::fs::write(&policy, "198.51.100.53 udp/53\n203.0.113.0/24 tcp\n").unwrap();
    hup_until(&mut sensor, &dir, "signatures reloaded", 1);
    pair.send(&capture("non-registry-tls"));
    // 3. A bad file: refused, the second policy stays: TLS to 203.0.113.33:8443 passes, DoT to
    // the resolver (TCP 853) does not.
    std::fs::write(&policy, "203.0.113.0/24 tcp/80\n203.0.113.0/33\n").unwrap();
    hup_until(&mut sensor, &dir, "reload refused", 1);
    pair.send(&capture("tls-port-8443"));
    pair.send(&capture("dns-over-tls"));
    let live = pair.stop(&dir, &mut sensor);
    let rows = policy_rows(&live.events);
    let indicators: Vec<&str> = rows.iter().filter_map(|r| r.split('\t').nth(1)).collect();
    assert_eq!(
        indicators,
        [
            "198.51.100.53:853/tcp",
            "203.0.113.10:80/tcp",
            "203.0.113.31:80/tcp",
            "203.0.113.31:80/tcp",
            "203.0.113.31:80/tcp",
        ],
        "{rows:#?}"
    );
    // Every send was analysed.
    let all = alert_rows(&live.events);
    for want in [
        "non-registry-tls\tgithub.com.evil-cdn.io\t",
        "non-registry-tls\tbuilds.example-ci.net\t",
        "dns-bypass\t198.51.100.53\t",
    ] {
        assert!(all.iter().any(|r| r.starts_with(want)), "{want}: {all:#?}");
    }
    assert!(
        live.stderr.contains(&format!(
            "{}:2: \"203.0.113.0/33\" is not an address or CIDR prefix",
            policy.display()
        )),
        "{}",
        live.stderr
    );
}
