//! HTTP methods beyond GET and POST (issue 16, item 4): real clients send WebDAV's `PROPFIND`
//! and `MKCOL` (curl `-X`) and UPnP GENA's `SUBSCRIBE`, `NOTIFY` and `M-SEARCH` over TCP
//! (Python's http.client) from a runner namespace (10.70.0.2) to a server in another
//! (203.0.113.21, `tests/data/http/any_method_server.py`, which logs every request it read: the
//! receiver decides). The Host names the IOC `npm-health-check.io`; the UPnP client's
//! User-Agent is `node`. tcpdump records the runner's side; the replay must log an `http` event
//! for every request the server got, with its method, and raise `ioc-domain` (and, for the
//! `node` User-Agent, `node-http-ua`) on each of their flows, as for a GET.

use crate::common::netns::{root_or_skip, run_ok, start_logged};
use crate::common::*;
use std::collections::BTreeSet;
use std::time::Duration;

const RUNNER: &str = "10.70.0.2";
const SERVER: &str = "203.0.113.21";
const IOC: &str = "npm-health-check.io";
const PORT: &str = "8080";

#[test]
fn every_token_method_is_logged_and_judged_like_a_get() {
    if !root_or_skip("HTTP methods beyond GET and POST") {
        return;
    }
    let dir = scratch("http-methods");
    let (runner, inet) = crate::runner_and_internet("meth", RUNNER, &[SERVER]);
    let log = dir.join("server.log");
    let _server = start_logged(
        inet.exec("python3")
            .arg(root().join("tests/data/http/any_method_server.py"))
            .args([SERVER, PORT]),
        &log,
        "server ready",
        "the HTTP server",
    );
    let pcap = dir.join("methods.pcap");
    let mut tcpdump = runner.tcpdump("eth0", &pcap, &dir.join("tcpdump.log"));

    let url = format!("http://{IOC}:{PORT}/dav/");
    let resolve = format!("{IOC}:{PORT}:{SERVER}");
    for method in ["PROPFIND", "MKCOL"] {
        run_ok(
            runner
                .exec("curl")
                .args(["-sS", "--max-time", "10", "-o", "/dev/null", "-X", method])
                .args(["--resolve", &resolve, &url]),
            Duration::from_secs(20),
        );
    }
    let out = run_ok(
        runner
            .exec("python3")
            .arg(root().join("tests/data/http/methods_client.py"))
            .args([IOC, SERVER, PORT, "node", "SUBSCRIBE", "NOTIFY", "M-SEARCH"]),
        Duration::from_secs(30),
    );
    assert_eq!(out.lines().count(), 3, "{out}");
    std::thread::sleep(Duration::from_millis(300));
    tcpdump.terminate(Duration::from_secs(5));

    // What the server read.
    let served: Vec<(String, String)> = std::fs::read_to_string(&log)
        .unwrap()
        .lines()
        .filter_map(|l| {
            let f: Vec<&str> = l.splitn(5, ' ').collect();
            (f.len() == 5 && f[0] == "REQ").then(|| (f[1].to_string(), f[2].to_string()))
        })
        .collect();
    let methods: BTreeSet<&str> = served.iter().map(|(m, _)| m.as_str()).collect();
    assert_eq!(
        methods,
        BTreeSet::from(["M-SEARCH", "MKCOL", "NOTIFY", "PROPFIND", "SUBSCRIBE"])
    );

    let r = replay("http-methods-replay", &[&pcap], &[]);
    let logged: BTreeSet<(String, String)> = r
        .of_type("http")
        .iter()
        .map(|e| {
            (
                e["http"]["http_method"].as_str().unwrap().to_string(),
                e["http"]["url"].as_str().unwrap().to_string(),
            )
        })
        .collect();
    assert_eq!(
        logged,
        served.iter().cloned().collect::<BTreeSet<_>>(),
        "http events vs what the server read"
    );
    let alerts = alert_rows(&r.events);
    let ioc: Vec<&String> = alerts
        .iter()
        .filter(|a| a.starts_with(&format!("ioc-domain\t{IOC}\t")))
        .collect();
    assert_eq!(ioc.len(), 5, "one ioc-domain per flow: {alerts:#?}");
    let node: Vec<&String> = alerts
        .iter()
        .filter(|a| a.starts_with("node-http-ua\tnode\t"))
        .collect();
    assert_eq!(
        node.len(),
        3,
        "the three UPnP requests' User-Agent: {alerts:#?}"
    );
    eprintln!(
        "http methods: the server read {} requests ({methods:?}); replay logged {} http events, {} ioc-domain and {} node-http-ua alerts",
        served.len(),
        logged.len(),
        ioc.len(),
        node.len()
    );
}
