//! `egress-ids run` around real npm (the system's `npm`, run by `node`), in the world of
//! [`common::runner`] (a runner namespace at 10.67.0.2, an "internet" namespace with the resolver
//! and an `openssl s_server` for the IOC name `npm-health-check.io`). Each test builds local
//! packages with `npm pack` and a project that depends on one by a `file:` path; npm runs
//! offline (`--offline`, no audit, no fund, no update check; HOME and the cache in the test's
//! directory), so the only traffic is what a package's scripts make. It proves:
//!
//! - a real `npm install` whose dependency's postinstall runs `sh -c "curl https://IOC/"` fails
//!   the step (exit status 3); the report names the ioc-domain alert, and its process chain is
//!   curl ← sh ... ← node (npm); the EVE alert's `process.exe` is curl and its `ancestry` holds
//!   node; the IOC's server logged the connection (the receiver decides);
//! - a clean `npm ci` from a lock file keeps exit status 0, raises no alert, and installs;
//! - a postinstall that detaches its curl with a double fork (it runs after npm's script shell
//!   and npm itself are gone) is still waited for and still attributed up to node, from the
//!   collector's table of exited processes.

mod common;

use common::netns::{root_or_skip, run_ok};
use common::runner::{run, world, Step, World, IOC, REGISTRY};
use common::*;
use serde_json::{json, Value};
use std::path::{Path, PathBuf};
use std::process::Output;
use std::time::Duration;

/// What keeps npm off the network: no registry request (every dependency is a local tarball),
/// no audit, no funding message, no update check.
const OFFLINE: [&str; 4] = [
    "--offline",
    "--no-audit",
    "--no-fund",
    "--no-update-notifier",
];

/// `curl` to the IOC name, as a hook would write it.
fn curl_ioc() -> String {
    format!("curl -sk --max-time 10 -o /dev/null https://{}/", IOC.0)
}

/// npm's environment: HOME (and so its user config) and cache inside `dir`.
fn npm_env(step: Step, dir: &Path) -> Step {
    step.env("HOME", dir.join("home"))
        .env("npm_config_cache", dir.join("npm-cache"))
}

/// Runs `npm ARGS` in `cwd` in the runner's namespace (outside `egress-ids run`).
fn npm(w: &World, dir: &Path, cwd: &Path, args: &[&str]) -> String {
    let mut cmd = w.runner.exec("npm");
    cmd.args(args)
        .args(OFFLINE)
        .current_dir(cwd)
        .env("HOME", dir.join("home"))
        .env("npm_config_cache", dir.join("npm-cache"));
    run_ok(&mut cmd, Duration::from_secs(60))
}

/// A package `name` 1.0.0 with `scripts`, packed by `npm pack` into `dir/pkgs`: the tarball.
fn pack(w: &World, dir: &Path, name: &str, scripts: Value) -> PathBuf {
    let src = dir.join("pkgs").join(name);
    std::fs::create_dir_all(&src).unwrap();
    let manifest = json!({"name": name, "version": "1.0.0", "scripts": scripts});
    std::fs::write(src.join("package.json"), manifest.to_string()).unwrap();
    let dest = dir.join("pkgs");
    npm(
        w,
        dir,
        &src,
        &["pack", "--pack-destination", dest.to_str().unwrap()],
    );
    let tgz = dest.join(format!("{name}-1.0.0.tgz"));
    assert!(tgz.is_file(), "npm pack made no {}", tgz.display());
    tgz
}

/// A project in `dir/project` that depends on `name` by `file:` path to its tarball.
fn project(dir: &Path, name: &str, tgz: &Path) -> PathBuf {
    let proj = dir.join("project");
    std::fs::create_dir_all(&proj).unwrap();
    let manifest = json!({
        "name": "ci-project",
        "version": "1.0.0",
        "private": true,
        "dependencies": {name: format!("file:{}", tgz.display())},
    });
    std::fs::write(proj.join("package.json"), manifest.to_string()).unwrap();
    proj
}

/// `egress-ids run --eve EVE -- npm ARGS OFFLINE` in `proj`: its output, report and events.
fn run_npm(w: &World, dir: &Path, proj: &Path, npm_args: &[&str]) -> (Output, String, Vec<Value>) {
    let eve = dir.join("eve.json");
    let argv = ["npm"].iter().chain(npm_args).chain(OFFLINE.iter());
    let out = run(
        w,
        &["--eve", eve.to_str().unwrap()],
        &npm_env(Step::argv(argv.copied()).cwd(proj), dir),
    );
    let report = String::from_utf8_lossy(&out.stderr).into_owned();
    let events = parse_and_validate(
        &std::fs::read_to_string(&eve).unwrap_or_default(),
        "run --eve",
    );
    (out, report, events)
}

