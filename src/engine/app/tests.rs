//! The app layer of one flow, driven through a shard with the repository's captures (real curl,
//! dig, node and npm traffic) or with TCP packets carrying bytes taken from them.

use super::{AppProto, FlowState};
use crate::detect::direct_ip::Verdict;
use crate::engine::testkit::{client_bytes, frames, Conversation, Said, Shard};
use crate::eve::EveTypes;
use crate::flow::stream::MAX_BUFFERED;
use crate::flow::Direction::{ToClient, ToServer};
use proto::Timestamp;
use serde_json::Value;

/// The `flow` lines written, by destination port.
fn flow_line(shard: &Shard, port: u16) -> Vec<&Value> {
    shard
        .lines("flow")
        .into_iter()
        .filter(|f| f["dest_port"] == port)
        .collect()
}

/// `secs` seconds and `micros` microseconds after `t`.
fn after(t: Timestamp, secs: u64, micros: i64) -> Timestamp {
    Timestamp(t.plus_secs(secs).0 + micros * 1_000)
}

#[test]
fn a_client_hello_over_four_segments_is_parsed_once_then_the_flow_is_bypassed() {
    let frames = frames("split-clienthello.pcap");
    let mut shard = Shard::new();
    // Frames 6, 8, 10 and 12 carry the ClientHello (148 + 148 + 148 + 73 bytes).
    shard.frames(&frames[..11]);
    assert!(
        shard.lines("tls").is_empty(),
        "not complete before frame 12"
    );
    let tls_flow = |shard: &Shard| -> (bool, usize, AppProto) {
        let flow = shard
            .flows()
            .into_iter()
            .find(|f| f.meta.server.1 == 443)
            .expect("the TLS flow");
        (
            flow.state.inspecting,
            flow.state.heap_bytes(),
            flow.state.app,
        )
    };
    let (inspecting, buffered, app) = tls_flow(&shard);
    assert!(inspecting && app == AppProto::Tls);
    assert!(buffered > 0, "the first segments wait for the rest");
    shard.frames(&frames[11..]);
    let tls = shard.lines("tls");
    assert_eq!(tls.len(), 1);
    assert_eq!(tls[0]["pcap_cnt"], 12);
    assert_eq!(tls[0]["tls"]["sni"], "cdn.evil-mirror.net");
    // Bypassed: the server's certificates and the encrypted records are not even buffered.
    assert_eq!(tls_flow(&shard), (false, 0, AppProto::Tls));
    assert_eq!(shard.engine.counters.tls_client_hellos, 1);
    // The resolver's answer came first: no direct-ip, only the SNI outside the allowlist.
    assert_eq!(shard.verdicts(), [Verdict::Resolved]);
    assert_eq!(shard.detections(), ["non-registry-tls"]);
    let alert = shard.lines("alert")[0];
    assert_eq!(
        alert["tls"], tls[0]["tls"],
        "the alert carries the tls object"
    );
    assert_eq!(alert["app_proto"], "tls");
    shard.finish();
    let flow = flow_line(&shard, 443);
    assert_eq!(flow[0]["app_proto"], "tls");
    assert_eq!(flow[0]["flow"]["alerted"], true);
    assert_eq!(flow[0]["flow"]["state"], "closed");
    assert_eq!(flow[0]["flow"]["reason"], "shutdown");
}

#[test]
fn dns_is_parsed_over_udp_and_tcp_and_its_answers_go_to_the_merge_stage() {
    let mut shard = Shard::new();
    shard.frames(&frames("dns-ioc-udp-tcp.pcap"));
    shard.finish();
    let dns = shard.lines("dns");
    let summary: Vec<(&str, &str, &str)> = dns
        .iter()
        .map(|d| {
            let name = d["dns"]["queries"][0]["rrname"]
                .as_str()
                .or(d["dns"]["rrname"].as_str())
                .unwrap_or_default();
            (
                d["proto"].as_str().unwrap(),
                d["dns"]["type"].as_str().unwrap(),
                name,
            )
        })
        .collect();
    assert_eq!(
        summary,
        [
            ("UDP", "request", "plain-crypto-js.net"),
            ("UDP", "response", "plain-crypto-js.net"),
            ("TCP", "request", "axios-update-service.com"),
            ("TCP", "response", "axios-update-service.com"),
        ],
        "{dns:#?}"
    );
    // A response is logged in its own direction: from the resolver.
    assert_eq!(dns[1]["src_ip"], "198.51.100.53");
    let answers: Vec<_> = shard
        .said
        .iter()
        .filter_map(|s| match s {
            Said::Answers(a) => Some(a.iter().map(|(ip, _)| ip.to_string()).collect::<Vec<_>>()),
            _ => None,
        })
        .collect();
    assert_eq!(answers, [["203.0.113.22"], ["203.0.113.23"]]);
    assert_eq!(shard.detections(), ["ioc-domain", "ioc-domain"]);
    for alert in shard.lines("alert") {
        assert_eq!(alert["app_proto"], "dns");
        assert_eq!(alert["dns"]["type"], "request");
    }
    // DNS flows are never direct-ip candidates; both flows alerted.
    assert!(shard.verdicts().is_empty());
    let flows = flow_line(&shard, 53);
    assert_eq!(flows.len(), 2);
    for flow in flows {
        assert_eq!(flow["app_proto"], "dns");
        assert_eq!(flow["flow"]["alerted"], true, "{flow}");
    }
    assert_eq!(shard.engine.counters.dns_messages, 4);
}

