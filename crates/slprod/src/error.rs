//! The one error type of the command line, the result a command hands back, and the one mapping of both to
//! exit codes (the codes are a contract; README "Exit codes" lists them per command).
//!
//! A command returns `Result<Outcome, CliError>`. An [`Outcome`] is a command that ran: it carries what to
//! print and a [`Status`] (done, some items failed, stopped by a pause). A [`CliError`] is a command that could
//! not run, or (`pull`) stopped part-way. [`exit_code`] is the only place either becomes a number.

use salesloft_store::StoreError;
use serde_json::Value;

use crate::config::ConfigError;

/// Exit code: done.
pub const EXIT_OK: i32 = 0;
/// Exit code: the command ran but something is wrong — rows failed (`push`), the chain is broken (`audit`),
/// the switch is on (`paused`), a figure missed its target (`demo`), the pull stopped part-way (`pull`).
pub const EXIT_PROBLEMS: i32 = 1;
/// Exit code: the command could not run (bad arguments or configuration, unreachable store, no credential).
pub const EXIT_COULD_NOT_RUN: i32 = 2;
/// Exit code: `push` was stopped by a pause set while it ran (rerun after `slprod resume`).
pub const EXIT_PAUSED: i32 = 3;

/// Why a command could not run (or, for `pull`, stopped part-way).
#[derive(Debug, thiserror::Error)]
pub enum CliError {
    /// The configuration file is unreadable or invalid, or a secret reference does not resolve.
    #[error(transparent)]
    Config(#[from] ConfigError),
    /// No usable credential, or the client could not be built.
    #[error("{0}")]
    Connect(String),
    /// The store could not be opened or used.
    #[error("{action}: {source}")]
    Store {
        /// What was being done ("cannot open the store", …).
        action: &'static str,
        /// The store's error.
        #[source]
        source: StoreError,
    },
    /// The audit key could not be read.
    #[error("{0}")]
    AuditKey(String),
    /// An input file or argument the command cannot use.
    #[error("{0}")]
    Input(String),
    /// `push` found the store paused before it sent anything.
    #[error("syncs are paused (by {by}: {reason}); nothing was sent")]
    PausedAtStart {
        /// Who paused.
        by: String,
        /// Why.
        reason: String,
    },
    /// `push` was stopped by a pause set while it ran; the rows not yet sent were left for a rerun.
    #[error(
        "syncs were paused during the push (by {by}: {reason}); {unsent} rows were not sent. Run `slprod resume`, \
         then the same push again to finish them"
    )]
    PausedDuringRun {
        /// Who paused.
        by: String,
        /// Why.
        reason: String,
        /// Rows left unsent.
        unsent: u64,
    },
    /// A checkpointed pull failed to start or stopped part-way.
    #[error(transparent)]
    Pull(#[from] salesloft_sync::PullError),
    /// A rotated OAuth token set could not be saved before exit.
    #[error(
        "the rotated OAuth tokens could not be saved ({0}); SalesLoft has revoked the stored refresh token, so the \
         app must be authorized again"
    )]
    TokensNotSaved(String),
    /// The simulator (of `sim` or `demo`) failed.
    #[error("{0}")]
    Simulator(String),
    /// The gateway refused to start (missing credentials without `--insecure-dev`, inconsistent settings) or
    /// stopped serving.
    #[error(transparent)]
    Gateway(#[from] salesloft_gateway::GatewayError),
    /// The gateway could not listen on its address.
    #[error("cannot listen on {addr}: {source}")]
    Listen {
        /// The address.
        addr: String,
        /// Why.
        #[source]
        source: std::io::Error,
    },
    /// `slprod check` could not run some checks (exit 2), with the reasons.
    #[error("{0}")]
    Check(String),
    /// A secret manager could not be read or written (the message names the reference, never the value).
    #[error(transparent)]
    Secret(#[from] salesloft_secrets::SecretError),
    /// The async runtime could not start.
    #[error("could not start the async runtime: {0}")]
    Runtime(std::io::Error),
}

impl CliError {
    /// A store error while doing `action`.
    pub fn store(action: &'static str) -> impl FnOnce(StoreError) -> CliError {
        move |source| CliError::Store { action, source }
    }

    /// This error's exit code.
    pub fn exit_code(&self) -> i32 {
        match self {
            CliError::Pull(error) if error.is_interrupted() => EXIT_PROBLEMS,
            CliError::TokensNotSaved(_) => EXIT_PROBLEMS,
            CliError::PausedDuringRun { .. } => EXIT_PAUSED,
            _ => EXIT_COULD_NOT_RUN,
        }
    }

    /// A short machine-readable name of the variant, for `--output json`.
    pub fn kind(&self) -> &'static str {
        match self {
            CliError::Config(_) => "config",
            CliError::Connect(_) => "connect",
            CliError::Store { .. } => "store",
            CliError::AuditKey(_) => "audit_key",
            CliError::Input(_) => "input",
            CliError::PausedAtStart { .. } => "paused",
            CliError::PausedDuringRun { .. } => "paused_during_run",
            CliError::Pull(error) if error.is_interrupted() => "interrupted",
            CliError::Pull(_) => "pull",
            CliError::TokensNotSaved(_) => "tokens_not_saved",
            CliError::Simulator(_) => "simulator",
            CliError::Gateway(_) => "gateway",
            CliError::Listen { .. } => "listen",
            CliError::Runtime(_) => "runtime",
            CliError::Check(_) => "check",
            CliError::Secret(_) => "secret",
        }
    }
}

