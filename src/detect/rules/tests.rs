//! The rule set as a whole: loading, compiling options in order, header and flow conditions,
//! every buffer, `absent`, legacy modifiers, `pass`, flowbits and the prefilter, on
//! transactions built by hand. (Each content keyword's own semantics: `inspect/tests.rs`.)

use super::buffer::{App, Buffer, Transport, Tx};
use super::*;
use std::net::IpAddr;

fn load(text: &str) -> RuleSet {
    let dir = std::env::temp_dir().join(format!(
        "egress-ids-rules-{}-{:x}",
        std::process::id(),
        (text.len() as u64 * 2654435761) ^ text.bytes().map(u64::from).sum::<u64>()
    ));
    std::fs::create_dir_all(&dir).unwrap();
    let path = dir.join("t.rules");
    std::fs::write(&path, text).unwrap();
    let sources = RuleSources {
        paths: vec![path],
        ..RuleSources::default()
    };
    let home = ["10.0.0.0/8".parse().unwrap()];
    let set = RuleSet::load(
        &sources,
        &home,
        &[(9_200_002, "the built-in ioc-domain".into())],
    );
    let _ = std::fs::remove_dir_all(&dir);
    set.unwrap()
}

fn ip(s: &str) -> IpAddr {
    s.parse().unwrap()
}

fn tx<'a>(app: App, fields: &[(Buffer, &'a str)]) -> Tx<'a> {
    let transport = if app == App::Dns || app == App::Quic {
        Transport::Udp
    } else {
        Transport::Tcp
    };
    let mut t = Tx::new(
        app,
        transport,
        (ip("10.0.0.5"), 40000),
        (ip("203.0.113.7"), 443),
        transport == Transport::Tcp,
    );
    for (b, v) in fields {
        t.set(*b, v.as_bytes());
    }
    t
}

fn fired(set: &RuleSet, t: &Tx<'_>) -> Vec<u32> {
    let mut scratch = Scratch::default();
    let mut bits = Flowbits::default();
    let v = set.inspect(t, Some(&mut bits), &mut scratch);
    let mut sids: Vec<u32> = v.alerts.iter().map(|r| r.sid).collect();
    sids.sort_unstable();
    sids
}

#[test]
fn buffers_select_their_transactions() {
    let set = load(
        r#"alert dns any any -> any any (dns.query; content:"evil"; sid:1;)
alert tls any any -> any any (tls.sni; content:"evil"; sid:2;)
alert quic any any -> any any (quic.sni; content:"evil"; sid:3;)
alert http any any -> any any (http.host; content:"evil"; sid:4;)
alert ip any any -> any any (ja4.hash; content:"t13d"; startswith; sid:5;)
alert tcp any any -> any any (ja3.hash; content:"abc"; sid:6;)
"#,
    );
    assert_eq!(set.report.refused.len(), 0, "{:?}", set.report.refused);
    assert_eq!(
        fired(&set, &tx(App::Dns, &[(Buffer::DnsQuery, "evil.example")])),
        [1]
    );
    assert_eq!(
        fired(&set, &tx(App::Tls, &[(Buffer::TlsSni, "evil.example")])),
        [2]
    );
    assert_eq!(
        fired(&set, &tx(App::Quic, &[(Buffer::QuicSni, "evil.example")])),
        [3]
    );
    assert_eq!(
        fired(&set, &tx(App::Http, &[(Buffer::HttpHost, "evil.example")])),
        [4]
    );
    let quic = tx(
        App::Quic,
        &[(Buffer::Ja4Hash, "t13d1516h2_x"), (Buffer::Ja3Hash, "abc")],
    );
    // ja3.hash under `tcp`: TLS only.
    assert_eq!(fired(&set, &quic), [5]);
    let tls = tx(
        App::Tls,
        &[(Buffer::Ja4Hash, "t13d1516h2_x"), (Buffer::Ja3Hash, "abc")],
    );
    assert_eq!(fired(&set, &tls), [5, 6]);
}

#[test]
fn dns_query_is_matched_per_query_name() {
    let set = load(
        r#"alert dns any any -> any any (dns.query; content:"a.example"; content:"b.example"; sid:1;)
alert dns any any -> any any (dns.query; content:"a.example"; sid:2;)
"#,
    );
    let t = tx(
        App::Dns,
        &[
            (Buffer::DnsQuery, "a.example"),
            (Buffer::DnsQuery, "b.example"),
        ],
    );
    // Both names in one message, but no one name holds both contents.
    assert_eq!(fired(&set, &t), [2]);
}