#[test]
fn every_dns_query_for_an_ioc_alerts_and_the_flow_is_alerted() {
    let mut shard = Shard::new();
    shard.frames(&frames("npm-postinstall-ioc.pcap"));
    shard.finish();
    // A and AAAA for npm-health-check.io on one UDP flow: one alert per query, then the TLS
    // beacon to the address the answer gave.
    assert_eq!(
        shard.detections(),
        ["ioc-domain", "ioc-domain", "ioc-domain"]
    );
    let dns_flow = flow_line(&shard, 53);
    assert_eq!(dns_flow.len(), 1);
    assert_eq!(dns_flow[0]["flow"]["alerted"], true);
    assert_eq!(shard.verdicts(), [Verdict::Resolved]);
    assert_eq!(flow_line(&shard, 443)[0]["flow"]["alerted"], true);
}

#[test]
fn http_requests_are_logged_with_their_response_and_alert_once_per_flow() {
    let mut shard = Shard::new();
    shard.frames(&frames("node-http-ua.pcap"));
    shard.finish();
    let http = shard.lines("http");
    let summary: Vec<(&str, &str, u64)> = http
        .iter()
        .map(|h| {
            (
                h["http"]["hostname"].as_str().unwrap(),
                h["http"]["http_user_agent"].as_str().unwrap_or_default(),
                h["http"]["status"].as_u64().unwrap(),
            )
        })
        .collect();
    assert_eq!(summary.len(), 4, "{http:#?}");
    assert!(summary.iter().all(|(_, _, status)| *status == 200));
    assert_eq!(summary[3].0, "registry.npmjs.org");
    // Three clients with a Node.js User-Agent to a host outside the allowlist; the registry
    // is allowlisted.
    assert_eq!(shard.detections(), ["node-http-ua"; 3]);
    let alerted: Vec<bool> = flow_line(&shard, 80)
        .iter()
        .map(|f| f["flow"]["alerted"].as_bool().unwrap())
        .collect();
    assert_eq!(alerted, [true, true, true, false]);
}

#[test]
fn a_second_request_on_the_flow_is_logged_but_does_not_alert_again() {
    let request = client_bytes(&frames("http-ip-host.pcap"), 80);
    let t = Timestamp::from_parts(1_795_315_148, 0, 1);
    let mut c = Conversation::new(("10.77.0.2", 40_000), ("203.0.113.9", 80));
    let mut shard = Shard::new();
    for p in c.handshake() {
        shard.packet(t, 1, &p);
    }
    for n in 0..2 {
        shard.packet(t, 4 + n, &c.data(ToServer, &request));
    }
    shard.finish();
    // direct-ip (from the flow start, and the IP-literal Host: one alert) and node-http-ua,
    // with the first request; both requests are logged (no response: at the flow's end).
    assert_eq!(shard.detections(), ["direct-ip", "node-http-ua"]);
    assert!(shard
        .lines("alert")
        .iter()
        .all(|a| a["pcap_cnt"] == 4 && a["http"]["url"] == "/beacon"));
    assert_eq!(shard.lines("http").len(), 2);
    assert_eq!(flow_line(&shard, 80)[0]["flow"]["alerted"], true);
}

