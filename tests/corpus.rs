//! Third-party captures (../shared/corpus): every pcap replays without error, every EVE line is
//! valid, and every TLS, QUIC, DNS and HTTP fact recorded for it (tshark's, suricata-verify's,
//! FoxIO's) is found in our EVE output.

mod common;

use common::*;
use serde_json::Value;
use std::collections::BTreeMap;
use std::path::PathBuf;

/// Facts we know we cannot match, with the reason (kept empty unless a fact is wrong or out of scope).
const KNOWN_UNMATCHED: &[(&str, &str, &str)] = &[];

#[derive(Default)]
struct Tally {
    /// kind -> (matched, total)
    per_kind: BTreeMap<String, (u32, u32)>,
    unmatched: Vec<String>,
}

impl Tally {
    /// Counts one fact: `got` is the event's value (`Null` when the event lacks the key), or
    /// `None` when no event matched the fact's flow at all.
    fn check(&mut self, pcap: &str, kind: &str, want: &Value, got: Option<&Value>, ctx: &str) {
        let entry = self.per_kind.entry(kind.to_owned()).or_default();
        entry.1 += 1;
        let ok = got.is_some_and(|g| values_match(want, g));
        if ok {
            entry.0 += 1;
        } else if !KNOWN_UNMATCHED
            .iter()
            .any(|(p, k, _)| *p == pcap && *k == kind)
        {
            self.unmatched.push(format!(
                "{pcap}: {kind} {ctx}: want {want}, got {}",
                got.map_or("nothing".into(), |g| g.to_string())
            ));
        }
    }
}

/// Compares a fact with an EVE value: objects by the fact's keys, arrays element-wise, IPs canonically.
fn values_match(want: &Value, got: &Value) -> bool {
    match (want, got) {
        (Value::Object(w), Value::Object(g)) => w.iter().all(|(k, wv)| match k.as_str() {
            // Length of the logged name, in bytes.
            "rrname_len" => g["rrname"].as_str().map(|n| n.len() as u64) == wv.as_u64(),
            _ => g.get(k).is_some_and(|gv| values_match(wv, gv)),
        }),
        (Value::Array(w), Value::Array(g)) => {
            w.len() == g.len() && w.iter().zip(g).all(|(a, b)| values_match(a, b))
        }
        (Value::String(w), Value::String(g)) => w == g || canon_ip(w) == canon_ip(g),
        _ => want == got,
    }
}

fn same_tuple(fact: &Value, ev: &Value) -> bool {
    canon_ip(fact["src_ip"].as_str().unwrap_or("")) == canon_ip(ev["src_ip"].as_str().unwrap_or(""))
        && canon_ip(fact["dest_ip"].as_str().unwrap_or(""))
            == canon_ip(ev["dest_ip"].as_str().unwrap_or(""))
        && fact["src_port"] == ev["src_port"]
        && fact["dest_port"] == ev["dest_port"]
}

/// The candidate event that agrees with the most of `fields` (ties: the first).
fn best<'a>(candidates: &[&'a Value], key: &str, fields: &[(&str, Value)]) -> Option<&'a Value> {
    candidates
        .iter()
        .max_by_key(|ev| {
            fields
                .iter()
                .filter(|(p, want)| lookup(&ev[key], p).is_some_and(|g| values_match(want, g)))
                .count()
        })
        .copied()
}

/// Follows a dotted path ("ja3.hash") into a value.
fn lookup<'a>(v: &'a Value, path: &str) -> Option<&'a Value> {
    path.split('.').try_fold(v, |v, k| v.get(k))
}

