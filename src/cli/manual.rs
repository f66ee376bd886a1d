//! The man pages and shell completion scripts, generated from the command line's clap
//! definitions ([`Cli`]), so that they always say what the binary accepts: `egress-ids man`
//! (hidden: the packaging runs it) and `egress-ids completions SHELL`.

use super::Cli;
use clap::CommandFactory;
use clap_complete::Shell;
use std::io::{self, Write};
use std::path::{Path, PathBuf};

/// Section 1: user commands.
const SECTION: &str = "1";

/// The manual these pages belong to (the centre of a page's header).
const MANUAL: &str = "egress-ids manual";

/// Writes `egress-ids.1` and one page per visible subcommand (`egress-ids-replay.1`, ...) into
/// `dir`, which must exist; returns the files written, the main page first.
pub(crate) fn write_pages(dir: &Path) -> io::Result<Vec<PathBuf>> {
    let mut cmd = Cli::command().disable_help_subcommand(true);
    cmd.build();
    let mut written = vec![page(cmd.clone()).generate_to(dir)?];
    for sub in cmd.get_subcommands().filter(|s| !s.is_hide_set()) {
        written.push(page(sub.clone()).generate_to(dir)?);
    }
    Ok(written)
}

/// The main page, `egress-ids.1`, into `out`.
pub(crate) fn render_main_page(out: &mut dyn Write) -> io::Result<()> {
    let mut cmd = Cli::command().disable_help_subcommand(true);
    cmd.build();
    page(cmd).render(out)
}

/// clap_complete's bash script (4.6.12) names a subcommand's state `egress__ids__subcmd__live`
/// where it computes it, but `egress__subcmd__ids__subcmd__live` in the `case` arm that lists
/// its options, so no option of a subcommand completes when the binary's name has a hyphen
/// (clap-rs/clap#6421, open). The arms are respelled as the state is computed.
fn bash_hyphen_fix(script: &[u8], name: &str) -> Vec<u8> {
    let Ok(text) = std::str::from_utf8(script) else {
        return script.to_vec();
    };
    let wrong = format!("{}__subcmd__", name.replace('-', "__subcmd__"));
    let right = format!("{}__subcmd__", name.replace('-', "__"));
    text.replace(&wrong, &right).into_bytes()
}

fn page(cmd: clap::Command) -> clap_mangen::Man {
    clap_mangen::Man::new(cmd).section(SECTION).manual(MANUAL)
}

/// The completion script of `shell` into `out`. Generated in memory first (clap_complete panics
/// on a failed write), so a closed pipe is an error returned here.
pub(crate) fn completions(shell: Shell, out: &mut dyn Write) -> io::Result<()> {
    let mut cmd = Cli::command();
    let name = cmd.get_name().to_string();
    let mut script = Vec::new();
    clap_complete::generate(shell, &mut cmd, name.as_str(), &mut script);
    if shell == Shell::Bash {
        script = bash_hyphen_fix(&script, &name);
    }
    out.write_all(&script)?;
    out.flush()
}
