//! Bounds on what the command line accepts from outside, so no input can exhaust memory or overflow time
//! arithmetic (issue 7 item 6):
//! - [`BoundedLines`]: JSON lines of at most N bytes; a longer line is skipped without being held in memory
//!   and reported with its line number.
//! - [`RecordCapReader`]: the same bound for CSV records (a quoted field may span lines, so the cap is per
//!   record, counted with the CSV quoting rules), failing the read with an error naming the record's line.
//! - [`duration_between`]: a clap value parser for duration flags that refuses values outside a range, so a
//!   `humantime` value such as `500000000000y` (which parses) cannot overflow `Instant + d`, `d * 4` or a
//!   conversion to `time::Duration` later on.

use std::io::{self, BufRead, Read};
use std::time::Duration;

/// The default longest input line (JSONL) or record (CSV): 1 MiB. A person is a few kilobytes.
pub const DEFAULT_MAX_LINE_BYTES: usize = 1024 * 1024;

/// One line read by [`BoundedLines`].
#[derive(Debug, PartialEq, Eq)]
pub enum Line {
    /// The line's bytes, without the `\n`.
    Text(Vec<u8>),
    /// The line was longer than the limit; it was skipped. `bytes` is its length.
    TooLong {
        /// The line's length in bytes (without the `\n`).
        bytes: u64,
    },
}

/// Lines split at `\n`, each at most `max` bytes, numbered from 1. Memory use is bounded by `max` plus the
/// reader's buffer whatever the input holds.
pub struct BoundedLines<R> {
    reader: R,
    max: usize,
    number: u64,
    done: bool,
}

impl<R: BufRead> BoundedLines<R> {
    /// Lines of `reader`, each at most `max` bytes.
    pub fn new(reader: R, max: usize) -> Self {
        Self { reader, max, number: 0, done: false }
    }
}

impl<R: BufRead> Iterator for BoundedLines<R> {
    type Item = io::Result<(u64, Line)>;

    fn next(&mut self) -> Option<Self::Item> {
        if self.done {
            return None;
        }
        let mut line = Vec::new();
        let mut length: u64 = 0;
        let mut too_long = false;
        loop {
            let available = match self.reader.fill_buf() {
                Ok(available) => available,
                Err(e) if e.kind() == io::ErrorKind::Interrupted => continue,
                Err(e) => {
                    self.done = true;
                    return Some(Err(e));
                }
            };
            if available.is_empty() {
                self.done = true;
                if length == 0 && line.is_empty() && !too_long {
                    return None;
                }
                break;
            }
            let newline = available.iter().position(|&b| b == b'\n');
            let chunk = &available[..newline.unwrap_or(available.len())];
            length += chunk.len() as u64;
            if !too_long {
                if line.len() + chunk.len() > self.max {
                    // Stop keeping it; read on to the end of the line.
                    too_long = true;
                    line = Vec::new();
                } else {
                    line.extend_from_slice(chunk);
                }
            }
            let consumed = chunk.len() + usize::from(newline.is_some());
            self.reader.consume(consumed);
            if newline.is_some() {
                break;
            }
        }
        self.number += 1;
        let item = if too_long { Line::TooLong { bytes: length } } else { Line::Text(line) };
        Some(Ok((self.number, item)))
    }
}

/// Where the CSV scanner is within a record (the `csv` crate's default dialect: `,`, `"` quoting with `""`
/// as an escaped quote, `\n`, `\r` or `\r\n` ending a record outside quotes).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum CsvState {
    FieldStart,
    Unquoted,
    Quoted,
    QuoteInQuoted,
}

/// A reader that fails with [`io::ErrorKind::InvalidData`] as soon as one CSV record grows past `max` bytes,
/// naming the line the record starts on. Put it under `csv::Reader` so a record is never buffered whole.
pub struct RecordCapReader<R> {
    inner: R,
    max: usize,
    state: CsvState,
    record_bytes: usize,
    line: u64,
    record_line: u64,
}

impl<R: Read> RecordCapReader<R> {
    /// Wraps `inner`, allowing records of at most `max` bytes.
    pub fn new(inner: R, max: usize) -> Self {
        Self { inner, max, state: CsvState::FieldStart, record_bytes: 0, line: 1, record_line: 1 }
    }

