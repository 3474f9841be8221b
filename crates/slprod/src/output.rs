//! Everything a command shows: its result and errors (`--output text|json`), logs (`-v`/`-q`, `RUST_LOG`,
//! `--log-format`) and progress bars, kept from garbling each other.
//!
//! - Results go to standard output (or standard error when standard output carries data); in JSON, one value.
//! - Errors go to standard error: `error: …` in text, `{"error": {"kind", "message"}, "exit_code"}` in JSON.
//! - Colour only when the stream is a terminal and `NO_COLOR` is unset (<https://no-color.org>).
//! - Progress bars draw on standard error only when it is a terminal and the output is text; every log line is
//!   written inside [`MultiProgress::suspend`], so a bar is cleared, the line printed, the bar redrawn.

use std::io::{IsTerminal, Write};

use clap::ValueEnum;
use indicatif::{MultiProgress, ProgressBar, ProgressDrawTarget, ProgressStyle};
use serde_json::json;

use crate::error::{Channel, CliError, Outcome, exit_code};

/// `--output`: how results and errors are printed.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, ValueEnum)]
pub enum OutputFormat {
    /// Sentences for a human.
    #[default]
    Text,
    /// One JSON value per result or error.
    Json,
}

/// `--log-format`: how log lines are printed on standard error.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, ValueEnum)]
pub enum LogFormat {
    /// Human-readable lines.
    #[default]
    Text,
    /// One JSON object per line.
    Json,
}

/// Whether to colour a stream: a terminal, and `NO_COLOR` unset or empty.
pub fn use_colour(is_terminal: bool, no_colour: Option<&std::ffi::OsStr>) -> bool {
    is_terminal && no_colour.is_none_or(|value| value.is_empty())
}

/// The log filter for `-v`/`-q` counts: `info` by default, each `-v` one level more, each `-q` one level less.
/// `RUST_LOG`, when set, wins (see [`init_logging`]).
pub fn log_level(verbose: u8, quiet: u8) -> &'static str {
    match i16::from(verbose) - i16::from(quiet) {
        ..=-2 => "error",
        -1 => "warn",
        0 => "info",
        1 => "debug",
        _ => "trace",
    }
}

/// The terminal side of the command line: output format, colour and progress bars.
#[derive(Debug, Clone)]
pub struct Ui {
    format: OutputFormat,
    colour: bool,
    bars: MultiProgress,
    show_bars: bool,
}

impl Ui {
    /// A UI printing in `format`; colour and bars follow standard error's terminal-ness and `NO_COLOR`.
    pub fn new(format: OutputFormat) -> Self {
        let stderr_terminal = std::io::stderr().is_terminal();
        let colour = use_colour(stderr_terminal, std::env::var_os("NO_COLOR").as_deref());
        let show_bars = stderr_terminal && format == OutputFormat::Text;
        let target = if show_bars { ProgressDrawTarget::stderr() } else { ProgressDrawTarget::hidden() };
        Self { format, colour, bars: MultiProgress::with_draw_target(target), show_bars }
    }

    /// The output format.
    pub fn format(&self) -> OutputFormat {
        self.format
    }

    /// A progress bar (a spinner when `len` is `None`) with `template`; hidden unless standard error is a
    /// terminal and the output is text.
    pub fn progress(&self, len: Option<u64>, template: &str) -> ProgressBar {
        let bar = match len {
            Some(len) => ProgressBar::new(len),
            None => ProgressBar::no_length(),
        };
        if let Ok(style) = ProgressStyle::with_template(template) {
            bar.set_style(style);
        }
        if self.show_bars {
            self.bars.add(bar)
        } else {
            bar.set_draw_target(ProgressDrawTarget::hidden());
            bar
        }
    }

    /// Runs `f` with the progress bars cleared (for anything written to the terminal meanwhile).
    pub fn suspend<R>(&self, f: impl FnOnce() -> R) -> R {
        self.bars.suspend(f)
    }

