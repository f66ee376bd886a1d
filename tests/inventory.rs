//! `egress-ids inventory build|check` and `run --inventory` on real lockfiles
//! (tests/data/lockfiles: three made by a real `npm install` against a local registry, five
//! committed lockfiles of open-source projects; see its README for sources and licences).
//!
//! - The seed's two scripts, taken verbatim from ../shared/seeds/001_17d98c47a03cf721.txt (only
//!   their hard-coded inventory path replaced by the test's) and run with bash and jq, agree
//!   with `inventory build` and `inventory check` on every package-lock.json: the exact
//!   differences asserted are the seed's documented defects (its `""` root key, nested packages
//!   as `a/node_modules/b`, aliases by their folder name, workspace folders and links, no
//!   version 1 lockfile at all), and the exit codes are the same except for a missing lockfile.
//! - yarn.lock (1 and berry) and pnpm-lock.yaml (v5.4, v6, v9), which the seed cannot read, give
//!   the names an independent reading gives (names.py: PyYAML, and yarn 1's tarball URLs).
//! - The EVE alert validates against Suricata's schema with egress-ids' extensions.
//! - `run --inventory FILE -- npm ci` fails the step before npm starts (npm writes a debug log
//!   into its cache at every start: there is none), and with `--audit` npm does start (the log
//!   is there): the control that the marker works. The second part runs `run` in the runner's
//!   namespace and needs root.

mod common;

use common::netns::root_or_skip;
use common::runner::{run, world, Step};
use common::*;
use std::collections::BTreeSet;
use std::path::{Path, PathBuf};
use std::process::{Command, Output};

/// The committed lockfiles.
fn data() -> PathBuf {
    root().join("tests/data/lockfiles")
}

/// Runs `egress-ids ARGS` with `env` added.
fn ids(args: &[&str], env: &[(&str, &str)]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_egress-ids"))
        .args(args)
        .env_remove("GITHUB_REPOSITORY")
        .env_remove("GITHUB_RUN_ID")
        .env_remove("CI_PROJECT_PATH")
        .env_remove("CI_PIPELINE_ID")
        .env_remove("CI_REPO")
        .envs(env.iter().copied())
        .output()
        .expect("run egress-ids")
}

fn lines(bytes: &[u8]) -> BTreeSet<String> {
    String::from_utf8_lossy(bytes)
        .lines()
        .map(str::to_owned)
        .collect()
}

fn set(names: &[&str]) -> BTreeSet<String> {
    names.iter().map(|n| n.to_string()).collect()
}

/// The seed's scripts, written into `dir` with `known` as their inventory file.
struct Seed {
    check: PathBuf,
    build: PathBuf,
}

/// One of the seed's scripts, verbatim: from its `#!/bin/bash` line to its last `echo`.
fn seed_script(text: &str, name: &str, last: &str) -> String {
    let start = text
        .find(&format!("#!/bin/bash\n# /usr/local/bin/{name}"))
        .unwrap_or_else(|| panic!("the seed has no {name}"));
    let len = text[start..].find(last).expect("the script's last line") + last.len();
    format!("{}\n", &text[start..start + len])
}

/// Replaces the one line `old` of `script` by `new`.
fn replace_once(script: &str, old: &str, new: &str) -> String {
    assert_eq!(script.matches(old).count(), 1, "{old} in\n{script}");
    script.replace(old, new)
}