#[test]
fn header_addresses_ports_direction_and_flow() {
    let set = load(
        r#"alert tls $HOME_NET any -> $EXTERNAL_NET 443 (tls.sni; content:"x"; sid:1;)
alert tls $EXTERNAL_NET any -> $HOME_NET any (tls.sni; content:"x"; sid:2;)
alert tls $EXTERNAL_NET any <> $HOME_NET any (tls.sni; content:"x"; sid:3;)
alert tls any any -> any 8443 (tls.sni; content:"x"; sid:4;)
alert tls any any -> any any (flow:established,to_server; tls.sni; content:"x"; sid:5;)
alert tls any any -> any any (flow:to_client; tls.sni; content:"x"; sid:6;)
alert dns any any -> any any (flow:established; dns.query; content:"x"; sid:7;)
alert dns any any -> any any (flow:not_established; dns.query; content:"x"; sid:8;)
alert udp any any -> any any (dns.query; content:"x"; sid:9;)
alert tcp any any -> any any (dns.query; content:"x"; sid:10;)
"#,
    );
    assert_eq!(
        fired(&set, &tx(App::Tls, &[(Buffer::TlsSni, "x")])),
        [1, 3, 5]
    );
    // A DNS query over UDP before any answer: not established.
    assert_eq!(
        fired(&set, &tx(App::Dns, &[(Buffer::DnsQuery, "x")])),
        [8, 9]
    );
}

#[test]
fn absent_and_or_else() {
    let set = load(
        r#"alert tls any any -> any any (tls.sni; absent; sid:1;)
alert tls any any -> any any (tls.sni; absent:or_else; content:"evil"; sid:2;)
alert http any any -> any any (http.user_agent; absent; http.host; content:"x"; sid:3;)
"#,
    );
    assert_eq!(fired(&set, &tx(App::Tls, &[])), [1, 2]);
    assert_eq!(
        fired(&set, &tx(App::Tls, &[(Buffer::TlsSni, "evil.example")])),
        [2]
    );
    assert!(fired(&set, &tx(App::Tls, &[(Buffer::TlsSni, "good.example")])).is_empty());
    assert_eq!(fired(&set, &tx(App::Http, &[(Buffer::HttpHost, "x")])), [3]);
    let with_ua = tx(
        App::Http,
        &[(Buffer::HttpHost, "x"), (Buffer::HttpUserAgent, "curl")],
    );
    assert!(fired(&set, &with_ua).is_empty());
}