    fn scan(&mut self, bytes: &[u8]) -> io::Result<()> {
        for &byte in bytes {
            let ends_record = match (self.state, byte) {
                (CsvState::Quoted, b'"') => {
                    self.state = CsvState::QuoteInQuoted;
                    false
                }
                (CsvState::Quoted, _) => false,
                (CsvState::FieldStart, b'"') => {
                    self.state = CsvState::Quoted;
                    false
                }
                (CsvState::QuoteInQuoted, b'"') => {
                    self.state = CsvState::Quoted;
                    false
                }
                (_, b',') => {
                    self.state = CsvState::FieldStart;
                    false
                }
                (_, b'\n' | b'\r') => true,
                _ => {
                    self.state = CsvState::Unquoted;
                    false
                }
            };
            if byte == b'\n' {
                self.line += 1;
            }
            if ends_record {
                self.state = CsvState::FieldStart;
                self.record_bytes = 0;
                self.record_line = self.line;
                continue;
            }
            self.record_bytes += 1;
            if self.record_bytes > self.max {
                return Err(io::Error::new(
                    io::ErrorKind::InvalidData,
                    format!(
                        "the record starting at line {} is longer than {} bytes (--max-line-bytes)",
                        self.record_line, self.max
                    ),
                ));
            }
        }
        Ok(())
    }
}

impl<R: Read> Read for RecordCapReader<R> {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        let read = self.inner.read(buf)?;
        self.scan(&buf[..read])?;
        Ok(read)
    }
}

/// A clap value parser for a duration flag: a `humantime` duration (`90s`, `5m`, `2h`) within
/// `min..=max`, with an error that names the range.
pub fn duration_between(
    min: Duration,
    max: Duration,
) -> impl Fn(&str) -> Result<Duration, String> + Clone + Send + Sync + 'static {
    move |text: &str| {
        let value = humantime::parse_duration(text.trim()).map_err(|e| format!("invalid duration {text:?}: {e}"))?;
        if value < min || value > max {
            return Err(format!(
                "{text:?} is out of range: give a duration from {} to {}",
                humantime::format_duration(min),
                humantime::format_duration(max)
            ));
        }
        Ok(value)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn lines(input: &[u8], max: usize) -> Vec<(u64, Line)> {
        // A tiny buffer so lines straddle refills.
        let reader = io::BufReader::with_capacity(3, input);
        BoundedLines::new(reader, max).collect::<io::Result<Vec<_>>>().expect("reads")
    }

    #[test]
    fn bounded_lines_table() {
        let text = |s: &str| Line::Text(s.as_bytes().to_vec());
        assert_eq!(lines(b"", 4), vec![]);
        assert_eq!(lines(b"ab\ncd", 4), vec![(1, text("ab")), (2, text("cd"))]);
        assert_eq!(lines(b"ab\n\ncd\n", 4), vec![(1, text("ab")), (2, text("")), (3, text("cd"))]);
        assert_eq!(
            lines(b"abcd\nabcde\nx", 4),
            vec![(1, text("abcd")), (2, Line::TooLong { bytes: 5 }), (3, text("x"))]
        );
        assert_eq!(lines(b"abcdefghij", 4), vec![(1, Line::TooLong { bytes: 10 })]);
    }

    fn scan(input: &[u8], max: usize) -> Result<(), String> {
        let mut reader = RecordCapReader::new(input, max);
        let mut sink = Vec::new();
        reader.read_to_end(&mut sink).map(drop).map_err(|e| e.to_string())
    }

    #[test]
    fn csv_records_are_capped_with_quoted_newlines_counted() {
        assert_eq!(scan(b"a,b\r\nccc,d\n", 5), Ok(()));
        assert_eq!(scan(b"a,\"x\"\"y\"\n", 8), Ok(()));
        let long = scan(b"email\n\"a\nb\nc\nd\"\n", 6).expect_err("a quoted field spanning lines is one record");
        assert!(long.contains("line 2") && long.contains("6 bytes"), "{long}");
        let unquoted = scan(b"h\nok\nabcdefgh\n", 4).expect_err("too long");
        assert!(unquoted.contains("line 3"), "{unquoted}");
        // A quote inside an unquoted field is literal: the newline still ends the record.
        assert_eq!(scan(b"ab\"c\nabcd\n", 4), Ok(()));
    }

    #[test]
    fn durations_are_bounded() {
        let parse = duration_between(Duration::from_secs(1), Duration::from_secs(3600));
        assert_eq!(parse("90s"), Ok(Duration::from_secs(90)));
        assert_eq!(parse("1h"), Ok(Duration::from_secs(3600)));
        for bad in ["500000000000y", "584942417356y", "1h 1s", "0s", "999ms", "soon", ""] {
            assert!(parse(bad).is_err(), "{bad:?} must be refused");
        }
    }
}