fn seed(dir: &Path, known: &Path) -> Option<Seed> {
    let text = std::fs::read_to_string(shared()?.join("seeds/001_17d98c47a03cf721.txt"))
        .expect("read the seed");
    let check = seed_script(
        &text,
        "check-phantom-deps.sh",
        "echo \"All packages present in organisation inventory.\"",
    );
    let check = replace_once(
        &check,
        "INVENTORY_FILE=\"/var/lib/ci-security/known-packages.txt\"",
        &format!("INVENTORY_FILE=\"{}\"", known.display()),
    );
    let build = seed_script(
        &text,
        "build-package-inventory.sh",
        "echo \"Inventory built: $(wc -l < \"$OUTPUT_FILE\") unique packages\"",
    );
    let build = replace_once(
        &build,
        "OUTPUT_FILE=\"/var/lib/ci-security/known-packages.txt\"",
        &format!("OUTPUT_FILE=\"{}\"", known.display()),
    );
    let seed = Seed {
        check: dir.join("check-phantom-deps.sh"),
        build: dir.join("build-package-inventory.sh"),
    };
    std::fs::write(&seed.check, check).unwrap();
    std::fs::write(&seed.build, build).unwrap();
    Some(seed)
}

/// Runs a seed script with bash (C collation, as `inventory build` sorts by byte).
fn bash(script: &Path, args: &[&Path]) -> Output {
    Command::new("bash")
        .arg(script)
        .args(args)
        .env("LC_ALL", "C")
        .env_remove("CI_SECURITY_WEBHOOK")
        .output()
        .expect("run bash")
}

/// The seed's inventory of the package-lock.json files under `dir`.
fn seed_build(seed: &Seed, known: &Path, dir: &Path) -> BTreeSet<String> {
    let out = bash(&seed.build, &[dir]);
    assert!(out.status.success(), "{out:?}");
    lines(&std::fs::read(known).unwrap())
}

/// `inventory check --inventory INVENTORY EXTRA... LOCKFILES...` with `env` added.
fn check(inventory: &Path, extra: &[&str], lockfiles: &[&Path], env: &[(&str, &str)]) -> Output {
    let mut args = vec![
        "inventory",
        "check",
        "--inventory",
        inventory.to_str().unwrap(),
    ];
    args.extend_from_slice(extra);
    args.extend(lockfiles.iter().map(|p| p.to_str().unwrap()));
    ids(&args, env)
}

/// `inventory build --out OUT PATHS`: exit code, names, stderr.
fn build(out: &Path, paths: &[&Path]) -> (i32, BTreeSet<String>, String) {
    let mut args = vec!["inventory", "build", "--out", out.to_str().unwrap()];
    args.extend(paths.iter().map(|p| p.to_str().unwrap()));
    let o = ids(&args, &[]);
    let names = std::fs::read(out).map(|b| lines(&b)).unwrap_or_default();
    (
        o.status.code().unwrap_or(-1),
        names,
        String::from_utf8_lossy(&o.stderr).into_owned(),
    )
}

/// The names after an `ALERT:` line, each indented by two spaces (both tools print them so).
fn unknown_names(out: &Output) -> BTreeSet<String> {
    let text = String::from_utf8_lossy(&out.stdout);
    text.lines()
        .filter_map(|l| l.strip_prefix("  "))
        .map(str::to_owned)
        .collect()
}

