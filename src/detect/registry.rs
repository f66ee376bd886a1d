//! npm registry requests in cleartext: which package a request asks for, so that
//! `phantom-dependency` can judge it against the organisation's inventory (the seed's "registry
//! requests watched for names outside the inventory").
//!
//! A registry is reached in cleartext where a team runs its own mirror over HTTP (Verdaccio,
//! Nexus, Artifactory, GitLab's package registry) or where a proxy sees the request in absolute
//! form. The public registry over HTTPS hides the path: there only the TLS detections see the
//! flow.
//!
//! What a request looks like, after the mirror's prefix:
//! - package metadata (the packument): `/name`, `/@scope%2fname` (npm, yarn and pnpm escape the
//!   scope's slash; `%2F` too), `/@scope/name`, and the same followed by `/<version or tag>`;
//! - a tarball: `/name/-/name-1.2.3.tgz`, `/@scope/name/-/name-1.2.3.tgz` (the file name has no
//!   scope).
//!
//! Registry endpoints that name no package start with `/-/` (`/-/v1/search`, `/-/npm/v1/
//! security/advisories/bulk`, `/-/ping`) and are not package requests. Mirror prefixes are
//! recognised for Nexus (`/repository/<repo>/`), Artifactory (`/artifactory/api/npm/<repo>/`,
//! `/api/npm/<repo>/`) and GitLab (`/api/v4/packages/npm/`, `/api/v4/projects/<id>/packages/npm/`,
//! `/api/v4/groups/<id>/-/packages/npm/`).
//!
//! Which requests are registry requests at all: a tarball path is one whatever the client (its
//! shape, `<name>/-/<name>-<version>.tgz`, is the registry's); a metadata path only when the
//! client says it is a package manager: npm, yarn, pnpm and bun name themselves first in their
//! User-Agent (`npm/10.8.2 node/v20.18.0 linux x64 workspaces/false`). A web page `/about`
//! fetched by curl is not a package request.

use super::inventory::check_name;
use std::borrow::Cow;

/// What a registry request asks for.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum RegistryKind {
    /// The package's metadata (all versions, or one version or tag).
    Metadata,
    /// A version's tarball.
    Tarball,
}

/// The package a registry request names.
#[derive(Clone, Debug, PartialEq, Eq)]
pub(crate) struct RegistryRequest<'a> {
    /// The package name, scoped names whole (`@types/node`); unescaped only where the scope's
    /// slash was escaped, so borrowed from the request target otherwise.
    pub(crate) package: Cow<'a, str>,
    pub(crate) kind: RegistryKind,
}

/// The package managers whose User-Agent starts with their name and a slash.
const PACKAGE_MANAGERS: [&str; 4] = ["npm/", "yarn/", "pnpm/", "bun/"];

/// Whether `user_agent` is a package manager's (npm, yarn, pnpm, bun).
pub(crate) fn is_package_manager(user_agent: &str) -> bool {
    PACKAGE_MANAGERS.iter().any(|pm| {
        user_agent
            .get(..pm.len())
            .is_some_and(|head| head.eq_ignore_ascii_case(pm))
    })
}

/// The package an HTTP request for `target` (origin or absolute form) asks a registry for, if
/// it is a registry request: a tarball path always, a metadata path only from a package manager
/// (`user_agent`).
pub(crate) fn registry_request<'a>(
    target: &'a str,
    user_agent: Option<&str>,
) -> Option<RegistryRequest<'a>> {
    let path = origin_path(target);
    let path = strip_mirror_prefix(path);
    let request = package_path(path)?;
    let from_manager = user_agent.is_some_and(is_package_manager);
    (request.kind == RegistryKind::Tarball || from_manager).then_some(request)
}

/// The path of a request target: an absolute-form target (`http://host/x`, as sent to a proxy)
/// loses its scheme and authority; the query and fragment go.
fn origin_path(target: &str) -> &str {
    let path = match target.find("://") {
        Some(i) if target[..i].bytes().all(|b| b.is_ascii_alphabetic()) => {
            let rest = &target[i + 3..];
            rest.find('/').map_or("/", |j| &rest[j..])
        }
        _ => target,
    };
    let end = path.find(['?', '#']).unwrap_or(path.len());
    &path[..end]
}

