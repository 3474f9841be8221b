//! The export is what Prometheus, promtool and Alertmanager load: `promtool check rules` accepts the rule
//! file, `promtool test rules` passes the generated cases (each alert firing above its threshold and silent
//! below it), and `amtool check-config` accepts the routing example. The tools come from Debian's
//! `prometheus` and `prometheus-alertmanager` packages (scripts/test.sh installs them); a missing tool fails
//! the test, it never skips.

use std::path::{Path, PathBuf};
use std::process::Command;

use salesloft_alerts::export::{ALERTMANAGER_FILE, RULES_FILE, RULES_TEST_FILE};
use salesloft_alerts::{RenderOptions, Thresholds, catalogue, export};

/// The tool named by `variable`, else `name` on the PATH; panics with how to install it when absent.
fn tool(variable: &str, name: &str, package: &str) -> PathBuf {
    let path = std::env::var_os(variable).map_or_else(|| PathBuf::from(name), PathBuf::from);
    match Command::new(&path).arg("--version").output() {
        Ok(output) if output.status.success() => path,
        other => panic!(
            "{name} is needed by this test and was not found ({other:?}): run scripts/test.sh, or \
             `apt-get install -y --no-install-recommends {package}`, or set {variable}"
        ),
    }
}

fn promtool() -> PathBuf {
    tool("SLPROD_TEST_PROMTOOL", "promtool", "prometheus")
}

/// Runs `program args` in `dir`; (success, stdout + stderr).
fn run(program: &Path, args: &[&str], dir: &Path) -> (bool, String) {
    let output = Command::new(program).args(args).current_dir(dir).output().expect("the tool runs");
    let text = format!("{}{}", String::from_utf8_lossy(&output.stdout), String::from_utf8_lossy(&output.stderr));
    (output.status.success(), text)
}

#[test]
fn promtool_accepts_the_rules_and_their_tests_pass_with_default_and_custom_thresholds() {
    let promtool = promtool();
    let custom = Thresholds {
        server_errors_per_minute: 20,
        rate_limited_per_minute: 3,
        auth_failures: 2,
        p99_latency_ms: 450,
        ..Thresholds::default()
    };
    for thresholds in [Thresholds::default(), custom] {
        let dir = tempfile::tempdir().expect("dir");
        export(dir.path(), &thresholds, 600, &RenderOptions::default()).expect("export");
        let (ok, text) = run(&promtool, &["check", "rules", RULES_FILE], dir.path());
        assert!(ok, "promtool check rules failed for {thresholds:?}:\n{text}");
        assert!(text.contains(&format!("SUCCESS: {} rules found", catalogue(&thresholds).len())), "{text}");
        let (ok, text) = run(&promtool, &["test", "rules", RULES_TEST_FILE], dir.path());
        assert!(ok, "promtool test rules failed for {thresholds:?}:\n{text}");
    }
}

#[test]
fn the_generated_tests_catch_rules_that_drifted_from_the_definition() {
    // Rules from one threshold, tests from another: the firing case of the 5xx alert must fail, so the tests
    // check the thresholds rather than pass whatever the rules say.
    let promtool = promtool();
    let dir = tempfile::tempdir().expect("dir");
    export(dir.path(), &Thresholds::default(), 600, &RenderOptions::default()).expect("export");
    let drifted = Thresholds { server_errors_per_minute: 50, ..Thresholds::default() };
    let rules = salesloft_alerts::rules::render(&catalogue(&drifted), &RenderOptions::default());
    std::fs::write(dir.path().join(RULES_FILE), rules).expect("write");
    let (ok, text) = run(&promtool, &["test", "rules", RULES_TEST_FILE], dir.path());
    assert!(!ok, "promtool passed tests against drifted rules:\n{text}");
    assert!(text.contains("SalesloftServerErrors"), "the failure names the alert:\n{text}");
}

#[test]
fn amtool_accepts_the_alertmanager_example() {
    let amtool = tool("SLPROD_TEST_AMTOOL", "amtool", "prometheus-alertmanager");
    let dir = tempfile::tempdir().expect("dir");
    export(dir.path(), &Thresholds::default(), 600, &RenderOptions::default()).expect("export");
    let (ok, text) = run(&amtool, &["check-config", ALERTMANAGER_FILE], dir.path());
    assert!(ok, "amtool check-config failed:\n{text}");
}
