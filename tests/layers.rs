//! The dependency direction of the library's top-level modules: each may import only the modules
//! that stand before it in [`LAYERS`] (and the parser crate, `crates/proto`, below them all).
//! The test reads every source file, finds each `crate::<module>` path (also inside `use
//! crate::{a, b::c}` groups), and fails with the file and line of every import that points up
//! the chain. `cargo test --test layers -- --nocapture` prints the graph.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

/// The top-level modules of `src/`, lowest first: a module may import any module before it and
/// none after it. docs/ARCHITECTURE.md explains each.
const LAYERS: &[&str] = &[
    "units",
    "capture",
    "flow",
    "host",
    "detect",
    "counters",
    "eve",
    "engine",
    "pipeline",
    "output",
    "settings",
    "options",
    "replay",
    "privileges",
    "sensor",
    "daemon",
    "inventory",
    "run",
];

/// The binary's own modules (declared in `main.rs`, not in the library): the command line.
const BINARY: &[&str] = &["cli"];

/// Modules any layer may use: test helpers only.
const ANYWHERE: &[&str] = &["testutil"];

/// One `crate::<target>` reference.
struct Import {
    file: PathBuf,
    line: usize,
    target: String,
}

#[test]
fn modules_import_only_the_modules_below_them() {
    let src = Path::new(env!("CARGO_MANIFEST_DIR")).join("src");
    let mut graph: BTreeMap<(String, String), usize> = BTreeMap::new();
    let mut violations = Vec::new();
    let mut unknown = Vec::new();
    for entry in std::fs::read_dir(&src).expect("read src/") {
        let path = entry.expect("list src/").path();
        let name = path.file_stem().unwrap().to_string_lossy().into_owned();
        if matches!(name.as_str(), "lib" | "main")
            || BINARY.contains(&name.as_str())
            || ANYWHERE.contains(&name.as_str())
        {
            continue;
        }
        let Some(rank) = LAYERS.iter().position(|l| *l == name) else {
            unknown.push(name);
            continue;
        };
        for import in imports_of(&path) {
            if ANYWHERE.contains(&import.target.as_str()) || import.target == name {
                continue;
            }
            *graph
                .entry((name.clone(), import.target.clone()))
                .or_default() += 1;
            match LAYERS.iter().position(|l| *l == import.target) {
                Some(t) if t < rank => {}
                _ => violations.push(format!(
                    "{}:{}: `{name}` imports `crate::{}`, which stands {} it",
                    import.file.display(),
                    import.line,
                    import.target,
                    if LAYERS.contains(&import.target.as_str()) {
                        "after"
                    } else {
                        "outside the layers, not before"
                    },
                )),
            }
        }
    }
    println!("module graph (importer -> imported: paths):");
    for ((from, to), n) in &graph {
        println!("  {from} -> {to}: {n}");
    }
    assert!(
        unknown.is_empty(),
        "top-level modules missing from LAYERS in tests/layers.rs: {unknown:?}; give each its place in the chain"
    );
    assert!(
        violations.is_empty(),
        "{} imports point up the chain {LAYERS:?}:\n{}",
        violations.len(),
        violations.join("\n")
    );
}

/// Every `crate::<module>` path in the files of one top-level module (a file or a folder).
fn imports_of(path: &Path) -> Vec<Import> {
    let mut files = Vec::new();
    collect_rs(path, &mut files);
    let mut out = Vec::new();
    for file in files {
        let text = std::fs::read_to_string(&file).expect("read a source file");
        let code: String = text
            .lines()
            .map(|l| strip_comment(l).to_owned() + "\n")
            .collect();
        let mut from = 0;
        while let Some(at) = code[from..].find("crate::") {
            let start = from + at;
            from = start + "crate::".len();
            // `egress_crate::x` or `proto_crate::` are other names, not this crate.
            if code[..start].ends_with(|c: char| c.is_ascii_alphanumeric() || c == '_') {
                continue;
            }
            let line = code[..start].matches('\n').count() + 1;
            for target in targets(&code[from..]) {
                out.push(Import {
                    file: file.clone(),
                    line,
                    target,
                });
            }
        }
    }
    out
}

/// The modules named right after `crate::`: one identifier, or each item of a `{...}` group
/// (which may run over several lines).
fn targets(after: &str) -> Vec<String> {
    if let Some(group) = after.strip_prefix('{') {
        let mut depth = 0usize;
        let mut items = Vec::new();
        let mut current = String::new();
        for c in group.chars() {
            match c {
                '{' => depth += 1,
                '}' if depth == 0 => break,
                '}' => depth -= 1,
                ',' if depth == 0 => {
                    items.push(std::mem::take(&mut current));
                    continue;
                }
                _ => {}
            }
            current.push(c);
        }
        items.push(current);
        items.iter().filter_map(|item| ident(item.trim())).collect()
    } else {
        ident(after).into_iter().collect()
    }
}

fn ident(text: &str) -> Option<String> {
    let id: String = text
        .chars()
        .take_while(|c| c.is_ascii_alphanumeric() || *c == '_')
        .collect();
    (!id.is_empty() && id != "self").then_some(id)
}

/// The line without a `//` comment (doc links such as [`crate::engine`] are not imports).
fn strip_comment(line: &str) -> &str {
    match line.find("//") {
        Some(at) => &line[..at],
        None => line,
    }
}

fn collect_rs(path: &Path, files: &mut Vec<PathBuf>) {
    if path.is_dir() {
        let mut entries: Vec<_> = std::fs::read_dir(path)
            .expect("read a source folder")
            .map(|e| e.expect("list a source folder").path())
            .collect();
        entries.sort();
        for p in entries {
            collect_rs(&p, files);
        }
    } else if path.extension().is_some_and(|e| e == "rs") {
        files.push(path.to_path_buf());
    }
}