fn check_tls(t: &mut Tally, pcap: &str, facts: &[Value], events: &[Value]) {
    let tls: Vec<&Value> = events.iter().filter(|e| e["event_type"] == "tls").collect();
    for f in facts {
        let ft = &f["tls"];
        let mut fields: Vec<(&str, Value)> = vec![("sni", ft["sni"].clone())];
        if !ft["ja3"].is_null() {
            fields.push(("ja3.hash", ft["ja3"]["hash"].clone()));
            fields.push(("ja3.string", ft["ja3"]["string"].clone()));
        }
        if !ft["ja4"].is_null() {
            fields.push(("ja4", ft["ja4"].clone()));
        }
        if !ft["client_alpns"].is_null() {
            fields.push(("client_alpns", ft["client_alpns"].clone()));
        }
        let candidates: Vec<&Value> = tls.iter().copied().filter(|e| same_tuple(f, e)).collect();
        let ev = best(&candidates, "tls", &fields);
        let ctx = format!("frame {}", f["frame"]);
        for (path, want) in &fields {
            let got = ev.map(|e| lookup(&e["tls"], path).unwrap_or(&Value::Null));
            t.check(pcap, &format!("tls.{path}"), want, got, &ctx);
        }
    }
}

fn check_ja4_repo(t: &mut Tally, pcap: &str, records: &[Value], events: &[Value]) {
    for r in records {
        let kind = if r["proto"] == "UDP" { "quic" } else { "tls" };
        let got = events
            .iter()
            .filter(|e| e["event_type"] == kind && same_tuple(r, e))
            .map(|e| &e[kind]["ja4"])
            .find(|j| **j == r["ja4"]);
        t.check(
            pcap,
            &format!("{kind}.ja4 (FoxIO)"),
            &r["ja4"],
            got,
            &format!("{}:{}", r["src_ip"], r["src_port"]),
        );
    }
}

/// A QUIC version as tshark records it (`0x00000001`) in Suricata's text (`1`, `v2`).
fn suricata_quic_version(fact: &Value) -> Value {
    let hex = fact.as_str().unwrap_or_default().trim_start_matches("0x");
    match u32::from_str_radix(hex, 16) {
        Ok(0x6b33_43cf) => Value::from("v2"),
        Ok(v) => Value::from(format!("{v:x}")),
        Err(_) => fact.clone(),
    }
}

fn check_quic(t: &mut Tally, pcap: &str, facts: &[Value], gquic: &[Value], events: &[Value]) {
    let quic: Vec<&Value> = events
        .iter()
        .filter(|e| e["event_type"] == "quic")
        .collect();
    for f in facts {
        let fq = &f["quic"];
        let mut fields: Vec<(&str, Value)> = vec![
            ("sni", fq["sni"].clone()),
            ("version", suricata_quic_version(&fq["version"])),
        ];
        if !fq["ja3"].is_null() {
            fields.push(("ja3.hash", fq["ja3"]["hash"].clone()));
            fields.push(("ja3.string", fq["ja3"]["string"].clone()));
        }
        if !fq["ja4"].is_null() {
            fields.push(("ja4", fq["ja4"].clone()));
        }
        let candidates: Vec<&Value> = quic.iter().copied().filter(|e| same_tuple(f, e)).collect();
        let ev = best(&candidates, "quic", &fields);
        let ctx = format!("frame {}", f["frame"]);
        for (path, want) in &fields {
            let got = ev.map(|e| lookup(&e["quic"], path).unwrap_or(&Value::Null));
            t.check(pcap, &format!("quic.{path}"), want, got, &ctx);
        }
        // Suricata lists the ALPN values in the `alpn` extension.
        if let Some(alpns) = fq["client_alpns"].as_array() {
            let got = ev.map(|e| {
                array(&e["quic"]["extensions"])
                    .iter()
                    .find(|x| x["type"] == 16)
                    .map_or(Value::Null, |x| x["values"].clone())
            });
            t.check(
                pcap,
                "quic.extensions alpn",
                &Value::from(alpns.clone()),
                got.as_ref(),
                &ctx,
            );
        }
    }
    for f in gquic {
        let fg = &f["gquic"];
        let fields = [
            ("sni", fg["sni"].clone()),
            ("version", fg["version"].clone()),
            ("ua", fg["user_agent_id"].clone()),
        ];
        let candidates: Vec<&Value> = quic.iter().copied().filter(|e| same_tuple(f, e)).collect();
        let ev = best(&candidates, "quic", &fields);
        for (path, want) in &fields {
            let got = ev.map(|e| lookup(&e["quic"], path).unwrap_or(&Value::Null));
            t.check(
                pcap,
                &format!("gquic.{path}"),
                want,
                got,
                &format!("frame {}", f["frame"]),
            );
        }
    }
}