#[test]
fn a_connect_tunnel_is_classified_afresh_after_the_proxy_answers() {
    // The request and answer of ja4repo-https-connect.pcap (FoxIO-LLC/ja4), then the
    // ClientHello of ioc-sni.pcap through the tunnel.
    const CONNECT: &[u8] =
        b"CONNECT ts01-b.cloudsink.net:443 HTTP/1.0\r\nUser-Agent: CrowdStrike Falcon Sensor\r\n\r\n";
    const ANSWER: &[u8] = b"HTTP/1.0 200 OK\r\nDate: Mon, 02 Sep 2019 18:56:53 GMT\r\n\
        Via: http/1.1 proxies.xxxxxxxxx.xxxxx.com (XXXXXXXXXXXXXXXXXXX)\r\nServer: XXX\r\n\r\n";
    let hello = client_bytes(&frames("ioc-sni.pcap"), 443);
    let t = Timestamp::from_parts(1_567_450_613, 0, 1);
    let mut c = Conversation::new(("10.11.12.13", 54_723), ("10.9.8.7", 8080));
    let mut shard = Shard::new();
    for p in c.handshake() {
        shard.packet(t, 1, &p);
    }
    shard.packet(t, 4, &c.data(ToServer, CONNECT));
    shard.packet(t, 6, &c.data(ToClient, ANSWER));
    shard.packet(t, 8, &c.data(ToServer, &hello));
    shard.finish();
    let http = shard.lines("http");
    assert_eq!(http.len(), 1);
    assert_eq!(http[0]["http"]["http_method"], "CONNECT");
    assert_eq!(http[0]["http"]["status"], 200);
    let tls = shard.lines("tls");
    assert_eq!(tls.len(), 1);
    assert_eq!(tls[0]["tls"]["sni"], "pkg-validate.net");
    assert_eq!(tls[0]["pcap_cnt"], 8);
    // An internal proxy: no flow-start detections, but an IOC SNI alerts in any scope.
    assert_eq!(shard.detections(), ["ioc-domain"]);
    let flow = flow_line(&shard, 8080);
    assert_eq!(flow[0]["app_proto"], "tls");
    assert_eq!(flow[0]["app_proto_orig"], "http");
    assert_eq!(flow[0]["flow"]["alerted"], true);
}

#[test]
fn a_flow_start_alert_is_released_with_the_flows_first_app_layer_object() {
    let mut shard = Shard::new();
    shard.frames(&frames("tls-ip-literal.pcap")[..3]);
    // Handshake only: the verdict is in, the alert waits.
    assert_eq!(shard.verdicts(), [Verdict::Unresolved]);
    assert!(shard.lines("alert").is_empty());
    shard.frames(&frames("tls-ip-literal.pcap")[3..]);
    assert_eq!(shard.detections(), ["direct-ip", "no-sni"]);
    let direct_ip = shard.lines("alert")[0];
    assert_eq!(direct_ip["pcap_cnt"], 4, "with the ClientHello");
    assert_eq!(direct_ip["app_proto"], "tls");
    assert_eq!(direct_ip["tls"]["version"], "TLS 1.3");
    assert_eq!(
        direct_ip["alert"]["metadata"]["indicator"][0],
        "203.0.113.7"
    );
}

#[test]
fn a_flow_start_alert_waits_one_second_at_most() {
    // The same connection with the ClientHello 2 s late: the ACK at 1.5 s releases the alert
    // without an object.
    let frames = frames("tls-ip-literal.pcap");
    let t0 = frames[0].ts;
    let mut shard = Shard::new();
    shard.frames(&frames[..2]);
    shard.packet(after(t0, 1, 500_000), 3, &frames[2].packet());
    let alerts = shard.lines("alert");
    assert_eq!(shard.detections(), ["direct-ip"]);
    assert_eq!(alerts[0]["pcap_cnt"], 3);
    assert!(alerts[0].get("tls").is_none() && alerts[0].get("app_proto").is_none());
    for f in &frames[3..] {
        shard.packet(after(f.ts, 2, 0), f.index, &f.packet());
    }
    assert_eq!(shard.detections(), ["direct-ip", "no-sni"]);
}

#[test]
fn a_flow_that_ends_before_its_first_object_alerts_without_one() {
    // Only the SYN: nothing else will come.
    let frames = frames("tls-ip-literal.pcap");
    let mut shard = Shard::new();
    shard.frames(&frames[..1]);
    assert!(shard.lines("alert").is_empty());
    shard.finish();
    let alert = shard.lines("alert");
    assert_eq!(shard.detections(), ["direct-ip"]);
    assert!(alert[0].get("pcap_cnt").is_none(), "at the end of input");
    let flow = flow_line(&shard, 443);
    assert_eq!(flow[0]["flow"]["state"], "new");
    assert_eq!(flow[0]["flow"]["alerted"], true);
}

