//! `phantom-dependency` on cleartext registry traffic (`--inventory`): a real `npm install`
//! in a runner namespace (10.69.0.2) from an internal mirror over HTTP in a namespace of its own
//! (10.69.0.1:8080, `tests/data/registry/serve.py`: Python's http.server serving packages made
//! by `npm pack`). The project needs `@acme/util` and `is-ok`, which the inventory names;
//! `@acme/util` pulls `plain-crypto-js` and `@evil/helper`, which it does not: the seed's
//! phantom dependencies. The mirror logs every package it served (the receiver decides).
//!
//! `egress-ids live --inventory` watches the runner's interface while npm installs twice: the
//! first install raises one alert per unknown package and flow, each carrying the request in
//! its `http` object; then the two names are added to the inventory, SIGHUP reloads it, and the
//! second install (fresh cache and node_modules) raises none. tcpdump records both installs;
//! the replay of that capture with the first inventory alerts both installs alike, and without
//! `--inventory` raises no `phantom-dependency` at all.

mod common;

use common::netns::{root_or_skip, run_ok, start_logged, wait_for_line, Child, Netns};
use common::*;
use serde_json::{json, Value};
use std::collections::{BTreeMap, BTreeSet};
use std::path::{Path, PathBuf};
use std::process::Stdio;
use std::time::Duration;

const RUNNER: &str = "10.69.0.2";
const MIRROR: &str = "10.69.0.1";
const PORT: u16 = 8080;
/// What the inventory names at first.
const KNOWN: [&str; 2] = ["@acme/util", "is-ok"];
/// The phantom dependencies.
const UNKNOWN: [&str; 2] = ["@evil/helper", "plain-crypto-js"];

/// The runner and the mirror, linked by one veth pair; the mirror serving `dir/pkgs` once
/// started.
struct Mirror {
    runner: Netns,
    mirror: Netns,
    server: Option<Child>,
    log: PathBuf,
}

fn mirror(dir: &Path) -> Mirror {
    let runner = Netns::new("reg-r");
    let mirror = Netns::new("reg-m");
    runner.veth_to("eth0", &mirror, "eth0", 1500);
    runner.ip(&["addr", "add", &format!("{RUNNER}/24"), "dev", "eth0"]);
    mirror.ip(&["addr", "add", &format!("{MIRROR}/24"), "dev", "eth0"]);
    Mirror {
        runner,
        mirror,
        server: None,
        log: dir.join("registry.log"),
    }
}

impl Mirror {
    /// Starts the registry over the packages in `dir/pkgs` (it reads them at start).
    fn start(&mut self, dir: &Path) {
        self.server = Some(start_logged(
            self.mirror
                .exec("python3")
                .arg(root().join("tests/data/registry/serve.py"))
                .arg("--dir")
                .arg(dir.join("pkgs"))
                .args(["--host", MIRROR, "--port", &PORT.to_string()]),
            &self.log,
            "registry ready",
            "the registry",
        ));
    }

    /// (package, kind) of every request the registry answered with 200.
    fn served(&self) -> Vec<(String, String)> {
        std::fs::read_to_string(&self.log)
            .unwrap_or_default()
            .lines()
            .filter_map(|l| {
                let f: Vec<&str> = l.split(' ').collect();
                (f.len() == 5 && f[0] == "REQ" && f[4] == "200")
                    .then(|| (f[3].to_string(), f[2].to_string()))
            })
            .collect()
    }
}

/// `npm ARGS` in `cwd` inside the runner, HOME and the cache in `home`.
fn npm(ns: &Netns, home: &Path, cwd: &Path, args: &[&str]) -> String {
    let mut cmd = ns.exec("npm");
    cmd.args(args)
        .args(["--no-audit", "--no-fund", "--no-update-notifier"])
        .current_dir(cwd)
        .env("HOME", home)
        .env("npm_config_cache", home.join("npm-cache"));
    run_ok(&mut cmd, Duration::from_secs(120))
}

/// Packs `name`@`version` with `dependencies` into `dir/pkgs` (no network: npm pack).
fn pack(ns: &Netns, dir: &Path, name: &str, version: &str, dependencies: Value) {
    let src = dir.join("src").join(name.replace('/', "+"));
    std::fs::create_dir_all(&src).unwrap();
    let manifest = json!({"name": name, "version": version, "dependencies": dependencies});
    std::fs::write(src.join("package.json"), manifest.to_string()).unwrap();
    std::fs::write(src.join("index.js"), "module.exports = 1;\n").unwrap();
    let dest = dir.join("pkgs");
    std::fs::create_dir_all(&dest).unwrap();
    npm(
        ns,
        &dir.join("home"),
        &src,
        &["pack", "--pack-destination", dest.to_str().unwrap()],
    );
}