#[test]
fn inventory_build_agrees_with_the_seed_modulo_its_defects() {
    let dir = scratch("inventory-build-seed");
    let known = dir.join("known-packages.txt");
    let Some(seed) = seed(&dir, &known) else {
        return;
    };
    let ours = dir.join("ours.txt");
    // Version 3 (npm 7+): a root, a workspace folder and its link, a nested package, an alias.
    let v3 = data().join("npm-v3-app");
    let from_seed = seed_build(&seed, &known, &v3);
    let (code, from_us, summary) = build(&ours, &[&v3]);
    assert_eq!(code, 0, "{summary}");
    assert!(
        summary.contains("npm-v3-app/package-lock.json: npm, 6 packages, 3 local entries"),
        "{summary}"
    );
    assert_eq!(
        from_us,
        set(&["@org/util", "a", "axios", "b", "form-data", "shared"])
    );
    assert_eq!(
        from_seed
            .difference(&from_us)
            .cloned()
            .collect::<BTreeSet<_>>(),
        // The root key, the nested shared@1 (ours: shared), the alias my-shared (ours: the
        // package it installs, shared), the workspace's link and its folder.
        set(&["", "b/node_modules/shared", "my-shared", "w", "packages/w"])
    );
    assert!(from_us.is_subset(&from_seed));
    // Version 2: the compromised build. Only the root key differs.
    let v2 = data().join("npm-v2-compromised");
    let from_seed = seed_build(&seed, &known, &v2);
    let (code, from_us, _) = build(&ours, &[&v2]);
    assert_eq!(code, 0);
    let mut expected = from_us.clone();
    expected.insert(String::new());
    assert_eq!(from_seed, expected);
    assert!(from_us.contains("plain-crypto-js"));
    // Version 1 (npm 5/6): the seed's `.packages | keys[]` finds nothing (jq fails on null);
    // ours reads the nested `dependencies`, alias included.
    let v1 = data().join("npm-v1-app");
    assert_eq!(seed_build(&seed, &known, &v1), BTreeSet::new());
    let (code, from_us, _) = build(&ours, &[&v1]);
    assert_eq!(code, 0);
    assert_eq!(
        from_us,
        set(&["@org/util", "a", "axios", "b", "form-data", "shared"])
    );
    // The whole tree: the seed reads only the package-lock.json files; ours all eight.
    let from_seed = seed_build(&seed, &known, &data());
    let (code, from_us, summary) = build(&ours, &[&data()]);
    assert_eq!(code, 0, "{summary}");
    assert!(
        summary.ends_with("inventory: 1630 unique packages from 8 of 8 lockfiles\n"),
        "{summary}"
    );
    let seed_only: BTreeSet<String> = from_seed.difference(&from_us).cloned().collect();
    assert_eq!(
        seed_only,
        set(&["", "b/node_modules/shared", "my-shared", "w", "packages/w"])
    );
    // The seed's own inventory of that tree is read as it is: `b/node_modules/shared` as
    // `shared`, the workspace folder `packages/w` skipped and said; every lockfile checks clean.
    let lockfile = v3.join("package-lock.json");
    let out = check(&known, &[], &[&lockfile], &[]);
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(0), "{stderr}");
    assert!(
        stderr.contains("1 workspace folder lines skipped"),
        "{stderr}"
    );
}

#[test]
fn inventory_check_agrees_with_the_seed() {
    let dir = scratch("inventory-check-seed");
    let known = dir.join("known-packages.txt");
    let Some(seed) = seed(&dir, &known) else {
        return;
    };
    let org = [data().join("npm-v3-app"), data().join("npm-v1-app")];
    let (code, _, _) = build(&known, &[&org[0], &org[1]]);
    assert_eq!(code, 0);
    let compromised = data().join("npm-v2-compromised/package-lock.json");
    let app = data().join("npm-v3-app/package-lock.json");
    let both = |lockfile: &Path| {
        let ours = check(&known, &[], &[lockfile], &[]);
        (ours, bash(&seed.check, &[lockfile]))
    };
    // A. The compromised build: plain-crypto-js, exit 1 from both.
    let (ours, theirs) = both(&compromised);
    assert_eq!(unknown_names(&ours), set(&["plain-crypto-js"]), "{ours:?}");
    assert_eq!(unknown_names(&theirs), unknown_names(&ours), "{theirs:?}");
    assert_eq!(
        (ours.status.code(), theirs.status.code()),
        (Some(1), Some(1))
    );
    let text = String::from_utf8_lossy(&ours.stdout);
    assert!(
        text.contains(
            "ALERT: Unknown packages not in organisation inventory:\n  plain-crypto-js\n"
        ),
        "{text}"
    );
    // B. The organisation's own app: ours 0; the seed flags its own key forms (the seed's
    // defects), exit 1.
    let (ours, theirs) = both(&app);
    assert_eq!(ours.status.code(), Some(0), "{ours:?}");
    assert!(String::from_utf8_lossy(&ours.stdout)
        .contains("All packages present in organisation inventory."));
    assert_eq!(theirs.status.code(), Some(1));
    assert_eq!(
        unknown_names(&theirs),
        set(&["b/node_modules/shared", "my-shared", "packages/w", "w"])
    );
    // C. An inventory that knows every package: 0 from both.
    let (code, _, _) = build(&known, &[&data()]);
    assert_eq!(code, 0);
    let (ours, theirs) = both(&compromised);
    assert_eq!(
        (ours.status.code(), theirs.status.code()),
        (Some(0), Some(0))
    );
    assert!(String::from_utf8_lossy(&theirs.stdout)
        .contains("All packages present in organisation inventory."));
    // D. The seed's own inventory (its build script, over the compromised build's folder)
    // read by ours: its `""` line is blank; the app's lockfile is checked by both.
    seed_build(&seed, &known, &data().join("npm-v2-compromised"));
    let (ours, theirs) = both(&app);
    assert_eq!(
        (ours.status.code(), theirs.status.code()),
        (Some(1), Some(1))
    );
    assert_eq!(unknown_names(&ours), set(&["@org/util", "b"]));
    assert_eq!(
        unknown_names(&theirs),
        set(&[
            "@org/util",
            "b",
            "b/node_modules/shared",
            "my-shared",
            "packages/w",
            "w"
        ])
    );
    // E. A missing lockfile: the seed exits 1 ("aborting build"), ours 2 (bad input).
    let missing = dir.join("none/package-lock.json");
    let (ours, theirs) = both(&missing);
    assert_eq!(
        (ours.status.code(), theirs.status.code()),
        (Some(2), Some(1))
    );
}