#[test]
fn an_address_resolved_before_the_flow_never_builds_its_alert() {
    let frames = frames("tls-ip-literal.pcap");
    let mut shard = Shard::new();
    shard.answer(frames[0].ts, "203.0.113.7", 60);
    shard.frames(&frames);
    shard.finish();
    assert_eq!(shard.detections(), ["no-sni"]);
    // The shard saw the verdict before it built anything: no alert was even dropped.
    assert!(!shard.said.iter().any(|s| matches!(s, Said::Dropped)));
    assert_eq!(flow_line(&shard, 443)[0]["flow"]["alerted"], true);
}

#[test]
fn an_answer_captured_after_the_syn_resolves_the_flow_until_its_first_object() {
    // A SPAN port's reordering: the answer arrives after the SYN it enabled but before the
    // ClientHello. The shard has built the alert (its verdict was "unresolved"); the merge
    // stage, deciding at the alert, drops it.
    let frames = frames("tls-ip-literal.pcap");
    let mut shard = Shard::new();
    shard.frames(&frames[..1]);
    shard.answer(frames[0].ts, "203.0.113.7", 60);
    shard.frames(&frames[1..]);
    shard.finish();
    assert_eq!(shard.detections(), ["no-sni"]);
    assert!(shard.said.iter().any(|s| matches!(s, Said::Dropped)));
}

#[test]
fn a_flow_whose_only_alert_was_dropped_is_not_alerted() {
    // The SYN alone to a resolved address: direct-ip would be the flow's only alert.
    let frames = frames("tls-ip-literal.pcap");
    let mut shard = Shard::new();
    shard.answer(frames[0].ts, "203.0.113.7", 60);
    shard.frames(&frames[..1]);
    shard.finish();
    assert_eq!(shard.verdicts(), [Verdict::Resolved]);
    assert!(shard.detections().is_empty());
    assert_eq!(flow_line(&shard, 443)[0]["flow"]["alerted"], false);
}

#[test]
fn flows_that_start_during_the_warm_up_are_not_checked_for_direct_ip() {
    let frames = frames("tls-ip-literal.pcap");
    let mut shard = Shard::with(EveTypes::ALL, Some(frames[0].ts.plus_secs(1)));
    shard.frames(&frames);
    assert_eq!(shard.verdicts(), [Verdict::WarmUp]);
    assert_eq!(shard.detections(), ["no-sni"]);
}

#[test]
fn a_stream_that_never_completes_a_message_overflows_and_is_bypassed() {
    // DNS over TCP announcing a 65,535-byte message: the real query of dns-ioc-udp-tcp.pcap
    // behind a forged length, then filler until the buffer is full.
    let query = client_bytes(&frames("dns-ioc-udp-tcp.pcap"), 53);
    let mut first = vec![0xff, 0xff];
    first.extend_from_slice(&query);
    let filler = vec![0u8; 1400];
    let t = Timestamp::from_parts(1_795_315_142, 0, 1);
    let mut c = Conversation::new(("10.77.0.2", 40_605), ("198.51.100.53", 53));
    let mut shard = Shard::new();
    for p in c.handshake() {
        shard.packet(t, 1, &p);
    }
    shard.packet(t, 4, &c.data(ToServer, &first));
    // One byte short of the message: the buffer is full and the message still incomplete.
    let mut sent = first.len();
    let mut n = 5;
    while sent < MAX_BUFFERED {
        assert_eq!(shard.engine.counters.stream_overflows, 0);
        let len = filler.len().min(MAX_BUFFERED - sent);
        shard.packet(t, n, &c.data(ToServer, &filler[..len]));
        sent += len;
        n += 1;
    }
    assert_eq!(sent, 2 + 0xffff - 1);
    assert_eq!(shard.engine.counters.stream_overflows, 1);
    let flow: Vec<(bool, usize)> = shard
        .flows()
        .iter()
        .map(|f| (f.state.inspecting, f.state.heap_bytes()))
        .collect();
    assert_eq!(flow, [(false, 0)], "bypassed, buffers freed");
    assert!(shard.lines("dns").is_empty());
}