/// `path` after a known mirror's prefix (module doc), or `path` itself.
fn strip_mirror_prefix(path: &str) -> &str {
    // (prefix, number of free segments after it: the repository or project id).
    const PREFIXES: [(&str, usize); 6] = [
        ("/repository/", 1),
        ("/artifactory/api/npm/", 1),
        ("/api/npm/", 1),
        ("/api/v4/packages/npm/", 0),
        ("/api/v4/projects/", 1),
        ("/api/v4/groups/", 1),
    ];
    for (prefix, free) in PREFIXES {
        let Some(mut rest) = path.strip_prefix(prefix) else {
            continue;
        };
        for _ in 0..free {
            rest = rest.split_once('/').map_or("", |(_, r)| r);
        }
        // GitLab's project and group registries go on with `packages/npm/` (`-/packages/npm/`).
        if prefix.starts_with("/api/v4/") && free == 1 {
            rest = rest.strip_prefix("-/").unwrap_or(rest);
            rest = match rest.strip_prefix("packages/npm/") {
                Some(r) => r,
                None => return path,
            };
        }
        if rest.is_empty() {
            return "";
        }
        // `rest` follows a `/` of `path`: keep that slash.
        return &path[path.len() - rest.len() - 1..];
    }
    path
}

/// The package of a registry path (`/name...`, `/@scope%2fname...`, `/@scope/name...`), with
/// what it asks for; `None` for a path that names no valid package.
fn package_path(path: &str) -> Option<RegistryRequest<'_>> {
    let path = path.strip_prefix('/')?;
    if path == "-" || path.starts_with("-/") {
        // The registry's own endpoints (search, audit, ping, login).
        return None;
    }
    let (package, rest): (Cow<'_, str>, &str) = if path.starts_with('@') {
        if let Some((scope, after)) = split_escaped_slash(path) {
            let (bare, rest) = after.split_once('/').unwrap_or((after, ""));
            (Cow::Owned(format!("{scope}/{bare}")), rest)
        } else {
            let (scope, after) = path.split_once('/')?;
            let (bare, rest) = after.split_once('/').unwrap_or((after, ""));
            let len = scope.len() + 1 + bare.len();
            (Cow::Borrowed(&path[..len]), rest)
        }
    } else {
        let (name, rest) = path.split_once('/').unwrap_or((path, ""));
        (Cow::Borrowed(name), rest)
    };
    check_name(&package).ok()?;
    let kind = match rest.strip_prefix("-/") {
        Some(file) => {
            let bare = package.rsplit('/').next().unwrap_or(&package);
            let version = file.strip_prefix(bare)?.strip_prefix('-')?;
            version.strip_suffix(".tgz").filter(|v| !v.is_empty())?;
            RegistryKind::Tarball
        }
        // A version or tag (`/name/1.2.3`, `/name/latest`), or nothing.
        None if !rest.contains('/') => RegistryKind::Metadata,
        None => return None,
    };
    Some(RegistryRequest { package, kind })
}