fn check_dns(t: &mut Tally, pcap: &str, facts: &[Value], events: &[Value]) {
    let dns: Vec<&Value> = events.iter().filter(|e| e["event_type"] == "dns").collect();
    for f in facts {
        let fd = &f["dns"];
        let candidates: Vec<&Value> = dns
            .iter()
            .copied()
            .filter(|e| {
                same_tuple(f, e) && e["dns"]["id"] == fd["id"] && e["dns"]["type"] == fd["type"]
            })
            .collect();
        let (queries, listed) = expected_queries(fd);
        let mut fields: Vec<(&str, Value)> =
            vec![("type", fd["type"].clone()), ("queries", queries)];
        for k in ["rcode", "answers", "authorities"] {
            if !fd[k].is_null() {
                fields.push((k, fd[k].clone()));
            }
        }
        let ev = best(&candidates, "dns", &fields);
        let ctx = format!("frame {} id {}", f["frame"], fd["id"]);
        for (path, want) in &fields {
            let mut got = ev.map(|e| lookup(&e["dns"], path).unwrap_or(&Value::Null).clone());
            if let (Some(n), "queries", Some(Value::Array(a))) = (listed, *path, got.as_mut()) {
                a.truncate(n);
            }
            t.check(pcap, &format!("dns.{path}"), want, got.as_ref(), &ctx);
        }
    }
}

/// The queries a DNS fact expects, and how many of ours to compare when tshark listed only the
/// first few. tshark writes a name it cannot show as `rrname: null` with a placeholder; Suricata
/// (suricata-verify dns-truncated-rname) logs such a name cut to 1025 bytes with
/// `rrname_truncated: true`, which is what we expect instead.
fn expected_queries(fd: &Value) -> (Value, Option<usize>) {
    let queries: Vec<Value> = array(&fd["queries"])
        .iter()
        .map(|q| {
            if q["tshark_placeholder"].is_null() {
                q.clone()
            } else {
                serde_json::json!({"rrtype": q["rrtype"], "rrname_truncated": true, "rrname_len": 1025})
            }
        })
        .collect();
    let listed = fd["queries_listed"].is_string().then_some(queries.len());
    (Value::Array(queries), listed)
}

fn check_http(t: &mut Tally, pcap: &str, facts: &[Value], events: &[Value]) {
    let http: Vec<&Value> = events
        .iter()
        .filter(|e| e["event_type"] == "http")
        .collect();
    for f in facts {
        let fh = &f["http"];
        let mut fields: Vec<(&str, Value)> = Vec::new();
        for k in [
            "http_method",
            "url",
            "protocol",
            "hostname",
            "http_port",
            "http_user_agent",
            "status",
        ] {
            if !fh[k].is_null() {
                fields.push((k, fh[k].clone()));
            }
        }
        let candidates: Vec<&Value> = http.iter().copied().filter(|e| same_tuple(f, e)).collect();
        let ev = best(&candidates, "http", &fields);
        let ctx = format!("frame {}", f["frame"]);
        for (path, want) in &fields {
            let got = ev.map(|e| lookup(&e["http"], path).unwrap_or(&Value::Null));
            t.check(pcap, &format!("http.{path}"), want, got, &ctx);
        }
    }
}

fn array(v: &Value) -> &[Value] {
    v.as_array().map(|a| a.as_slice()).unwrap_or(&[])
}