/// A fresh project in `dir/NAME` that needs `@acme/util` and `is-ok`.
fn project(dir: &Path, name: &str) -> PathBuf {
    let proj = dir.join(name);
    std::fs::create_dir_all(&proj).unwrap();
    let manifest = json!({
        "name": name, "version": "1.0.0", "private": true,
        "dependencies": {"@acme/util": "1.0.0", "is-ok": "1.0.0"},
    });
    std::fs::write(proj.join("package.json"), manifest.to_string()).unwrap();
    proj
}

/// `npm install` of project `name` from the mirror, with a fresh cache.
fn install(m: &Mirror, dir: &Path, name: &str) {
    let proj = project(dir, name);
    let registry = format!("--registry=http://{MIRROR}:{PORT}/");
    npm(
        &m.runner,
        &dir.join(format!("home-{name}")),
        &proj,
        &["install", &registry],
    );
    assert!(proj
        .join("node_modules/plain-crypto-js/package.json")
        .is_file());
}

/// The `phantom-dependency` alerts: (flow_id, package, http.url).
fn phantoms(events: &[Value]) -> Vec<(u64, String, String)> {
    events
        .iter()
        .filter(|e| e["event_type"] == "alert")
        .filter(|e| e["alert"]["metadata"]["detection"][0] == "phantom-dependency")
        .map(|e| {
            (
                e["flow_id"].as_u64().unwrap(),
                e["alert"]["metadata"]["indicator"][0]
                    .as_str()
                    .unwrap()
                    .to_string(),
                e["http"]["url"].as_str().unwrap_or_default().to_string(),
            )
        })
        .collect()
}

/// For each flow of `events`, the unknown packages its `http` events asked for (by what the
/// mirror served at those URLs).
fn unknown_by_flow(
    events: &[Value],
    served_at: &BTreeMap<String, String>,
) -> BTreeSet<(u64, String)> {
    events
        .iter()
        .filter(|e| e["event_type"] == "http")
        .filter_map(|e| {
            let url = e["http"]["url"].as_str()?;
            let package = served_at.get(url)?;
            UNKNOWN
                .contains(&package.as_str())
                .then(|| (e["flow_id"].as_u64().unwrap(), package.clone()))
        })
        .collect()
}