/// `@scope%2fname...` split at the escaped slash (`%2f` or `%2F`): the scope and the rest.
fn split_escaped_slash(path: &str) -> Option<(&str, &str)> {
    let i = path.find('%')?;
    let escape = path.get(i..i + 3)?;
    if escape.eq_ignore_ascii_case("%2f") && !path[..i].contains('/') {
        Some((&path[..i], &path[i + 3..]))
    } else {
        None
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const NPM: Option<&str> = Some("npm/10.8.2 node/v20.18.0 linux x64 workspaces/false");

    fn req(target: &str, ua: Option<&str>) -> Option<(String, RegistryKind)> {
        registry_request(target, ua).map(|r| (r.package.into_owned(), r.kind))
    }

    #[test]
    fn metadata_and_tarball_paths_as_npm_yarn_and_pnpm_send_them() {
        use RegistryKind::*;
        for (target, package, kind) in [
            ("/plain-crypto-js", "plain-crypto-js", Metadata),
            ("/@types%2fnode", "@types/node", Metadata),
            ("/@types%2Fnode", "@types/node", Metadata),
            ("/@types/node", "@types/node", Metadata),
            ("/axios/1.14.1", "axios", Metadata),
            ("/axios/latest?write=true", "axios", Metadata),
            (
                "/plain-crypto-js/-/plain-crypto-js-4.2.1.tgz",
                "plain-crypto-js",
                Tarball,
            ),
            ("/@babel/core/-/core-7.26.0.tgz", "@babel/core", Tarball),
            ("/JSONStream/-/JSONStream-1.3.5.tgz", "JSONStream", Tarball),
            (
                "http://registry.internal:4873/left-pad",
                "left-pad",
                Metadata,
            ),
            ("/repository/npm-proxy/axios", "axios", Metadata),
            ("/repository/npm-group/@scope%2fpkg", "@scope/pkg", Metadata),
            (
                "/artifactory/api/npm/npm-remote/axios/-/axios-1.14.1.tgz",
                "axios",
                Tarball,
            ),
            ("/api/npm/npm/lodash", "lodash", Metadata),
            ("/api/v4/packages/npm/@acme%2futil", "@acme/util", Metadata),
            (
                "/api/v4/projects/42/packages/npm/@acme/util/-/util-1.0.0.tgz",
                "@acme/util",
                Tarball,
            ),
            (
                "/api/v4/groups/7/-/packages/npm/@acme%2futil",
                "@acme/util",
                Metadata,
            ),
        ] {
            assert_eq!(req(target, NPM), Some((package.into(), kind)), "{target}");
        }
        // Borrowed from the target unless the scope's slash was escaped.
        let r = registry_request("/@babel/core", NPM).unwrap();
        assert!(matches!(r.package, Cow::Borrowed("@babel/core")));
    }

    #[test]
    fn what_is_not_a_package_request() {
        for target in [
            "/",
            "/-/v1/search?text=axios",
            "/-/npm/v1/security/advisories/bulk",
            "/-/ping",
            "/axios/-/axios-.tgz",
            "/axios/-/lodash-1.0.0.tgz",
            "/axios/a/b",
            "/@scope",
            "/_private",
            "/.env",
            "/a%20b",
            "/api/v4/projects/42/other/npm/x",
        ] {
            assert_eq!(req(target, NPM), None, "{target}");
        }
    }

    #[test]
    fn metadata_needs_a_package_manager_a_tarball_does_not() {
        let meta = "/plain-crypto-js";
        let tgz = "/plain-crypto-js/-/plain-crypto-js-4.2.1.tgz";
        for ua in [
            "npm/10.8.2 node/v20.18.0",
            "yarn/1.22.22 npm/? node/v20.18.0 linux x64",
            "pnpm/9.15.0 npm/? node/v22.0.0 linux x64",
            "Bun/1.1.38",
        ] {
            assert!(req(meta, Some(ua)).is_some(), "{ua}");
        }
        for ua in [
            None,
            Some("curl/8.5.0"),
            Some("node"),
            Some("Mozilla/5.0 npm/1"),
        ] {
            assert_eq!(req(meta, ua), None, "{ua:?}");
            assert_eq!(
                req(tgz, ua),
                Some(("plain-crypto-js".into(), RegistryKind::Tarball)),
                "{ua:?}"
            );
        }
    }

    #[test]
    fn any_target_is_read_without_panic() {
        let mut x: u64 = 0x9e37_79b9_7f4a_7c15;
        let alphabet: Vec<char> = "/@%2fF-._?#:ab1 tgz\u{e9}".chars().collect();
        let prefixes = ["", "/repository/", "/api/v4/projects/", "http://h"];
        for i in 0..40_000 {
            let len = (x % 24) as usize;
            let mut s: String = prefixes[i % prefixes.len()].into();
            s.extend((0..len).map(|_| {
                x ^= x << 13;
                x ^= x >> 7;
                x ^= x << 17;
                alphabet[(x % alphabet.len() as u64) as usize]
            }));
            if let Some(r) = registry_request(&s, NPM) {
                assert!(check_name(&r.package).is_ok(), "{s:?}");
            }
        }
    }
}