/// How a command that ran ended.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub enum Status {
    /// Everything done (exit 0).
    Done,
    /// Ran, but something is wrong (exit 1; see [`EXIT_PROBLEMS`]).
    Problems,
    /// `push` stopped by a pause set while it ran (exit 3).
    Paused,
}

/// Which stream a result's text goes to.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Channel {
    /// Standard output (the default).
    Stdout,
    /// Standard error, when standard output carries data (`pull --out -`, `audit export`).
    Stderr,
}

/// What a command that ran hands back: how it ended and what to print.
#[derive(Debug)]
pub struct Outcome {
    /// How it ended.
    pub status: Status,
    /// The result for `--output json`: one JSON value.
    pub json: Value,
    /// The result for `--output text` (may be empty; lines end with `\n`).
    pub text: String,
    /// Where the result goes.
    pub channel: Channel,
    /// Extra lines for a human on standard error (text output only).
    pub hints: Vec<String>,
    /// Errors met on the way that did not stop the command (printed as errors in either format).
    pub errors: Vec<CliError>,
}

impl Outcome {
    /// A finished command's result.
    pub fn new(status: Status, json: Value, text: impl Into<String>) -> Self {
        Self { status, json, text: text.into(), channel: Channel::Stdout, hints: Vec::new(), errors: Vec::new() }
    }

    /// Sends the result to standard error.
    pub fn on_stderr(mut self) -> Self {
        self.channel = Channel::Stderr;
        self
    }

    /// Adds a hint for a human (text output only, on standard error).
    pub fn hint(mut self, hint: impl Into<String>) -> Self {
        self.hints.push(hint.into());
        self
    }

    /// Adds an error that did not stop the command (one whose exit code is 1 or 3), raising the status to at
    /// least the error's: the exit code is the larger of the two, as it always was.
    pub fn error(mut self, error: CliError) -> Self {
        let status = if error.exit_code() == EXIT_PAUSED { Status::Paused } else { Status::Problems };
        self.status = self.status.max(status);
        self.errors.push(error);
        self
    }
}

/// The exit code of a command's result: the one mapping.
pub fn exit_code(result: &Result<Outcome, CliError>) -> i32 {
    match result {
        Ok(outcome) => match outcome.status {
            Status::Done => EXIT_OK,
            Status::Problems => EXIT_PROBLEMS,
            Status::Paused => EXIT_PAUSED,
        },
        Err(error) => error.exit_code(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn exit_codes_table() {
        let outcome = |status| Ok(Outcome::new(status, Value::Null, ""));
        assert_eq!(exit_code(&outcome(Status::Done)), 0);
        assert_eq!(exit_code(&outcome(Status::Problems)), 1);
        assert_eq!(exit_code(&outcome(Status::Paused)), 3);
        assert_eq!(exit_code(&Err(CliError::Connect("no credential".into()))), 2);
        assert_eq!(exit_code(&Err(CliError::TokensNotSaved("disk full".into()))), 1);
        let interrupted = salesloft_sync::PullError::Interrupted { records: 1, checkpoint: None, cause: "x".into() };
        assert_eq!(exit_code(&Err(CliError::Pull(interrupted))), 1);
        assert_eq!(exit_code(&Err(CliError::Pull(salesloft_sync::PullError::Refused("exists".into())))), 2);
        // An error met on the way raises the status but never lowers it.
        let tokens = || CliError::TokensNotSaved("disk full".into());
        let paused = Outcome::new(Status::Paused, Value::Null, "").error(tokens());
        assert_eq!(exit_code(&Ok(paused)), 3);
        let done = Outcome::new(Status::Done, Value::Null, "").error(tokens());
        assert_eq!(exit_code(&Ok(done)), 1);
        let stopped = CliError::PausedDuringRun { by: "ops".into(), reason: "drill".into(), unsent: 3 };
        assert_eq!(exit_code(&Ok(Outcome::new(Status::Problems, Value::Null, "").error(stopped))), 3);
    }
}
