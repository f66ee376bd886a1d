//! The organisation's package inventory from its lockfiles, and the check of a build's lockfile
//! against it (the seed's `build-package-inventory.sh` and `check-phantom-deps.sh`):
//!
//! - [`lockfile`]: the package names of one lockfile, one parser per format;
//! - [`walk`]: the lockfiles under a directory tree (not in `node_modules` or `.git`, symlinked
//!   directories not followed);
//! - [`build`]: `egress-ids inventory build`: every name of every lockfile found, sorted, each
//!   once, written atomically;
//! - [`check`]: `egress-ids inventory check` and `run --inventory`: the names a lockfile has and
//!   the inventory lacks, for a person and as `phantom-dependency` EVE alerts;
//! - [`command`]: the two subcommands' output and exit codes.
//!
//! The inventory file itself (format, reading) is [`crate::detect::inventory`], which the
//! sensor uses for registry requests.

pub mod build;
pub mod check;
pub mod command;
pub mod lockfile;
pub mod walk;