/// The report's line for the ioc-domain alert on the IOC name and the chain line under it.
fn ioc_alert_chain(report: &str) -> Option<&str> {
    let head = format!("ALERT ioc-domain {}: 10.67.0.2:", IOC.0);
    let mut lines = report.lines();
    lines.find(|l| l.contains(&head) && l.contains(&format!("-> {}:443", IOC.1)))?;
    lines.next().map(str::trim)
}

/// The EVE alert on the TLS flow to the IOC's address.
fn tls_alert(events: &[Value]) -> &Value {
    events
        .iter()
        .find(|e| e["event_type"] == "alert" && e["dest_ip"] == IOC.1 && e["dest_port"] == 443)
        .unwrap_or_else(|| panic!("no alert on the TLS flow to {}: {events:#?}", IOC.1))
}

/// The chain (report) and `process` (EVE) are curl, then one or more `sh`, then node running
/// `npm <verb>`: the step's own command, where the report's chain stops.
fn assert_curl_sh_node(chain: &str, alert: &Value, verb: &str, report: &str) {
    let parts: Vec<&str> = chain
        .strip_prefix("by ")
        .unwrap_or_else(|| panic!("not a chain: {report}"))
        .split(" ← ")
        .collect();
    let (first, rest) = parts.split_first().unwrap();
    let (last, shells) = rest
        .split_last()
        .unwrap_or_else(|| panic!("no ancestor: {report}"));
    assert!(first.starts_with("curl (pid "), "{report}");
    assert!(!shells.is_empty(), "{report}");
    assert!(shells.iter().all(|p| p.starts_with("sh (pid ")), "{report}");
    assert!(last.starts_with("node (pid "), "{report}");
    assert!(last.contains(&format!("/npm {verb} ")), "{report}");
    let p = &alert["process"];
    assert_eq!(p["exe"], "/usr/bin/curl", "{alert}");
    let ancestry = p["ancestry"].as_array().cloned().unwrap_or_default();
    let node = ancestry
        .iter()
        .position(|a| a["exe"].as_str().is_some_and(|e| e.ends_with("/node")))
        .unwrap_or_else(|| panic!("no node in the ancestry: {alert}"));
    assert!(node >= 1, "{alert}");
    assert!(
        ancestry[..node]
            .iter()
            .all(|a| a["exe"].as_str().is_some_and(|e| e.ends_with("/sh"))),
        "not only shells between curl and node: {alert}"
    );
    let npm = ancestry[node]["cmdline"].as_str().unwrap_or("");
    assert!(npm.contains(&format!("/npm {verb} ")), "{alert}");
    // npm is the step: the ancestry ends there (what started egress-ids is not the step's).
    assert_eq!(
        node,
        ancestry.len() - 1,
        "the ancestry goes past the step: {alert}"
    );
}

/// How many client hellos for the IOC name its server received.
fn ioc_hellos(w: &World) -> usize {
    w.sni_received(IOC.0).iter().filter(|n| *n == IOC.0).count()
}

/// No query for the registry's name: npm stayed offline.
fn assert_no_registry_query(w: &World) {
    let log = w.dns_log();
    assert!(
        !log.contains(&format!("] {} from", REGISTRY.0)),
        "npm asked for the registry: {log}"
    );
}