#[test]
fn yarn_and_pnpm_names_match_an_independent_reading() {
    let dir = scratch("inventory-yarn-pnpm");
    for (file, format, count) in [
        ("immer-yarn-v1/yarn.lock", "yarn-v1", 1009),
        ("clipanion-yarn-berry/yarn.lock", "yarn-berry", 584),
        ("defu-pnpm-v5/pnpm-lock.yaml", "pnpm", 449),
        ("defu-pnpm-v6/pnpm-lock.yaml", "pnpm", 529),
        ("defu-pnpm-v9/pnpm-lock.yaml", "pnpm", 484),
    ] {
        let path = data().join(file);
        let (code, ours, summary) = build(&dir.join("out.txt"), &[&path]);
        assert_eq!(code, 0, "{summary}");
        assert!(
            summary.contains(&format!("{file}: {format}, {count} packages")),
            "{summary}"
        );
        let py = Command::new("/usr/bin/python3")
            .arg(data().join("names.py"))
            .arg(&path)
            .output()
            .expect("python3");
        assert!(py.status.success(), "{py:?}");
        assert_eq!(ours, lines(&py.stdout), "{file}");
        assert_eq!(ours.len(), count, "{file}");
    }
}

#[test]
fn a_bad_lockfile_is_named_and_skipped() {
    let dir = scratch("inventory-bad");
    std::fs::create_dir_all(dir.join("good")).unwrap();
    std::fs::create_dir_all(dir.join("bad")).unwrap();
    std::fs::copy(
        data().join("npm-v2-compromised/package-lock.json"),
        dir.join("good/package-lock.json"),
    )
    .unwrap();
    std::fs::write(
        dir.join("bad/package-lock.json"),
        "{\"lockfileVersion\": 3,",
    )
    .unwrap();
    std::fs::write(
        dir.join("bad/pnpm-lock.yaml"),
        "lockfileVersion: '9.0'\npackages: *x\n",
    )
    .unwrap();
    let (code, names, summary) = build(&dir.join("out.txt"), &[&dir]);
    assert_eq!(code, 1, "{summary}");
    assert!(
        summary.contains("bad/package-lock.json: skipped: npm: not valid JSON for an npm lockfile: EOF while parsing"),
        "{summary}"
    );
    assert!(
        summary.contains("bad/pnpm-lock.yaml: skipped: pnpm: not valid YAML"),
        "{summary}"
    );
    assert!(
        summary.ends_with("inventory: 5 unique packages from 1 of 3 lockfiles\n"),
        "{summary}"
    );
    assert!(names.contains("plain-crypto-js") && names.len() == 5);
    // Nothing readable: nothing written, 2.
    let (code, _, summary) = build(&dir.join("none.txt"), &[&dir.join("bad")]);
    assert_eq!(code, 2, "{summary}");
    assert!(!dir.join("none.txt").exists());
    // check: a bad lockfile is bad input (2), still after checking the others.
    let known = dir.join("out.txt");
    let (good, bad) = (
        dir.join("good/package-lock.json"),
        dir.join("bad/package-lock.json"),
    );
    let o = check(&known, &[], &[&good, &bad], &[]);
    assert_eq!(o.status.code(), Some(2));
    let text = String::from_utf8_lossy(&o.stdout);
    assert!(
        text.contains("good/package-lock.json: All packages present"),
        "{text}"
    );
    assert!(
        text.contains("bad/package-lock.json: cannot check: npm: not valid JSON"),
        "{text}"
    );
}

