//! The man pages and shell completions the binary generates from its own clap definitions
//! (`egress-ids man`, `egress-ids completions`), checked with the tools that read them: groff
//! and man render every page without a warning, and bash, with the completion script sourced,
//! completes a subcommand.

use crate::common::*;
use std::path::Path;
use std::process::Command;

/// The visible subcommands, as `egress-ids --help` lists them.
fn subcommands() -> Vec<String> {
    let out = egress_ids(&["--help"]);
    let help = String::from_utf8(out.stdout).unwrap();
    let list: Vec<String> = help
        .split("Commands:\n")
        .nth(1)
        .expect("a Commands section")
        .lines()
        .take_while(|l| !l.trim().is_empty())
        .filter(|l| l.starts_with("  ") && !l.starts_with("   "))
        .filter_map(|l| l.split_whitespace().next())
        .filter(|name| *name != "help")
        .map(str::to_string)
        .collect();
    assert!(list.len() >= 5, "{help}");
    list
}

fn run(cmd: &mut Command) -> (bool, String, String) {
    let out = cmd.output().unwrap_or_else(|e| panic!("{cmd:?}: {e}"));
    (
        out.status.success(),
        String::from_utf8_lossy(&out.stdout).into_owned(),
        String::from_utf8_lossy(&out.stderr).into_owned(),
    )
}

#[test]
fn man_pages_render_without_warnings_and_name_every_subcommand() {
    let dir = scratch("manual-pages");
    let out = egress_ids(&["man", "--out", dir.to_str().unwrap()]);
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let subs = subcommands();
    let mut pages = vec![dir.join("egress-ids.1")];
    pages.extend(subs.iter().map(|s| dir.join(format!("egress-ids-{s}.1"))));
    let listed: Vec<&str> = std::str::from_utf8(&out.stdout).unwrap().lines().collect();
    assert_eq!(
        listed.len(),
        pages.len(),
        "one page per subcommand and the main one"
    );
    for page in &pages {
        assert!(page.is_file(), "{} was not written", page.display());
        // groff's own check: every warning enabled, no output.
        let (ok, _, warnings) = run(Command::new("groff")
            .args(["-man", "-Tutf8", "-ww", "-z"])
            .arg(page));
        assert!(ok && warnings.is_empty(), "{}: {warnings}", page.display());
        // What a user sees with `man`.
        let (ok, text, warnings) = run(Command::new("man")
            .args(["--warnings", "-l"])
            .arg(page)
            .env("MANPAGER", "cat")
            .env("MANWIDTH", "100")
            .env("LC_ALL", "C.UTF-8"));
        assert!(ok && warnings.is_empty(), "{}: {warnings}", page.display());
        assert!(text.contains("NAME") && text.contains("SYNOPSIS"), "{text}");
    }
    let (_, main, _) = run(Command::new("man")
        .arg("-l")
        .arg(&pages[0])
        .env("MANPAGER", "cat")
        .env("MANWIDTH", "100")
        .env("LC_ALL", "C.UTF-8"));
    for sub in &subs {
        assert!(
            main.contains(&format!("egress-ids-{sub}(1)")),
            "egress-ids(1) does not name {sub}:\n{main}"
        );
    }
    // The replay page documents the flags, the sensor name among them.
    let replay = std::fs::read_to_string(dir.join("egress-ids-replay.1")).unwrap();
    assert!(replay.contains("sensor\\-name"), "{replay}");
    // Without --out: the main page on stdout.
    let out = egress_ids(&["man"]);
    assert_eq!(out.stdout, std::fs::read(&pages[0]).unwrap());
    eprintln!(
        "man: {} pages render without warnings: {subs:?}",
        pages.len()
    );
}

/// Completes the words `line` in a bash that sourced the script, as bash would on TAB.
fn bash_complete(script: &Path, words: &[&str]) -> Vec<String> {
    let quoted: Vec<String> = words.iter().map(|w| format!("'{w}'")).collect();
    let program = format!(
        r#"set -e
source '{script}'
complete -p egress-ids
spec=$(complete -p egress-ids)
fn=$(printf '%s\n' "$spec" | sed -n 's/.*-F \([^ ]*\).*/\1/p')
COMP_WORDS=({words})
COMP_CWORD=$(( ${{#COMP_WORDS[@]}} - 1 ))
COMP_LINE="${{COMP_WORDS[*]}}"
COMP_POINT=${{#COMP_LINE}}
"$fn" egress-ids "${{COMP_WORDS[COMP_CWORD]}}" "${{COMP_WORDS[COMP_CWORD-1]}}"
printf 'reply:%s\n' "${{COMPREPLY[@]}}"
"#,
        script = script.display(),
        words = quoted.join(" ")
    );
    let (ok, stdout, stderr) = run(Command::new("bash").args(["--norc", "-c", &program]));
    assert!(ok, "bash: {stderr}\n{stdout}");
    assert!(
        stdout.contains(" -F _egress__ids egress-ids"),
        "not registered: {stdout}"
    );
    stdout
        .lines()
        .filter_map(|l| l.strip_prefix("reply:"))
        .map(str::to_string)
        .collect()
}

#[test]
fn bash_completes_subcommands_and_flags() {
    let dir = scratch("manual-completions");
    let out = egress_ids(&["completions", "bash"]);
    assert!(out.status.success());
    let script = dir.join("egress-ids.bash");
    std::fs::write(&script, &out.stdout).unwrap();
    assert_eq!(bash_complete(&script, &["egress-ids", "re"]), ["replay"]);
    let flags = bash_complete(&script, &["egress-ids", "live", "--sensor"]);
    assert_eq!(flags, ["--sensor-name"]);
    // Every shell clap_complete knows gets a script naming the subcommands.
    for shell in ["bash", "zsh", "fish", "elvish", "powershell"] {
        let out = egress_ids(&["completions", shell]);
        let text = String::from_utf8(out.stdout).unwrap();
        assert!(
            out.status.success() && text.contains("merge-learned"),
            "{shell}"
        );
    }
    let out = egress_ids(&["completions", "tcsh"]);
    assert_eq!(out.status.code(), Some(2));
    eprintln!("completions: bash completes `egress-ids re` to replay");
}

#[test]
fn a_closed_pipe_is_an_error_not_a_panic() {
    let (_, _, stderr) = run(Command::new("bash").args([
        "-c",
        &format!(
            "'{}' completions bash | true",
            env!("CARGO_BIN_EXE_egress-ids")
        ),
    ]));
    assert!(!stderr.contains("panicked"), "{stderr}");
}