#[test]
fn a_postinstall_that_calls_home_fails_npm_install_and_names_curl_sh_node() {
    if !root_or_skip("npm under egress-ids run") {
        return;
    }
    let dir = scratch("npm-postinstall");
    let w = world(&dir, "npmhook");
    let tgz = pack(
        &w,
        &dir,
        "evil-hook",
        json!({"postinstall": format!("sh -c \"{}\"", curl_ioc())}),
    );
    let proj = project(&dir, "evil-hook", &tgz);
    let before = ioc_hellos(&w);
    let (out, report, events) = run_npm(&w, &dir, &proj, &["install"]);
    eprintln!("--- the report of `egress-ids run -- npm install` ---\n{report}---");
    assert_eq!(out.status.code(), Some(3), "{report}");
    assert!(report.contains("the step called home ("), "{report}");
    let chain = ioc_alert_chain(&report).unwrap_or_else(|| panic!("no IOC alert: {report}"));
    let alert = tls_alert(&events);
    eprintln!("--- its EVE alert's process, up to node ---");
    let process = &alert["process"];
    let ancestry = process["ancestry"].as_array().into_iter().flatten();
    for p in std::iter::once(process).chain(ancestry) {
        eprintln!("{} {} {}", p["pid"], p["exe"], p["cmdline"]);
        if p["exe"].as_str().is_some_and(|e| e.ends_with("/node")) {
            break;
        }
    }
    eprintln!("---");
    assert_curl_sh_node(chain, alert, "install", &report);
    // The receiver decides: the IOC's server took the connection.
    assert!(ioc_hellos(&w) > before, "{}", w.server_log(IOC.0));
    assert!(proj.join("node_modules/evil-hook/package.json").is_file());
    assert_no_registry_query(&w);
}

#[test]
fn a_clean_npm_ci_keeps_exit_status_0() {
    if !root_or_skip("npm ci under egress-ids run") {
        return;
    }
    let dir = scratch("npm-ci-clean");
    let w = world(&dir, "npmci");
    let tgz = pack(&w, &dir, "tidy-lib", json!({"postinstall": "node -e 1"}));
    let proj = project(&dir, "tidy-lib", &tgz);
    npm(&w, &dir, &proj, &["install", "--package-lock-only"]);
    assert!(proj.join("package-lock.json").is_file());
    assert!(!proj.join("node_modules").exists());
    let (out, report, events) = run_npm(&w, &dir, &proj, &["ci"]);
    eprintln!("--- the report of `egress-ids run -- npm ci` ---\n{report}---");
    assert_eq!(out.status.code(), Some(0), "{report}");
    assert!(report.contains(", 0 alerts\n"), "{report}");
    assert!(
        report.contains("egress-ids run: no alert; exit status 0"),
        "{report}"
    );
    assert!(alert_rows(&events).is_empty(), "{events:#?}");
    assert!(proj.join("node_modules/tidy-lib/package.json").is_file());
    assert_no_registry_query(&w);
}

#[test]
fn a_detached_double_fork_from_a_postinstall_is_waited_for_and_named() {
    if !root_or_skip("npm detached postinstall under egress-ids run") {
        return;
    }
    let dir = scratch("npm-detached");
    let w = world(&dir, "npmfork");
    // The subshell starts the inner shell in the background, its stdio away from npm's pipes
    // (npm waits until those close: a hook that keeps them is not detached from npm), and
    // exits at once: the inner shell is an orphan of `run` (the subreaper). It waits (at most
    // 5 s) for npm to end, notes whether it did, then calls: by then npm, its script shell and
    // the subshell are gone. (`$PPID` is expanded by npm's script shell: node's pid; `\$` is
    // left to the inner one.)
    let state = dir.join("npm-state");
    let inner = format!(
        "i=0; while kill -0 $PPID 2>/dev/null && [ \\$i -lt 50 ]; do sleep 0.1; i=\\$((i+1)); done; \
         if kill -0 $PPID 2>/dev/null; then echo alive; else echo gone; fi > {}; {}",
        state.display(),
        curl_ioc()
    );
    let hook = format!("sh -c \"(sh -c '{inner}' </dev/null >/dev/null 2>&1 &) ; true\"");
    let tgz = pack(&w, &dir, "late-hook", json!({"postinstall": hook}));
    let proj = project(&dir, "late-hook", &tgz);
    let before = ioc_hellos(&w);
    let (out, report, events) = run_npm(&w, &dir, &proj, &["install"]);
    eprintln!("--- the report of the detached postinstall ---\n{report}---");
    assert_eq!(out.status.code(), Some(3), "{report}");
    assert!(!report.contains("left processes running"), "{report}");
    let npm_then = std::fs::read_to_string(&state).unwrap_or_default();
    assert_eq!(npm_then.trim(), "gone", "npm still ran when curl started");
    let chain = ioc_alert_chain(&report).unwrap_or_else(|| panic!("no IOC alert: {report}"));
    assert_curl_sh_node(chain, tls_alert(&events), "install", &report);
    assert!(ioc_hellos(&w) > before, "{}", w.server_log(IOC.0));
}