#[test]
fn the_eve_alert_names_the_package_lockfile_and_ci_job_and_fits_the_schema() {
    let dir = scratch("inventory-eve");
    let known = dir.join("known.txt");
    std::fs::write(&known, "# the organisation\na\naxios\nform-data\nshared\n").unwrap();
    let lockfile = data().join("npm-v2-compromised/package-lock.json");
    for (env, repo, pipeline) in [
        (
            &[("GITHUB_REPOSITORY", "org/app"), ("GITHUB_RUN_ID", "4242")][..],
            Some("org/app"),
            Some("4242"),
        ),
        (
            &[("CI_PROJECT_PATH", "grp/app"), ("CI_PIPELINE_ID", "77")][..],
            Some("grp/app"),
            Some("77"),
        ),
        (&[("CI_REPO", "app")][..], Some("app"), None),
        (&[][..], None, None),
    ] {
        let o = check(&known, &["--eve", "-"], &[&lockfile], env);
        assert_eq!(o.status.code(), Some(1));
        // With --eve -, the person's report goes to stderr.
        assert!(String::from_utf8_lossy(&o.stderr).contains("  plain-crypto-js\n"));
        let events = parse_and_validate(&String::from_utf8_lossy(&o.stdout), "inventory check");
        assert_eq!(events.len(), 1);
        let alert = &events[0]["alert"];
        assert_eq!(alert["signature_id"], 9_200_011);
        assert_eq!(alert["severity"], 1);
        let m = &alert["metadata"];
        assert_eq!(m["detection"][0], "phantom-dependency");
        assert_eq!(m["indicator"][0], "plain-crypto-js");
        assert_eq!(m["lockfile"][0], lockfile.to_str().unwrap());
        assert_eq!(m["ci_repository"][0].as_str(), repo);
        assert_eq!(m["ci_pipeline"][0].as_str(), pipeline);
        assert!(events[0].get("src_ip").is_none() && events[0].get("flow_id").is_none());
    }
}

/// A copy of the compromised build's project, and npm's cache folder (absent until npm runs).
fn victim(dir: &Path) -> (PathBuf, PathBuf) {
    let proj = dir.join("victim");
    std::fs::create_dir_all(&proj).unwrap();
    for f in ["package.json", "package-lock.json"] {
        std::fs::copy(data().join("npm-v2-compromised").join(f), proj.join(f)).unwrap();
    }
    (proj, dir.join("npm-cache"))
}

/// `npm ci` as the step runs it: offline, no audit, its cache in the test's folder.
fn npm_ci(cache: &Path) -> Vec<String> {
    [
        "npm",
        "ci",
        "--offline",
        "--no-audit",
        "--no-fund",
        "--no-update-notifier",
        "--cache",
        cache.to_str().unwrap(),
    ]
    .map(String::from)
    .to_vec()
}