#[test]
fn every_corpus_capture_replays_and_its_tls_quic_dns_http_facts_match() {
    let Some(shared) = shared() else { return };
    let corpus = shared.join("corpus");
    let mut pcaps: Vec<PathBuf> = std::fs::read_dir(corpus.join("pcaps"))
        .expect("corpus pcaps")
        .filter_map(|e| e.ok().map(|e| e.path()))
        .collect();
    pcaps.sort();
    assert_eq!(pcaps.len(), 60, "the corpus holds 60 captures");
    let mut tally = Tally::default();
    for pcap in &pcaps {
        let name = pcap.file_stem().unwrap().to_string_lossy().into_owned();
        let expected: Value = serde_json::from_str(
            &std::fs::read_to_string(corpus.join("expected").join(format!("{name}.json")))
                .expect("expected file"),
        )
        .expect("expected JSON");
        let r = replay(&format!("corpus-{name}"), &[pcap], &[]);
        let facts = &expected["facts"];
        check_tls(&mut tally, &name, array(&facts["tls"]), &r.events);
        check_quic(
            &mut tally,
            &name,
            array(&facts["quic"]),
            array(&facts["gquic"]),
            &r.events,
        );
        check_dns(&mut tally, &name, array(&facts["dns"]), &r.events);
        check_http(&mut tally, &name, array(&facts["http"]), &r.events);
        check_ja4_repo(
            &mut tally,
            &name,
            array(&expected["ja4_repo_expected"]["snapshot_records"]),
            &r.events,
        );
    }
    eprintln!("corpus facts matched/total per kind:");
    for (kind, (m, n)) in &tally.per_kind {
        eprintln!("  {kind:<24} {m}/{n}");
    }
    // The count for QUIC: every QUIC SNI and JA4 fact (tshark's, suricata-verify's).
    let (m, n) = ["quic.sni", "quic.ja4"]
        .iter()
        .map(|k| tally.per_kind.get(*k).copied().unwrap_or_default())
        .fold((0, 0), |(m, n), (a, b)| (m + a, n + b));
    eprintln!("  quic SNI + JA4 facts      {m}/{n}");
    for (p, k, why) in KNOWN_UNMATCHED {
        eprintln!("  known unmatched: {p} {k}: {why}");
    }
    assert!(
        tally.unmatched.is_empty(),
        "{} unmatched corpus facts:\n{}",
        tally.unmatched.len(),
        tally.unmatched.join("\n")
    );
}

/// Key prefixes of suricata-verify checks that egress-ids does not log, with the reason.
const NOT_LOGGED: &[(&str, &str)] = &[
    ("alert", "alerts of the suricata-verify test's own rules"),
    ("tcp", "per-flow TCP flag logging is not part of EVE here"),
    (
        "pcap_cnt",
        "Suricata numbers app-layer events by the packet that ACKs the data",
    ),
    ("tx_id", "Suricata's per-flow transaction ids"),
    ("packet", "packet/payload logging is not done"),
    ("payload", "packet/payload logging is not done"),
    ("pkt_src", "packet/payload logging is not done"),
    (
        "tls.subject",
        "server certificates are not parsed (only the ClientHello)",
    ),
    (
        "tls.issuerdn",
        "server certificates are not parsed (only the ClientHello)",
    ),
    (
        "tls.fingerprint",
        "server certificates are not parsed (only the ClientHello)",
    ),
    (
        "tls.notafter",
        "server certificates are not parsed (only the ClientHello)",
    ),
    (
        "tls.notbefore",
        "server certificates are not parsed (only the ClientHello)",
    ),
    (
        "tls.serial",
        "server certificates are not parsed (only the ClientHello)",
    ),
    (
        "tls.client_handshake",
        "Suricata 8's optional client_handshake object is not logged",
    ),
    ("http.length", "response body lengths are not logged"),
    (
        "flow.",
        "the test's flow counters depend on Suricata's flow engine",
    ),
];