    /// Prints a command's result or error and returns its exit code.
    pub fn finish(&self, result: &Result<Outcome, CliError>) -> i32 {
        let code = exit_code(result);
        self.suspend(|| match result {
            Ok(outcome) => self.print_outcome(outcome, code),
            Err(error) => self.print_error(&error_text(error), error.kind(), code),
        });
        code
    }

    fn print_outcome(&self, outcome: &Outcome, code: i32) {
        let mut stdout = std::io::stdout().lock();
        let mut stderr = std::io::stderr().lock();
        let stream: &mut dyn Write = match outcome.channel {
            Channel::Stdout => &mut stdout,
            Channel::Stderr => &mut stderr,
        };
        // A closed pipe on standard output is not worth a second error.
        let _ = match self.format {
            OutputFormat::Json => writeln!(stream, "{}", outcome.json),
            OutputFormat::Text => stream.write_all(outcome.text.as_bytes()),
        };
        let _ = stream.flush();
        drop(stdout);
        drop(stderr);
        if self.format == OutputFormat::Text {
            for hint in &outcome.hints {
                eprintln!("{hint}");
            }
        }
        for error in &outcome.errors {
            self.print_error(&error_text(error), error.kind(), code);
        }
    }

    fn print_error(&self, message: &str, kind: &str, code: i32) {
        match self.format {
            OutputFormat::Json => {
                let value = json!({"error": {"kind": kind, "message": message}, "exit_code": code});
                eprintln!("{value}");
            }
            OutputFormat::Text if self.colour => eprintln!("\x1b[1;31merror\x1b[0m: {message}"),
            OutputFormat::Text => eprintln!("error: {message}"),
        }
    }
}

/// The error's message with its chain of causes (each once).
fn error_text(error: &CliError) -> String {
    let mut text = error.to_string();
    let mut source = std::error::Error::source(error);
    while let Some(cause) = source {
        let cause_text = cause.to_string();
        if !text.contains(&cause_text) {
            text.push_str(&format!(": {cause_text}"));
        }
        source = cause.source();
    }
    text
}

/// A log writer that prints each line with the progress bars suspended.
#[derive(Clone)]
struct SuspendingStderr(MultiProgress);

impl Write for SuspendingStderr {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        self.0.suspend(|| std::io::stderr().lock().write_all(buf))?;
        Ok(buf.len())
    }

    fn flush(&mut self) -> std::io::Result<()> {
        std::io::stderr().flush()
    }
}

/// Logs go to standard error, filtered by `RUST_LOG` when set, else by `-v`/`-q` (default `info`).
pub fn init_logging(ui: &Ui, format: LogFormat, verbose: u8, quiet: u8) {
    let filter = tracing_subscriber::EnvFilter::try_from_default_env()
        .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new(log_level(verbose, quiet)));
    let bars = ui.bars.clone();
    let builder = tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_ansi(ui.colour)
        .with_writer(move || SuspendingStderr(bars.clone()));
    let _ = match format {
        LogFormat::Text => builder.try_init(),
        LogFormat::Json => builder.json().try_init(),
    };
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn verbosity_maps_onto_the_filter() {
        assert_eq!(log_level(0, 0), "info");
        assert_eq!(log_level(1, 0), "debug");
        assert_eq!(log_level(3, 0), "trace");
        assert_eq!(log_level(0, 1), "warn");
        assert_eq!(log_level(0, 2), "error");
        assert_eq!(log_level(0, 9), "error");
        assert_eq!(log_level(1, 1), "info");
    }

    #[test]
    fn colour_needs_a_terminal_and_no_no_color() {
        use std::ffi::OsStr;
        assert!(use_colour(true, None));
        assert!(use_colour(true, Some(OsStr::new(""))), "an empty NO_COLOR does not count");
        assert!(!use_colour(true, Some(OsStr::new("1"))));
        assert!(!use_colour(false, None));
    }
}