#[test]
fn bytes_no_parser_recognises_fail_the_flow_and_bypass_it() {
    // An SSH banner to port 22.
    let t = Timestamp::from_parts(1_795_315_142, 0, 1);
    let mut c = Conversation::new(("10.77.0.2", 40_000), ("10.77.0.9", 22));
    let mut shard = Shard::new();
    for p in c.handshake() {
        shard.packet(t, 1, &p);
    }
    shard.packet(
        t,
        4,
        &c.data(ToServer, b"SSH-2.0-OpenSSH_9.6p1 Ubuntu-3ubuntu13\r\n"),
    );
    let states: Vec<(bool, AppProto)> = shard
        .flows()
        .iter()
        .map(|f| (f.state.inspecting, f.state.app))
        .collect();
    assert_eq!(states, [(false, AppProto::Failed)]);
    shard.finish();
    assert_eq!(flow_line(&shard, 22)[0]["app_proto"], "failed");
}

#[test]
fn with_alerts_only_no_object_is_logged_but_alerts_still_carry_theirs() {
    let mut shard = Shard::with(EveTypes::ALERT, None);
    shard.frames(&frames("tls-ip-literal.pcap"));
    shard.finish();
    assert!(shard.lines("tls").is_empty() && shard.lines("flow").is_empty());
    assert!(shard.said.iter().any(|s| matches!(s, Said::FlowDone)));
    assert_eq!(shard.detections(), ["direct-ip", "no-sni"]);
    assert!(shard.lines("alert").iter().all(|a| a["tls"].is_object()));
}

#[test]
fn a_flow_costs_nothing_beyond_its_slot_once_bypassed() {
    assert_eq!(FlowState::default().heap_bytes(), 0);
    let mut shard = Shard::new();
    shard.frames(&frames("benign-registry.pcap"));
    // Every TLS flow is past its ClientHello, every DNS flow is UDP.
    assert!(shard.flows().iter().all(|f| f.state.heap_bytes() == 0));
    shard.finish();
    assert!(shard.detections().is_empty());
    assert!(shard
        .lines("flow")
        .iter()
        .all(|f| f["flow"]["alerted"] == false));
}

#[test]
fn idle_flows_end_on_packet_time() {
    let frames = frames("dns-ioc-udp-tcp.pcap");
    let last = frames.last().unwrap().ts;
    let mut shard = Shard::new();
    shard.frames(&frames);
    // The TCP flow closed: 10 s; the UDP flow: 60 s.
    shard.tick(last.plus_secs(11));
    let ended = |shard: &Shard| -> Vec<(String, String)> {
        shard
            .lines("flow")
            .iter()
            .map(|f| {
                let s = |v: &Value| v.as_str().unwrap().to_owned();
                (s(&f["proto"]), s(&f["flow"]["reason"]))
            })
            .collect()
    };
    assert_eq!(ended(&shard), [("TCP".into(), "timeout".into())]);
    shard.tick(last.plus_secs(61));
    shard.finish();
    assert_eq!(
        ended(&shard),
        [
            ("TCP".into(), "timeout".into()),
            ("UDP".into(), "timeout".into())
        ]
    );
}

#[test]
fn where_overlapping_copies_differ_both_versions_are_inspected() {
    // The IOC ClientHello of a real capture, and a copy naming another host of the same length.
    let hello = client_bytes(&frames("ioc-sni.pcap"), 443);
    let proto::tls::Step::Hello(parsed, _) = proto::tls::next_step(&hello) else {
        panic!("a ClientHello")
    };
    let ioc = parsed.sni.expect("an SNI");
    let at = hello
        .windows(ioc.len())
        .position(|w| w == ioc.as_bytes())
        .unwrap();
    let other = "x".repeat(ioc.len() - 4) + ".com";
    let mut decoy = hello.clone();
    decoy[at..at + ioc.len()].copy_from_slice(other.as_bytes());
    let mut conv = Conversation::new(("10.0.0.1", 40000), ("203.0.113.20", 443));
    let mut shard = Shard::new();
    let t = Timestamp(0);
    for p in conv.handshake() {
        shard.packet(t, 1, &p);
    }
    // Queued: the IOC copy's tail, one byte short; then the decoy's whole tail with the same
    // start, which Linux keeps; then the head fills the hole.
    let k = 10;
    let head = conv.data(ToServer, &hello[..k]);
    let ioc_tail = conv.data(ToServer, &hello[k..hello.len() - 1]);
    let mut decoy_tail = ioc_tail;
    decoy_tail.payload = &decoy[k..];
    for (i, p) in [ioc_tail, decoy_tail, head].iter().enumerate() {
        shard.packet(t, 4 + i as u64, p);
    }
    let tls = shard.lines("tls");
    assert_eq!(tls.len(), 1, "the Linux version only is logged");
    assert_eq!(tls[0]["tls"]["sni"], other.as_str());
    let anomaly = shard.lines("anomaly");
    assert_eq!(anomaly.len(), 1);
    assert_eq!(anomaly[0]["pcap_cnt"], 5);
    assert_eq!(
        anomaly[0]["anomaly"]["event"],
        "stream.reassembly_overlap_different_data"
    );
    // Both versions' detections alert: the decoy's name is outside the allowlist, the other
    // version's is the IOC.
    let alerts = shard.lines("alert");
    let by_detection: Vec<(String, String)> = alerts
        .iter()
        .map(|a| {
            (
                a["alert"]["metadata"]["detection"][0]
                    .as_str()
                    .unwrap()
                    .to_owned(),
                a["tls"]["sni"].as_str().unwrap_or_default().to_owned(),
            )
        })
        .filter(|(d, _)| d != "direct-ip")
        .collect();
    assert_eq!(
        by_detection,
        vec![
            ("non-registry-tls".to_owned(), other.clone()),
            ("ioc-domain".to_owned(), ioc.clone())
        ]
    );
    assert_eq!(shard.engine.counters.tcp_overlap_different, 1);
}

