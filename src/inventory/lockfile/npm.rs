//! npm's package-lock.json and npm-shrinkwrap.json (one format). Version 1 (npm 5 and 6)
//! nests `dependencies` objects by name; version 3 (npm 7 and later) has only `packages`, keyed
//! by install path (`node_modules/a/node_modules/b`); version 2 has both, and `packages` is read.
//!
//! - `packages`: a key's last `node_modules/` segment is the folder name; the entry's `name`
//!   field, when present, is the real package (an alias `"node_modules/foo": {"name": "bar"}`).
//!   The root `""`, keys not under `node_modules/` (workspace folders) and `link: true` entries
//!   (the symlinks to them) are local.
//! - `dependencies` (v1): the key is the name; a `version` of `npm:bar@1.2.3` is an alias of
//!   `bar`, one of `file:` a local package.

use super::{resolve_alias, LockfileError, Names};
use serde::Deserialize;
use std::borrow::Cow;
use std::collections::BTreeMap;

#[derive(Deserialize)]
struct Lock<'a> {
    #[serde(rename = "lockfileVersion")]
    lockfile_version: Option<u32>,
    #[serde(borrow)]
    packages: Option<BTreeMap<Text<'a>, Package<'a>>>,
    #[serde(borrow)]
    dependencies: Option<BTreeMap<Text<'a>, V1Dependency<'a>>>,
}

/// A JSON string borrowed from the file when it has no escape (serde's own `Cow` never borrows
/// inside a map).
#[derive(PartialEq, Eq, PartialOrd, Ord)]
struct Text<'a>(Cow<'a, str>);

impl<'de: 'a, 'a> Deserialize<'de> for Text<'a> {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        struct Visitor<'a>(std::marker::PhantomData<&'a ()>);
        impl<'de: 'a, 'a> serde::de::Visitor<'de> for Visitor<'a> {
            type Value = Text<'a>;
            fn expecting(&self, f: &mut std::fmt::Formatter) -> std::fmt::Result {
                f.write_str("a string")
            }
            fn visit_borrowed_str<E>(self, v: &'de str) -> Result<Text<'a>, E> {
                Ok(Text(Cow::Borrowed(v)))
            }
            fn visit_str<E>(self, v: &str) -> Result<Text<'a>, E> {
                Ok(Text(Cow::Owned(v.to_owned())))
            }
        }
        d.deserialize_str(Visitor(std::marker::PhantomData))
    }
}

/// An entry of `packages` (v2, v3).
#[derive(Deserialize)]
struct Package<'a> {
    #[serde(borrow)]
    name: Option<Text<'a>>,
    #[serde(default)]
    link: bool,
}

/// An entry of v1's `dependencies`.
#[derive(Deserialize)]
struct V1Dependency<'a> {
    #[serde(borrow)]
    version: Option<Cow<'a, str>>,
    #[serde(borrow)]
    dependencies: Option<BTreeMap<Text<'a>, V1Dependency<'a>>>,
}

/// The names of an npm lockfile.
pub(crate) fn parse(text: &str) -> Result<Names<'_>, LockfileError> {
    let lock: Lock<'_> =
        serde_json::from_str(text).map_err(|e| LockfileError::Json(e.to_string()))?;
    match lock.lockfile_version {
        Some(1..=3) => {}
        Some(v) => {
            return Err(LockfileError::Shape(format!(
                "lockfileVersion {v} is not one of 1, 2, 3"
            )))
        }
        None => {
            return Err(LockfileError::Shape(
                "no lockfileVersion: not an npm lockfile".into(),
            ))
        }
    }
    let mut names = Names::default();
    match (lock.packages, lock.dependencies) {
        (Some(packages), _) => {
            for (Text(key), entry) in packages {
                match key.rsplit_once("node_modules/") {
                    Some(_) if entry.link => names.local += 1,
                    Some((_, folder)) => match entry.name {
                        Some(Text(real)) => names.package(real),
                        None => names.package(cow_tail(key.clone(), folder.len())),
                    },
                    // The root "" and the workspace folders.
                    None => names.local += 1,
                }
            }
        }
        (None, Some(deps)) => v1(deps, &mut names),
        (None, None) => {}
    }
    Ok(names)
}

