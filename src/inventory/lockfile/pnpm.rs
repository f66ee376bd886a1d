//! pnpm's pnpm-lock.yaml. Its `packages` mapping has one key per resolved package, in a form
//! that changed with the lockfile version:
//!
//! - v5.x: `/name/1.0.0`, `/@scope/name/1.0.0`, peers after an underscore
//!   (`/a/1.0.0_react@18.0.0`);
//! - v6: `/name@1.0.0`, `/@scope/name@1.0.0`, peers in parentheses (`/a@1.0.0(react@18.0.0)`);
//! - v9: `name@1.0.0`, `@scope/name@1.0.0` (the peers moved to `snapshots`, same names).
//!
//! Packages not from the registry (a tarball URL, git) have other keys in v5/v6 and a `name`
//! field, which is read; a `directory` resolution or a `file:`/`link:` version is local. An
//! alias (`foo: npm:bar@1`) has `bar`'s key already. `importers` (the project and its
//! workspaces) are local and not read: every package they use has its key.

use super::yaml::{self, Node};
use super::{is_local_reference, split_descriptor, LockfileError, Names};

/// The names of a pnpm lockfile.
pub(crate) fn parse(text: &str) -> Result<Names<'static>, LockfileError> {
    let doc = yaml::load(text)?;
    let version = doc
        .get("lockfileVersion")
        .and_then(Node::as_str)
        .ok_or_else(|| LockfileError::Shape("no lockfileVersion: not a pnpm lockfile".into()))?;
    let major: u32 = version
        .trim_start_matches('\'')
        .split('.')
        .next()
        .and_then(|m| m.parse().ok())
        .ok_or_else(|| LockfileError::Shape(format!("lockfileVersion {version:?}")))?;
    if !(5..=9).contains(&major) {
        return Err(LockfileError::Shape(format!(
            "lockfileVersion {version} is not one of 5.x, 6, 7, 9"
        )));
    }
    let mut names = Names::default();
    names.local += doc.get("importers").map_or(1, |i| i.entries().len());
    let Some(packages) = doc.get("packages") else {
        return Ok(names);
    };
    if !matches!(packages, Node::Map(_) | Node::Scalar(_)) {
        return Err(LockfileError::Shape("packages is not a mapping".into()));
    }
    for (key, entry) in packages.entries() {
        let key = key.as_str().unwrap_or("");
        match package(major, key, entry)? {
            Some(name) => names.package(name.to_owned()),
            None => names.local += 1,
        }
    }
    Ok(names)
}

/// The package of one `packages` key (`None` for a local one).
fn package<'a>(
    major: u32,
    key: &'a str,
    entry: &'a Node,
) -> Result<Option<&'a str>, LockfileError> {
    let bad = || LockfileError::Shape(format!("packages key {key:?} names no package"));
    let local = entry.get("resolution").is_some_and(|r| {
        r.get("directory").is_some()
            || r.get("tarball")
                .and_then(Node::as_str)
                .is_some_and(|t| t.starts_with("file:"))
    });
    if local {
        return Ok(None);
    }
    let path = match (major, key.strip_prefix('/')) {
        (9.., _) => key,
        (_, Some(path)) => path,
        // v5/v6: a package from elsewhere (a tarball URL, git): its `name` field.
        (_, None) => {
            return entry
                .get("name")
                .and_then(Node::as_str)
                .map(Some)
                .ok_or_else(bad)
        }
    };
    let path = path.split('(').next().unwrap_or(path);
    if major < 6 {
        let mut segments = path.split('/');
        let first = segments.next().ok_or_else(bad)?;
        let name_len = if first.starts_with('@') {
            first.len() + 1 + segments.next().ok_or_else(bad)?.len()
        } else {
            first.len()
        };
        return Ok(Some(&path[..name_len]));
    }
    let (name, version) = split_descriptor(path).ok_or_else(bad)?;
    Ok((!is_local_reference(version)).then_some(name))
}

#[cfg(test)]
mod tests {
    use super::super::{parse as parse_any, Format};

    fn names(text: &str) -> (Vec<String>, usize) {
        let lock = parse_any(Format::Pnpm, text).unwrap();
        (
            lock.packages.iter().map(|n| n.to_string()).collect(),
            lock.local,
        )
    }

    #[test]
    fn v5_v6_v9_keys() {
        let v5 = "lockfileVersion: 5.4\nspecifiers:\n  a: ^1\npackages:\n  /a/1.0.0_react@18.0.0:\n    resolution: {integrity: sha512-x}\n  /@s/b/2.0.0:\n    resolution: {integrity: sha512-y}\n  github.com/u/c/abc:\n    resolution: {tarball: https://codeload.github.com/u/c/tar.gz/abc}\n    name: c\n  file:../d:\n    resolution: {directory: ../d, type: directory}\n    name: d\n";
        assert_eq!(names(v5), (vec!["@s/b".into(), "a".into(), "c".into()], 2));
        let v6 = "lockfileVersion: '6.0'\nimporters:\n  .: {}\n  packages/x: {}\npackages:\n  /a@1.0.0(react@18.0.0):\n    resolution: {integrity: sha512-x}\n  /@s/b@2.0.0:\n    resolution: {integrity: sha512-y}\n";
        assert_eq!(names(v6), (vec!["@s/b".into(), "a".into()], 2));
        let v9 = "lockfileVersion: '9.0'\nimporters:\n  .: {}\npackages:\n  '@s/b@2.0.0':\n    resolution: {integrity: sha512-y}\n  a@1.0.0:\n    resolution: {integrity: sha512-x}\n  w@link:packages/w: {}\nsnapshots:\n  a@1.0.0(react@18.0.0): {}\n";
        assert_eq!(names(v9), (vec!["@s/b".into(), "a".into()], 2));
    }

    #[test]
    fn bad_files_say_why() {
        for (text, why) in [
            ("a: 1\n", "no lockfileVersion"),
            ("lockfileVersion: 4\n", "not one of"),
            ("lockfileVersion: '9.0'\npackages: [a]\n", "not a mapping"),
            (
                "lockfileVersion: '9.0'\npackages:\n  nover: {}\n",
                "names no package",
            ),
            (
                "lockfileVersion: 5.4\npackages:\n  x/y: {}\n",
                "names no package",
            ),
            (
                "lockfileVersion: '9.0'\npackages:\n  'a b@1': {}\n",
                "not a package name",
            ),
        ] {
            let e = parse_any(Format::Pnpm, text).unwrap_err().to_string();
            assert!(e.contains(why), "{text}: {e}");
        }
    }
}
