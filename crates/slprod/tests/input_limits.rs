//! Bounded input at the command line (issue 7 item 6): an over-long JSON line fails as its own row, named by
//! its line number, without being held in memory; an over-long CSV record stops the push with an error naming
//! its line; duration flags outside their range are refused by the parser instead of overflowing later
//! (`500000000000y` parses as a `Duration`, and `--lock-ttl` used to panic multiplying it).
//!
//! None of these runs reaches SalesLoft: every row fails before anything is sent, so the base URL points at a
//! closed loopback port.

mod support;

use std::path::Path;

/// Runs `slprod <args>` with a throwaway store; returns (exit code, stdout, stderr).
fn slprod(dir: &Path, args: &[&str]) -> (i32, String, String) {
    let mut command = support::slprod();
    command
        .args(args)
        .env("SALESLOFT_BASE_URL", "http://127.0.0.1:9/v2")
        .env("SALESLOFT_API_KEY", "ak-test")
        .env("SLPROD_STORE", support::sqlite_url(dir));
    support::run_blocking(&mut command)
}

#[test]
fn an_over_long_json_line_fails_as_its_own_row_naming_the_line() {
    let dir = tempfile::tempdir().expect("tempdir");
    let input = dir.path().join("people.jsonl");
    let long = format!("{{\"email_address\":\"a@example.com\",\"title\":\"{}\"}}", "x".repeat(2 * 1024 * 1024));
    std::fs::write(&input, format!("\n{long}\nnot json\n")).expect("write input");
    let path = input.to_string_lossy().into_owned();

    let (code, stdout, stderr) = slprod(dir.path(), &["push", "people", "--from", &path]);
    assert_eq!(code, 1, "rows failed, the push ran: stdout {stdout}\nstderr {stderr}");
    assert!(stdout.contains("2 rows: 0 created, 0 updated, 0 unchanged, 2 failed"), "{stdout}");
    assert!(stdout.contains("row 2: line 2 is 2097196 bytes, over the 1048576-byte limit"), "{stdout}");
    assert!(stdout.contains("row 3: invalid JSON"), "{stdout}");
    assert!(!stderr.contains("panicked"), "{stderr}");

    let (code, stdout, _) =
        slprod(dir.path(), &["push", "people", "--from", &path, "--max-line-bytes", "100", "--run-id", "small"]);
    assert_eq!(code, 1, "{stdout}");
    assert!(stdout.contains("over the 100-byte limit"), "{stdout}");
}

#[test]
fn an_over_long_csv_record_stops_the_push_naming_its_line() {
    let dir = tempfile::tempdir().expect("tempdir");
    let input = dir.path().join("people.csv");
    // A quoted field that never closes would make the CSV reader buffer the rest of the file as one record.
    let text = format!("email_address,title\nb@example.com,\"{}\n", "y\n".repeat(700_000));
    std::fs::write(&input, text).expect("write input");
    let path = input.to_string_lossy().into_owned();

    let (code, stdout, stderr) = slprod(dir.path(), &["push", "people", "--from", &path]);
    assert_eq!(code, 2, "the push stops: stdout {stdout}\nstderr {stderr}");
    assert!(
        stderr.contains("the record starting at line 2 is longer than 1048576 bytes (--max-line-bytes)"),
        "{stderr}"
    );
    assert!(!stderr.contains("panicked"), "{stderr}");
}

#[test]
fn duration_flags_out_of_range_are_refused_not_overflowed() {
    let dir = tempfile::tempdir().expect("tempdir");
    let input = dir.path().join("people.jsonl");
    std::fs::write(&input, "not json\n").expect("write input");
    let path = input.to_string_lossy().into_owned();
    let cases: [&[&str]; 5] = [
        &["push", "people", "--from", &path, "--lock-ttl", "500000000000y"],
        &["push", "people", "--from", &path, "--lock-ttl", "0s"],
        &["demo", "--minute", "500000000000y"],
        &["sim", "--token-lifetime", "500000000000y"],
        &["sim", "--minute", "100000000h"],
    ];
    for args in cases {
        let (code, stdout, stderr) = slprod(dir.path(), args);
        assert_eq!(code, 2, "{args:?}: expected a usage error, got stdout {stdout}\nstderr {stderr}");
        assert!(stderr.contains("out of range: give a duration from"), "{args:?}: {stderr}");
        assert!(!stderr.contains("panicked"), "{args:?}: {stderr}");
    }
    // In range still works (the row fails on its own, exit 1).
    let (code, stdout, stderr) = slprod(dir.path(), &["push", "people", "--from", &path, "--lock-ttl", "24h"]);
    assert_eq!(code, 1, "stdout {stdout}\nstderr {stderr}");
}