/// The last `len` bytes of `key`, still borrowed when `key` is.
fn cow_tail(key: Cow<'_, str>, len: usize) -> Cow<'_, str> {
    match key {
        Cow::Borrowed(s) => Cow::Borrowed(&s[s.len() - len..]),
        Cow::Owned(s) => Cow::Owned(s[s.len() - len..].to_owned()),
    }
}

/// v1's nested `dependencies` (serde_json's depth limit bounds the recursion).
fn v1<'a>(deps: BTreeMap<Text<'a>, V1Dependency<'a>>, names: &mut Names<'a>) {
    for (Text(key), dep) in deps {
        let version = dep.version.as_deref().unwrap_or("");
        match resolve_alias(&key, version) {
            None => names.local += 1,
            Some(real) if real == key => names.package(key.clone()),
            Some(real) => names.package(real.to_owned()),
        }
        if let Some(nested) = dep.dependencies {
            v1(nested, names);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::super::{parse as parse_any, Format};
    use super::*;

    fn names(text: &str) -> Vec<String> {
        parse_any(Format::Npm, text)
            .unwrap()
            .packages
            .iter()
            .map(|n| n.to_string())
            .collect()
    }

    #[test]
    fn v3_nested_aliases_links_and_workspaces() {
        let text = r#"{"name":"p","lockfileVersion":3,"packages":{
            "":{"name":"p","workspaces":["packages/*"]},
            "node_modules/axios":{"version":"1.14.0","dependencies":{"form-data":"^4"}},
            "node_modules/axios/node_modules/form-data":{"version":"4.0.0"},
            "node_modules/@types/node":{"version":"20.0.0"},
            "node_modules/my-lodash":{"name":"lodash","version":"4.17.21"},
            "node_modules/w":{"resolved":"packages/w","link":true},
            "packages/w":{"name":"w","version":"1.0.0"},
            "packages/w/node_modules/ms":{"version":"2.1.3"}}}"#;
        let lock = parse_any(Format::Npm, text).unwrap();
        assert_eq!(
            lock.packages,
            ["@types/node", "axios", "form-data", "lodash", "ms"]
        );
        assert_eq!(lock.local, 3);
        assert!(lock.packages.iter().all(|n| matches!(n, Cow::Borrowed(_))));
    }

    #[test]
    fn escaped_keys_are_read_owned() {
        let text = r#"{"lockfileVersion":3,"packages":{"node_modules/\u0061xios":{},"node_modules/b":{"name":"\u0063"}}}"#;
        let lock = parse_any(Format::Npm, text).unwrap();
        assert_eq!(lock.packages, ["axios", "c"]);
        assert!(lock.packages.iter().all(|n| matches!(n, Cow::Owned(_))));
    }

    #[test]
    fn v1_nested_and_aliases() {
        let text = r#"{"lockfileVersion":1,"requires":true,"dependencies":{
            "a":{"version":"1.0.0","dependencies":{"b":{"version":"2.0.0"}}},
            "my-b":{"version":"npm:@s/b@1.0.0"},
            "local":{"version":"file:../local"}}}"#;
        assert_eq!(names(text), ["@s/b", "a", "b"]);
    }

    #[test]
    fn bad_files_say_why() {
        for (text, why) in [
            ("", "EOF"),
            ("[]", "not valid JSON"),
            ("1", "invalid type"),
            (r#"{"lockfileVersion":9}"#, "lockfileVersion 9"),
            (r#"{"packages":{}}"#, "no lockfileVersion"),
            (
                r#"{"lockfileVersion":3,"packages":{"node_modules/a b":{}}}"#,
                "not a package name",
            ),
            (
                r#"{"lockfileVersion":3,"packages":{"node_modules/a":{"link":"yes"}}}"#,
                "invalid type",
            ),
        ] {
            let e = parse_any(Format::Npm, text).unwrap_err().to_string();
            assert!(e.contains(why), "{text}: {e}");
        }
    }
}