/// A GSS-TSIG TKEY query (RFC 2930/3645: question `<key>.<zone>` TKEY ANY, a TKEY record with
/// a GSS-API token in the additional section) or its response (the TKEY as the answer),
/// DNS-over-TCP framed.
fn tkey_message(response: bool, token_len: usize) -> Vec<u8> {
    fn name(m: &mut Vec<u8>, text: &str) {
        for l in text.split('.') {
            m.push(l.len() as u8);
            m.extend(l.as_bytes());
        }
        m.push(0);
    }
    let (flags, an, ar) = if response { (0x80, 1, 0) } else { (0, 0, 1) };
    let mut m = vec![0x4d, 0x2a, flags, 0, 0, 1, 0, an, 0, 0, 0, ar];
    name(&mut m, "3141592653.sig-dc1.ad.example");
    m.extend([0, 249, 0, 255]);
    let mut tkey = Vec::new();
    name(&mut tkey, "gss-tsig");
    tkey.extend([0x65, 0x53, 0xf1, 0, 0x65, 0x55, 0x42, 0x80, 0, 3, 0, 0]);
    tkey.extend((token_len as u16).to_be_bytes());
    tkey.extend((0..token_len).map(|i| (i * 7 + 3) as u8));
    tkey.extend([0, 0]);
    m.extend([0xc0, 0x0c, 0, 249, 0, 255, 0, 0, 0, 0]);
    m.extend((tkey.len() as u16).to_be_bytes());
    m.extend(tkey);
    let mut framed = (m.len() as u16).to_be_bytes().to_vec();
    framed.extend(m);
    framed
}

#[test]
fn a_gss_tsig_tkey_exchange_over_tcp_is_logged() {
    let t = Timestamp::from_parts(1_795_315_142, 0, 1);
    let mut c = Conversation::new(("10.77.0.2", 49_720), ("198.51.100.53", 53));
    let mut shard = Shard::new();
    for p in c.handshake() {
        shard.packet(t, 1, &p);
    }
    // The query's token makes it longer than one segment.
    let query = tkey_message(false, 1400);
    let (a, b) = query.split_at(1200);
    shard.packet(t, 4, &c.data(ToServer, a));
    shard.packet(t, 5, &c.data(ToServer, b));
    shard.packet(t, 6, &c.data(ToClient, &tkey_message(true, 160)));
    let dns = shard.lines("dns");
    let got: Vec<(&Value, &Value, &Value)> = dns
        .iter()
        .map(|d| {
            (
                &d["dns"]["type"],
                &d["dns"]["queries"][0]["rrtype"],
                &d["proto"],
            )
        })
        .collect();
    let (req, resp, tcp) = (
        &Value::from("request"),
        &Value::from("response"),
        &Value::from("TCP"),
    );
    let tkey = &Value::from("TKEY");
    assert_eq!(got, [(req, tkey, tcp), (resp, tkey, tcp)], "{dns:#?}");
    assert_eq!(dns[0]["dns"]["additionals"][0]["rrtype"], "TKEY");
    assert_eq!(dns[1]["dns"]["answers"][0]["rrtype"], "TKEY");
    let counters = &shard.engine.counters;
    assert_eq!((counters.dns_messages, counters.dns_bad_records), (2, 0));
}
