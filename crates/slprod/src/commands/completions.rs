//! `slprod completions <shell>`: print a completion script for the shell on standard output.
//!
//! ```sh
//! slprod completions bash > ~/.local/share/bash-completion/completions/slprod
//! slprod completions zsh > "${fpath[1]}/_slprod"
//! slprod completions fish > ~/.config/fish/completions/slprod.fish
//! ```

use clap::{Args, CommandFactory};
use clap_complete::Shell;
use serde_json::Value;

use crate::error::{CliError, Outcome, Status};

/// Arguments of `slprod completions`.
#[derive(Debug, Args)]
pub struct CompletionsArgs {
    /// The shell to complete for.
    #[arg(value_enum)]
    pub shell: Shell,
}

/// The completion script for `shell`.
pub fn script(shell: Shell) -> String {
    let mut command = super::Cli::command();
    let mut buffer = Vec::new();
    clap_complete::generate(shell, &mut command, "slprod", &mut buffer);
    String::from_utf8_lossy(&buffer).into_owned()
}

/// Prints the script (in either output format: a script is not JSON).
pub fn run(args: CompletionsArgs) -> Result<Outcome, CliError> {
    let text = script(args.shell);
    Ok(Outcome::new(Status::Done, Value::String(text.clone()), text))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_shell_gets_a_script_naming_the_commands() {
        for shell in [Shell::Bash, Shell::Zsh, Shell::Fish, Shell::Elvish, Shell::PowerShell] {
            let text = script(shell);
            assert!(text.contains("slprod") && text.contains("push") && text.contains("completions"), "{shell}");
        }
    }
}