/// Checks that hold for Suricata's flow engine but not for ours, with the reason.
const ENGINE_DIFFERENCES: &[(&str, &str)] = &[
    ("eve-flow-vlan-02", "ICMP-only capture: egress-ids tracks TCP and UDP flows, not ICMP"),
    (
        "tcp-fastopen-10-syn-data-ignore",
        "SYN-ACKs with two different ISNs: Suricata splits the connection into 2 flows (and 2 tls events); egress-ids keeps 1 flow with its 1 ClientHello (the later copies are retransmissions of the same bytes)",
    ),
];

/// Follows a suricata-verify key path (`dns.answers[0].rdata`, `x.__len`) into an event.
fn sv_lookup<'a>(ev: &'a Value, path: &str) -> Option<Value> {
    let mut cur: &'a Value = ev;
    for part in path.split('.') {
        if part == "__len" {
            return Some(Value::from(
                cur.as_str()
                    .map(str::len)
                    .or(cur.as_array().map(Vec::len))?,
            ));
        }
        let (name, index) = match part.split_once('[') {
            Some((n, rest)) => (n, rest.trim_end_matches(']').parse::<usize>().ok()),
            None => (part, None),
        };
        cur = cur.get(name)?;
        if let Some(i) = index {
            cur = cur.get(i)?;
        }
    }
    Some(cur.clone())
}

#[test]
fn suricata_verify_checks_on_logged_fields_hold() {
    let Some(shared) = shared() else { return };
    let corpus = shared.join("corpus");
    let (mut passed, mut evaluated, mut skipped) = (0, 0, BTreeMap::<&str, u32>::new());
    let mut failures = Vec::new();
    for entry in std::fs::read_dir(corpus.join("expected")).expect("expected dir") {
        let path = entry.expect("entry").path();
        let expected: Value =
            serde_json::from_str(&std::fs::read_to_string(&path).unwrap()).unwrap();
        let name = expected["name"].as_str().unwrap_or_default().to_owned();
        let checks = array(&expected["suricata_verify"]["eve_checks"]);
        if checks.is_empty() {
            continue;
        }
        let pcap = corpus.join(expected["pcap"].as_str().unwrap_or_default());
        let r = replay(&format!("sv-{name}"), &[&pcap], &[]);
        for check in checks {
            let filter = &check["filter"];
            let Some(matches) = filter["match"].as_object() else {
                continue;
            };
            let reason = matches.keys().find_map(|k| {
                NOT_LOGGED
                    .iter()
                    .find(|(p, _)| k == p || k.starts_with(&format!("{p}.")) || k.starts_with(p))
                    .map(|(_, why)| *why)
            });
            let event_type = matches
                .get("event_type")
                .and_then(Value::as_str)
                .unwrap_or("");
            let reason = reason.or(
                (!["tls", "quic", "dns", "http", "flow"].contains(&event_type))
                    .then_some("event type not logged"),
            );
            let engine = ENGINE_DIFFERENCES.iter().find(|(p, _)| *p == name);
            let reason = reason.or(engine.map(|(_, why)| *why));
            if let Some(why) = reason {
                *skipped.entry(why).or_default() += 1;
                continue;
            }
            evaluated += 1;
            let count = r
                .events
                .iter()
                .filter(|ev| {
                    matches.iter().all(|(k, want)| {
                        sv_lookup(ev, k).is_some_and(|got| values_match(want, &got))
                    })
                })
                .count();
            if Some(count as u64) == filter["count"].as_u64() {
                passed += 1;
            } else {
                failures.push(format!(
                    "{name}: {count} events match (want {}): {}",
                    filter["count"],
                    Value::Object(matches.clone())
                ));
            }
        }
    }
    eprintln!("suricata-verify checks on logged fields: {passed}/{evaluated} hold");
    for (why, n) in &skipped {
        eprintln!("  skipped {n}: {why}");
    }
    assert!(
        failures.is_empty(),
        "{} checks fail:\n{}",
        failures.len(),
        failures.join("\n")
    );
}