#[test]
fn negated_contents_need_the_buffer() {
    // Suricata: a negated content on a missing buffer does not match (why the seed's
    // `content:!""` never meant "no SNI").
    let set =
        load(r#"alert tls any any -> any any (tls.sni; content:!"registry.npmjs.org"; sid:1;)"#);
    assert!(fired(&set, &tx(App::Tls, &[])).is_empty());
    assert_eq!(
        fired(&set, &tx(App::Tls, &[(Buffer::TlsSni, "evil.example")])),
        [1]
    );
    assert!(fired(
        &set,
        &tx(App::Tls, &[(Buffer::TlsSni, "registry.npmjs.org")])
    )
    .is_empty());
}

#[test]
fn legacy_modifiers_move_their_content_and_keep_relative_positions() {
    let set = load(
        r#"alert http any any -> any any (content:"GET"; http_method; content:"/a"; http_uri; content:"/b"; distance:0; http_uri; sid:1;)
alert http any any -> any any (content:"EVIL"; nocase; http_user_agent; depth:4; sid:2;)
alert http any any -> any any (pcre:"/^\/x\d+$/U"; sid:3;)
"#,
    );
    assert_eq!(set.report.refused.len(), 0, "{:?}", set.report.refused);
    let t = |uri, ua| {
        tx(
            App::Http,
            &[
                (Buffer::HttpMethod, "GET"),
                (Buffer::HttpUri, uri),
                (Buffer::HttpUserAgent, ua),
            ],
        )
    };
    assert_eq!(fired(&set, &t("/a/b", "evil-agent")), [1, 2]);
    // `/b` must come after `/a`.
    assert!(fired(&set, &t("/b/a", "x-evil")).is_empty());
    assert_eq!(fired(&set, &t("/x42", "")), [3]);
}

#[test]
fn pass_silences_the_transaction_and_flowbits_order_setters_first() {
    let set = load(
        r#"alert tls any any -> any any (tls.sni; content:"evil"; sid:1;)
pass tls any any -> any any (tls.sni; content:"evil.corp.example"; sid:2;)
alert tls any any -> any any (tls.sni; content:"evil"; flowbits:isset,mark; sid:3;)
alert tls any any -> any any (tls.sni; content:"evil"; flowbits:set,mark; flowbits:noalert; sid:4;)
"#,
    );
    let mut scratch = Scratch::default();
    let mut bits = Flowbits::default();
    let passed = set.inspect(
        &tx(App::Tls, &[(Buffer::TlsSni, "evil.corp.example")]),
        Some(&mut bits),
        &mut scratch,
    );
    assert!(passed.pass && passed.alerts.is_empty());
    // The setter (4) runs before the test (3) although it is written after it.
    assert_eq!(
        fired(&set, &tx(App::Tls, &[(Buffer::TlsSni, "evil.example")])),
        [1, 3]
    );
}

#[test]
fn alerts_carry_classtype_priority_and_metadata() {
    let set = load(
        r#"alert tls any any -> any any (msg:"m \"q\""; tls.sni; content:"x"; classtype:trojan-activity; metadata:tag A, tag B, created_at 2024_01_01; sid:7; rev:3; gid:1;)
alert tls any any -> any any (msg:"p"; tls.sni; content:"x"; classtype:misc-activity; priority:2; sid:8;)
alert tls any any -> any any (tls.sni; content:"x"; sid:9;)
"#,
    );
    let t = tx(App::Tls, &[(Buffer::TlsSni, "x")]);
    let mut scratch = Scratch::default();
    let v = set.inspect(&t, None, &mut scratch);
    let by = |sid| v.alerts.iter().find(|r| r.sid == sid).unwrap();
    assert_eq!(by(7).msg, "m \"q\"");
    assert_eq!(
        (by(7).category, by(7).severity, by(7).rev),
        ("A Network Trojan was detected", 1, 3)
    );
    assert_eq!(
        by(7).metadata.as_ref().unwrap().get(),
        r#"{"tag":["A","B"],"created_at":["2024_01_01"]}"#
    );
    assert_eq!((by(8).category, by(8).severity), ("Misc activity", 2));
    assert_eq!(
        (by(9).category, by(9).severity, by(9).metadata.is_none()),
        ("", 3, true)
    );
}

#[test]
fn refusals_count_by_kind_and_strict_mode_fails() {
    let text = r#"alert tls any any -> any any (tls.sni; content:"x"; sid:1;)
alert tls any any -> any any (tls.sni; content:"x"; byte_test:1,>,2,0; sid:2;)
alert tls any any -> any any (tls.sni; content:"x"; byte_test:1,>,2,0; sid:3;)
alert tls any any -> any any (tls.sni; content:"x"; classtype:no-such-class; sid:4;)
alert tls any any -> any any (tls.sni; content:"x"; sid:9200002;)
alert tls any any -> any any (tls.sni; content:"x";)
alert tls any any -> any any (tls.sni; content:"x"; threshold:type limit, track by_src, count 1; sid:5;)
"#;
    let set = load(text);
    assert_eq!(set.len(), 1);
    assert_eq!(
        set.report.refused_by_kind(),
        [
            ("unknown keyword \"byte_test\"".to_string(), 2),
            ("duplicate sid".to_string(), 1),
            ("no sid".to_string(), 1),
            ("threshold".to_string(), 1),
            ("unknown classtype".to_string(), 1),
        ]
    );
    assert!(set
        .report
        .summary()
        .starts_with("1 rules loaded from 1 file(s), 6 refused ("));
    let dup = &set.report.refused[3];
    assert!(dup.reason.contains("the built-in ioc-domain"), "{dup}");
}

#[test]
fn a_directory_gives_its_rules_files_in_name_order_and_an_empty_one_is_an_error() {
    let dir = std::env::temp_dir().join(format!("egress-ids-rules-dir-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(dir.join("empty")).unwrap();
    std::fs::write(
        dir.join("b.rules"),
        "alert tls any any -> any any (tls.sni; content:\"b\"; sid:2;)\n",
    )
    .unwrap();
    std::fs::write(
        dir.join("a.rules"),
        "alert tls any any -> any any (tls.sni; content:\"a\"; sid:1;)\n",
    )
    .unwrap();
    std::fs::write(dir.join("notes.txt"), "alert this is not read\n").unwrap();
    let home = ["10.0.0.0/8".parse().unwrap()];
    let sources = |paths: Vec<std::path::PathBuf>| RuleSources {
        paths,
        ..RuleSources::default()
    };
    let set = RuleSet::load(&sources(vec![dir.clone()]), &home, &[]).unwrap();
    assert_eq!((set.report.files, set.len()), (2, 2));
    assert_eq!(
        fired(&set, &tx(App::Tls, &[(Buffer::TlsSni, "ab")])),
        [1, 2]
    );
    let err = RuleSet::load(&sources(vec![dir.join("empty")]), &home, &[]).unwrap_err();
    assert!(
        err.to_string().contains("without any *.rules file"),
        "{err}"
    );
    let err = RuleSet::load(&sources(vec![dir.join("missing.rules")]), &home, &[]).unwrap_err();
    assert!(
        err.to_string().contains("missing.rules: cannot read"),
        "{err}"
    );
    // A variable given with --rule-var.
    std::fs::write(
        dir.join("c.rules"),
        "alert tls any any -> $C2_NET any (tls.sni; content:\"c\"; sid:3;)\n",
    )
    .unwrap();
    let with_var = RuleSources {
        paths: vec![dir.join("c.rules")],
        vars: vec!["C2_NET=[203.0.113.0/24]".into()],
        strict: true,
    };
    let set = RuleSet::load(&with_var, &home, &[]).unwrap();
    assert_eq!(fired(&set, &tx(App::Tls, &[(Buffer::TlsSni, "c")])), [3]);
    let without = RuleSources {
        vars: Vec::new(),
        ..with_var
    };
    let err = RuleSet::load(&without, &home, &[]).unwrap_err();
    assert!(err.to_string().contains("--rule-var C2_NET="), "{err}");
    let _ = std::fs::remove_dir_all(&dir);
}