#[test]
fn run_inventory_fails_the_step_before_npm_ci_starts() {
    let dir = scratch("inventory-run-refused");
    let known = dir.join("known.txt");
    let (code, _, _) = build(&known, &[&data().join("npm-v3-app")]);
    assert_eq!(code, 0);
    let (proj, cache) = victim(&dir);
    let eve = dir.join("eve.json");
    // The check comes before the capture: no privilege is needed to be refused.
    let mut cmd = Command::new(env!("CARGO_BIN_EXE_egress-ids"));
    cmd.args(["run", "--inventory", known.to_str().unwrap()])
        .args(["--eve", eve.to_str().unwrap(), "--"])
        .args(npm_ci(&cache))
        .current_dir(&proj)
        .env("HOME", dir.join("home"))
        .env("GITHUB_REPOSITORY", "org/victim");
    let out = cmd.output().expect("run egress-ids run");
    let report = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(3), "{report}");
    assert!(
        report.contains("ALERT: Unknown packages not in organisation inventory:"),
        "{report}"
    );
    assert!(report.contains("  plain-crypto-js"), "{report}");
    assert!(report.contains("the command was not started"), "{report}");
    // npm never ran: it writes a debug log into its cache at every start.
    assert!(!cache.exists(), "npm started: {cache:?} exists");
    assert!(!proj.join("node_modules").exists());
    let events = parse_and_validate(&std::fs::read_to_string(&eve).unwrap(), "run --inventory");
    let names: Vec<&str> = events
        .iter()
        .map(|e| e["alert"]["metadata"]["indicator"][0].as_str().unwrap())
        .collect();
    assert_eq!(names, ["plain-crypto-js"]);
    assert_eq!(
        events[0]["alert"]["metadata"]["ci_repository"][0],
        "org/victim"
    );
}

#[test]
fn run_inventory_audit_reports_and_npm_ci_starts() {
    if !root_or_skip("egress-ids run --inventory in namespaces") {
        return;
    }
    let dir = scratch("inventory-run-audit");
    let known = dir.join("known.txt");
    let (code, _, _) = build(&known, &[&data().join("npm-v3-app")]);
    assert_eq!(code, 0);
    let (proj, cache) = victim(&dir);
    let eve = dir.join("eve.json");
    let w = world(&dir, "inv");
    let step = Step::argv(npm_ci(&cache))
        .cwd(&proj)
        .env("HOME", dir.join("home"));
    let out = run(
        &w,
        &[
            "--audit",
            "--inventory",
            known.to_str().unwrap(),
            "--eve",
            eve.to_str().unwrap(),
        ],
        &step,
    );
    let report = String::from_utf8_lossy(&out.stderr);
    eprintln!("{report}");
    // npm ci ran (offline, its tarballs are in no cache: it fails with its own status).
    assert!(cache.join("_logs").is_dir(), "npm did not start: {report}");
    assert!(!matches!(out.status.code(), Some(0 | 2 | 3)), "{report}");
    assert!(report.contains("  plain-crypto-js"), "{report}");
    assert!(
        report.contains("ALERT phantom-dependency plain-crypto-js: in "),
        "{report}"
    );
    assert!(
        report
            .contains("its lockfile names packages absent from the inventory (1 alerts); --audit"),
        "{report}"
    );
    let events = parse_and_validate(&std::fs::read_to_string(&eve).unwrap(), "run --audit");
    let phantom: Vec<_> = events
        .iter()
        .filter(|e| e["alert"]["metadata"]["detection"][0] == "phantom-dependency")
        .collect();
    assert_eq!(phantom.len(), 1);
    // No lockfile in the step's folder: said, and the step runs.
    let empty = dir.join("empty");
    std::fs::create_dir_all(&empty).unwrap();
    let out = run(
        &w,
        &["--inventory", known.to_str().unwrap()],
        &Step::sh("exit 0").cwd(&empty),
    );
    let report = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(0), "{report}");
    assert!(report.contains("no lockfile in "), "{report}");
}