#[test]
fn npm_from_a_cleartext_mirror_alerts_each_package_the_inventory_lacks_until_a_reload_adds_it() {
    if !root_or_skip("registry traffic against the inventory") {
        return;
    }
    let dir = scratch("registry-inventory");
    let mut m = mirror(&dir);
    pack(&m.runner, &dir, "is-ok", "1.0.0", json!({}));
    pack(&m.runner, &dir, "plain-crypto-js", "4.2.1", json!({}));
    pack(&m.runner, &dir, "@evil/helper", "1.0.0", json!({}));
    pack(
        &m.runner,
        &dir,
        "@acme/util",
        "1.0.0",
        json!({"plain-crypto-js": "^4.2.1", "@evil/helper": "1.0.0"}),
    );
    m.start(&dir);
    let inventory = dir.join("known-packages.txt");
    std::fs::write(&inventory, KNOWN.join("\n") + "\n").unwrap();

    let pcap = dir.join("npm.pcap");
    let mut tcpdump = m.runner.tcpdump("eth0", &pcap, &dir.join("tcpdump.log"));
    let live_err = dir.join("live.stderr");
    let mut sensor = Child::spawn(
        m.runner
            .exec(env!("CARGO_BIN_EXE_egress-ids"))
            .args(["live", "-i", "eth0", "--inventory"])
            .arg(&inventory)
            .arg("--eve")
            .arg(dir.join("live.json"))
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(std::fs::File::create(&live_err).unwrap()),
        "egress-ids live",
    );
    assert!(
        wait_for_line(&live_err, "capturing on", Duration::from_secs(10)).is_some(),
        "{}",
        std::fs::read_to_string(&live_err).unwrap_or_default()
    );

    install(&m, &dir, "first");
    let served_first = m.served().len();
    // The phantoms join the inventory; SIGHUP reads it again.
    std::fs::write(&inventory, [KNOWN, UNKNOWN].concat().join("\n") + "\n").unwrap();
    common::live::hup_until(&mut sensor, &dir, "an inventory of 4 packages", 1);
    install(&m, &dir, "second");

    std::thread::sleep(Duration::from_millis(300));
    tcpdump.terminate(Duration::from_secs(5));
    let status = sensor
        .terminate(Duration::from_secs(15))
        .expect("egress-ids live exits on SIGTERM");
    let stderr = std::fs::read_to_string(&live_err).unwrap_or_default();
    assert!(
        status.success(),
        "egress-ids live exited {status}: {stderr}"
    );

    // What the mirror served (the receiver decides): both installs asked for all four
    // packages, metadata and tarball each.
    let served = m.served();
    let packages: BTreeSet<&str> = served.iter().map(|(p, _)| p.as_str()).collect();
    assert_eq!(
        packages,
        BTreeSet::from(["@acme/util", "@evil/helper", "is-ok", "plain-crypto-js"])
    );
    assert_eq!(served.len(), 16, "{served:?}");
    assert_eq!(served_first, 8, "{served:?}");
    let log = std::fs::read_to_string(&m.log).unwrap();
    let served_at: BTreeMap<String, String> = log
        .lines()
        .filter_map(|l| {
            let f: Vec<&str> = l.split(' ').collect();
            (f.len() == 5 && f[4] == "200").then(|| (f[1].to_string(), f[3].to_string()))
        })
        .collect();

    // Live: the first install's unknown packages, once per package and flow; none after the
    // reload.
    let live_events = parse_and_validate(
        &std::fs::read_to_string(dir.join("live.json")).unwrap_or_default(),
        "live --inventory",
    );
    let live = phantoms(&live_events);
    let alerted: BTreeSet<(u64, String)> = live.iter().map(|(f, p, _)| (*f, p.clone())).collect();
    assert_eq!(
        alerted.len(),
        live.len(),
        "two alerts for one package on one flow: {live:?}"
    );
    let first_flows: BTreeSet<u64> = live.iter().map(|(f, _, _)| *f).collect();
    let wanted: BTreeSet<(u64, String)> = unknown_by_flow(&live_events, &served_at)
        .into_iter()
        .filter(|(f, _)| first_flows.contains(f))
        .collect();
    assert_eq!(alerted, wanted);
    let names: BTreeSet<&str> = live.iter().map(|(_, p, _)| p.as_str()).collect();
    assert_eq!(names, BTreeSet::from(UNKNOWN));
    for (_, package, url) in &live {
        assert_eq!(served_at.get(url), Some(package), "{url}");
    }
    // Every unknown package the second install fetched went by unalerted.
    let all_unknown = unknown_by_flow(&live_events, &served_at);
    assert!(all_unknown.len() > wanted.len(), "{all_unknown:?}");
    eprintln!(
        "live: {} phantom-dependency alerts on {} flows for {names:?}; {} unknown-package requests after the reload, none alerted",
        live.len(),
        first_flows.len(),
        all_unknown.len() - wanted.len()
    );

    // Replay of tcpdump's capture with the first inventory: both installs alerted, once per
    // unknown package and flow (npm spreads its requests over connections as it likes, so the
    // two installs need not use as many flows).
    let inv_first = dir.join("known-first.txt");
    std::fs::write(&inv_first, KNOWN.join("\n") + "\n").unwrap();
    let replayed = replay(
        "registry-replay",
        &[&pcap],
        &["--inventory", inv_first.to_str().unwrap()],
    );
    let replay_alerts = phantoms(&replayed.events);
    let replay_set: BTreeSet<(u64, String)> = replay_alerts
        .iter()
        .map(|(f, p, _)| (*f, p.clone()))
        .collect();
    assert_eq!(replay_set.len(), replay_alerts.len());
    assert_eq!(replay_set, unknown_by_flow(&replayed.events, &served_at));
    assert!(replay_alerts.len() >= 2 * names.len(), "{replay_alerts:?}");
    let replay_names: BTreeSet<&str> = replay_alerts.iter().map(|(_, p, _)| p.as_str()).collect();
    assert_eq!(replay_names, BTreeSet::from(UNKNOWN));
    // No other alert on this traffic (internal mirror: no egress).
    let others: Vec<_> = replayed
        .of_type("alert")
        .into_iter()
        .filter(|e| e["alert"]["metadata"]["detection"][0] != "phantom-dependency")
        .collect();
    assert!(others.is_empty(), "{others:?}");
    // Without an inventory registry requests are not judged.
    let plain = replay("registry-replay-plain", &[&pcap], &[]);
    assert!(phantoms(&plain.events).is_empty());
    eprintln!(
        "replay: {} phantom-dependency alerts, {} http events; without --inventory 0",
        replay_alerts.len(),
        replayed.of_type("http").len()
    );
}
