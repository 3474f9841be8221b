//! `slprod check`: the whole checklist against the embedded simulator passes; `examples/bad.toml` fails exactly
//! the checks it breaks; each configuration mistake fails its check with evidence naming the cause; the report
//! formats, the selection flags and the exit codes.

mod support;

use std::collections::BTreeSet;
use std::path::{Path, PathBuf};

use serde_json::Value;
use support::{run, sim, slprod};

fn root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../..")
}

/// `slprod check --format json` with `args`, from the repository root; (exit code, report, stderr).
async fn check(args: &[&str], config: Option<&str>, envs: &[(&str, String)]) -> (i32, Value, String) {
    let dir = tempfile::tempdir().expect("dir");
    let mut command = slprod();
    command.current_dir(root());
    if let Some(text) = config {
        let path = dir.path().join("slprod.toml");
        std::fs::write(&path, text).expect("config");
        command.arg("--config").arg(path);
    }
    for (name, value) in envs {
        command.env(name, value);
    }
    command.args(["check", "--format", "json"]).args(args);
    let (code, stdout, stderr) = run(command).await;
    let report = serde_json::from_str(stdout.trim()).unwrap_or(Value::Null);
    (code, report, stderr)
}

fn statuses(report: &Value) -> Vec<(String, String)> {
    report["checks"]
        .as_array()
        .map(|checks| {
            checks
                .iter()
                .map(|c| (c["id"].as_str().unwrap_or("").to_string(), c["status"].as_str().unwrap_or("").to_string()))
                .collect()
        })
        .unwrap_or_default()
}

fn failing(report: &Value) -> BTreeSet<String> {
    statuses(report).into_iter().filter(|(_, s)| s != "pass").map(|(id, _)| id).collect()
}

fn finding<'r>(report: &'r Value, id: &str) -> &'r Value {
    report["checks"]
        .as_array()
        .and_then(|c| c.iter().find(|c| c["id"] == id))
        .unwrap_or_else(|| panic!("no {id} in {report}"))
}

fn strong_secret() -> String {
    (0..3).map(|_| uuid::Uuid::new_v4().simple().to_string()).collect()
}

#[tokio::test]
async fn with_no_configuration_every_check_passes_against_the_embedded_simulator() {
    let (code, report, stderr) = check(&[], None, &[]).await;
    assert_eq!(statuses(&report).len(), 27, "{report}\n{stderr}");
    assert!(failing(&report).is_empty(), "not passing: {:?}\n{stderr}", failing(&report));
    assert_eq!(code, 0, "{stderr}");
    for check in report["checks"].as_array().expect("checks") {
        for field in ["id", "section", "severity", "kind", "status", "summary", "evidence"] {
            assert!(!check[field].is_null(), "{field} missing in {check}");
        }
    }
}

#[tokio::test]
async fn bad_toml_fails_exactly_the_six_checks_it_breaks_each_naming_the_cause() {
    let config = std::fs::read_to_string(root().join("examples/bad.toml")).expect("bad.toml");
    let (code, report, stderr) = check(&[], Some(&config), &[]).await;
    let expected: BTreeSet<String> =
        ["AUTH-1", "AUTH-2", "AUTH-4", "ERR-3", "ERR-5", "RATE-1"].iter().map(|s| s.to_string()).collect();
    assert_eq!(failing(&report), expected, "{stderr}");
    assert_eq!(code, 1);
    let cause = |id: &str| finding(&report, id)["summary"].as_str().expect("summary").to_string();
    assert!(cause("AUTH-1").contains("dev-app-1a2b07"), "{}", cause("AUTH-1"));
    assert!(cause("AUTH-2").contains("oauth_tokens_ref") && cause("AUTH-2").contains("file:"), "{}", cause("AUTH-2"));
    assert!(cause("AUTH-4").contains("development secret"), "{}", cause("AUTH-4"));
    assert!(cause("ERR-3").contains("5 attempts"), "{}", cause("ERR-3"));
    assert!(cause("ERR-5").contains("breaker.enabled = false"), "{}", cause("ERR-5"));
    assert!(cause("RATE-1").contains("over the 540 usable"), "{}", cause("RATE-1"));
    // P1 failures come first in the text report's fix list.
    let text = {
        let mut command = slprod();
        command.current_dir(root()).args(["--config", "examples/bad.toml", "check"]);
        run(command).await.1
    };
    let fix = text.split("To fix, most severe first:").nth(1).expect("fix list");
    assert!(fix.find("P1").expect("P1") < fix.find("P2").expect("P2"), "{fix}");
}

#[tokio::test]
async fn good_toml_passes_every_static_check() {
    let config = std::fs::read_to_string(root().join("examples/good.toml")).expect("good.toml");
    let (code, report, stderr) = check(
        &["--only", "AUTH-1,AUTH-2,AUTH-4,RATE-1,ERR"],
        Some(&config),
        &[("SLPROD_WEBHOOK_SECRET", strong_secret())],
    )
    .await;
    assert!(failing(&report).is_empty(), "{:?} {stderr}", failing(&report));
    assert_eq!(statuses(&report).len(), 9);
    assert_eq!(code, 0);
}

/// A production file that passes the static checks; each test breaks one thing.
fn production(extra: &str) -> String {
    format!(
        "environment = \"production\"\n[salesloft]\nauth = \"oauth\"\noauth_client_id = \"prod\"\n\
         non_production_client_ids = [\"dev\"]\noauth_tokens_ref = \"vault:secret/t#tokens\"\n\
         oauth_client_secret_ref = \"vault:secret/t#secret\"\n{extra}"
    )
}

#[tokio::test]
async fn each_configuration_mistake_fails_its_check_with_the_cause() {
    let webhook = |secret_ref: &str| {
        format!("[webhooks]\nsecret_refs = [\"{secret_ref}\"]\ndevelopment_secret_sha256 = \"{}\"\n", "0".repeat(64))
    };
    // (check, configuration, environment, what the summary must name)
    type Case<'a> = (&'a str, String, Vec<(&'a str, String)>, &'a str);
    let cases: Vec<Case> = vec![
        ("AUTH-1", production("").replace("[\"dev\"]", "[]"), vec![], "non_production_client_ids is empty"),
        ("AUTH-2", production("").replace("vault:secret/t#tokens", "env:SL_TOKENS"), vec![], "env:SL_TOKENS"),
        ("AUTH-4", production(&webhook("env:WEAK")), vec![("WEAK", "changeme".to_string())], "bits of entropy"),
        ("AUTH-4", production(&webhook("env:UNSET_SECRET_VAR")), vec![], "cannot be read"),
        ("RATE-1", production(""), vec![], "[volume] is not declared"),
        ("ERR-2", production("[retry]\nhonour_retry_after = false\n"), vec![], "honour_retry_after = false"),
        ("ERR-3", production("[retry]\nmax_attempts = 1\n"), vec![], "not retried"),
        ("ERR-5", production("[breaker]\nenabled = false\n"), vec![], "breaker.enabled = false"),
        ("MON-2", production("[alerts]\nserver_errors_per_minute = 50\n"), vec![], "looser than the checklist's 5"),
        ("MON-3", production("[alerts]\nrate_limited_per_minute = 11\n"), vec![], "looser than the checklist's 10"),
        ("MON-4", production("[alerts]\nauth_failures = 3\n"), vec![], "looser than the checklist's 1"),
    ];
    for (id, config, envs, needle) in cases {
        let (code, report, stderr) = check(&["--only", id], Some(&config), &envs).await;
        let found = finding(&report, id);
        assert_eq!(found["status"], "fail", "{id}: {found}\n{stderr}");
        assert!(found["summary"].as_str().expect("summary").contains(needle), "{id}: {found}");
        assert_eq!(code, 1, "{id}");
    }
}

#[tokio::test]
async fn live_checks_reach_a_configured_salesloft_and_a_bad_key_is_named_by_its_source() {
    let sim = sim(4).await;
    let envs =
        vec![("SALESLOFT_BASE_URL", sim.base_url().to_string()), ("SALESLOFT_API_KEY", sim.api_key().to_string())];
    let (code, report, stderr) = check(&["--only", "SMOKE,MON-1"], None, &envs).await;
    assert_eq!(finding(&report, "SMOKE-1")["status"], "pass", "{report}\n{stderr}");
    assert_eq!(finding(&report, "SMOKE-2")["status"], "pass");
    assert!(finding(&report, "SMOKE-2")["summary"].as_str().expect("summary").contains("4 people"));
    let mon = finding(&report, "MON-1");
    assert_eq!(mon["status"], "skip", "no gateway named: {mon}");
    assert_eq!(code, 1, "a skip is never a pass");

    let envs =
        vec![("SALESLOFT_BASE_URL", sim.base_url().to_string()), ("SALESLOFT_API_KEY", "ak-not-the-key".to_string())];
    let (_, report, stderr) = check(&["--only", "SMOKE-1"], None, &envs).await;
    let smoke = finding(&report, "SMOKE-1");
    assert_eq!(smoke["status"], "fail");
    assert!(smoke["summary"].as_str().expect("summary").contains("SALESLOFT_API_KEY"), "{smoke}");
    assert!(!report.to_string().contains("ak-not-the-key") && !stderr.contains("ak-not-the-key"));
}

#[tokio::test]
async fn reports_in_every_format_carry_every_selected_check() {
    let dir = tempfile::tempdir().expect("dir");
    for format in ["junit", "markdown", "html", "json"] {
        let out = dir.path().join(format!("report.{format}"));
        let mut command = slprod();
        command.current_dir(root()).args(["check", "--only", "AUTH,RATE-1", "--format", format, "--out"]).arg(&out);
        let (code, stdout, stderr) = run(command).await;
        assert_eq!(code, 0, "{format}: {stdout}{stderr}");
        assert!(stdout.contains("5/5 checks passed"), "{stdout}");
        let text = std::fs::read_to_string(&out).expect("report");
        for id in ["AUTH-1", "AUTH-2", "AUTH-3", "AUTH-4", "RATE-1"] {
            assert!(text.contains(id), "{format} lacks {id}");
        }
        match format {
            "junit" => {
                assert_eq!(text.matches("<testcase ").count(), 5, "{text}");
                assert!(text.starts_with("<?xml") && !text.contains("<failure"), "{text}");
            }
            "markdown" => assert!(text.contains("| ID | Severity | Kind | Status | Evidence |"), "{text}"),
            "html" => {
                assert!(text.starts_with("<!DOCTYPE html>") && text.contains("id=\"verdict\""), "{text}");
                assert!(!text.contains("<script"), "self-contained and static");
            }
            _ => {
                let report: Value = serde_json::from_str(&text).expect("json");
                assert_eq!(report["summary"]["passed"], 5);
            }
        }
    }
}

#[tokio::test]
async fn a_selection_that_names_nothing_is_refused_and_skip_removes_checks() {
    let (code, _, stderr) = check(&["--only", "NOPE-9"], None, &[]).await;
    assert_eq!(code, 2, "{stderr}");
    assert!(stderr.contains("names no check"), "{stderr}");
    let (code, report, _) = check(&["--only", "AUTH", "--skip", "AUTH-3"], None, &[]).await;
    let ids: Vec<String> = statuses(&report).into_iter().map(|(id, _)| id).collect();
    assert_eq!(ids, ["AUTH-1", "AUTH-2", "AUTH-4"]);
    assert_eq!(code, 0);
}

/// The HTML report opened in headless Chromium (Debian's `chromium`, installed by scripts/test.sh; its path in
/// SLPROD_TEST_CHROMIUM, else `chromium` on PATH): the page loads, the verdict, every section, every check
/// row with its status and both plots are in the rendered DOM, and a screenshot is drawn.
#[tokio::test]
async fn the_html_report_renders_in_headless_chromium() {
    let chromium = std::env::var("SLPROD_TEST_CHROMIUM").unwrap_or_else(|_| "chromium".to_string());
    let dir = tempfile::tempdir().expect("dir");
    let html = dir.path().join("report.html");
    let mut command = slprod();
    command.current_dir(root()).args(["check", "--skip", "RATE-2", "--format", "html", "--out"]).arg(&html);
    let (code, stdout, stderr) = run(command).await;
    assert!(code == 0 || code == 1, "{stdout}{stderr}");
    let flags = [
        "--headless",
        "--no-sandbox",
        "--disable-gpu",
        "--disable-background-networking",
        "--disable-component-update",
        "--disable-sync",
        "--no-first-run",
    ];
    let profile = dir.path().join("profile");
    let url = format!("file://{}", html.display());
    let mut dump = std::process::Command::new(&chromium);
    dump.args(flags).arg(format!("--user-data-dir={}", profile.display())).arg("--dump-dom").arg(&url);
    let output = tokio::task::spawn_blocking(move || dump.output())
        .await
        .expect("join")
        .unwrap_or_else(|e| panic!("headless Chromium ({chromium}) did not run: {e}; scripts/test.sh installs it"));
    let dom = String::from_utf8_lossy(&output.stdout).into_owned();
    assert!(dom.contains("id=\"verdict\""), "no verdict in the rendered page: {}", &dom[..dom.len().min(500)]);
    for section in ["AUTH", "ERR", "RATE", "MON", "DATA", "ROLL", "SMOKE"] {
        assert!(dom.contains(&format!("<h2 id=\"{section}\"")), "section {section} missing");
    }
    assert_eq!(dom.matches("data-status=").count(), 26, "one row per selected check");
    assert!(dom.contains("id=\"latency-plot\"") && dom.contains("<polyline"), "the latency plot is drawn");
    assert!(dom.contains("id=\"cost-plot\"") && dom.contains("class=\"bar\""), "the cost plot has bars");

    let png = dir.path().join("report.png");
    let chromium = std::env::var("SLPROD_TEST_CHROMIUM").unwrap_or_else(|_| "chromium".to_string());
    let mut shot = std::process::Command::new(&chromium);
    shot.args(flags)
        .arg(format!("--user-data-dir={}", profile.display()))
        .arg("--window-size=1200,1600")
        .arg(format!("--screenshot={}", png.display()))
        .arg(&url);
    let _ = tokio::task::spawn_blocking(move || shot.output()).await.expect("join");
    let bytes = std::fs::read(&png).expect("a screenshot");
    assert!(bytes.starts_with(b"\x89PNG") && bytes.len() > 20_000, "a drawn page, {} bytes", bytes.len());
}

/// A stand-in gateway whose `/health` answers 503 with a reason (SalesLoft unreachable from it).
async fn unhealthy_gateway() -> String {
    use tokio::io::{AsyncReadExt, AsyncWriteExt};
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.expect("bind");
    let address = listener.local_addr().expect("addr");
    tokio::spawn(async move {
        while let Ok((mut socket, _)) = listener.accept().await {
            let mut buf = [0u8; 4096];
            let _ = socket.read(&mut buf).await;
            let body = r#"{"status":"degraded","salesloft":{"connected":false},"reasons":["SalesLoft unreachable"]}"#;
            let answer = format!(
                "HTTP/1.1 503 X\r\ncontent-type: application/json\r\ncontent-length: {}\r\nconnection: close\r\n\r\n{body}",
                body.len()
            );
            let _ = socket.write_all(answer.as_bytes()).await;
        }
    });
    format!("http://{address}")
}

#[tokio::test]
async fn a_gateway_whose_health_is_degraded_fails_mon_1_with_its_answer() {
    let sim = sim(2).await;
    let gateway = unhealthy_gateway().await;
    let envs =
        vec![("SALESLOFT_BASE_URL", sim.base_url().to_string()), ("SALESLOFT_API_KEY", sim.api_key().to_string())];
    let (code, report, stderr) = check(&["--only", "MON-1", "--gateway", &gateway], None, &envs).await;
    let mon = finding(&report, "MON-1");
    assert_eq!(mon["status"], "fail", "{mon}\n{stderr}");
    assert!(mon["summary"].as_str().expect("summary").contains("answered 503"), "{mon}");
    assert_eq!(mon["evidence"]["body"]["reasons"][0], "SalesLoft unreachable");
    assert_eq!(code, 1);
}

#[tokio::test]
async fn an_unreachable_salesloft_is_exit_2_with_the_reason() {
    let port = std::net::TcpListener::bind("127.0.0.1:0").expect("bind").local_addr().expect("addr").port();
    let envs = vec![
        ("SALESLOFT_BASE_URL", format!("http://127.0.0.1:{port}/v2")),
        ("SALESLOFT_API_KEY", "ak-whatever".to_string()),
    ];
    let (code, report, stderr) = check(&["--only", "SMOKE"], None, &envs).await;
    assert_eq!(code, 2, "{report}\n{stderr}");
    assert!(stderr.contains("could not be reached"), "{stderr}");
    assert_eq!(finding(&report, "SMOKE-1")["status"], "error");
}

#[tokio::test]
async fn allow_writes_adds_a_live_upsert_round_trip_and_without_it_live_checks_only_read() {
    let sim = sim(2).await;
    let envs =
        vec![("SALESLOFT_BASE_URL", sim.base_url().to_string()), ("SALESLOFT_API_KEY", sim.api_key().to_string())];
    let (code, report, stderr) = check(&["--only", "DATA-1", "--allow-writes"], None, &envs).await;
    let data = finding(&report, "DATA-1");
    assert_eq!(data["status"], "pass", "{data}\n{stderr}");
    assert_eq!(data["evidence"]["live_write"]["people_with_the_email"]["Ok"], 1, "{data}");
    assert_eq!(data["evidence"]["live_write"]["first"]["Ok"], "created");
    assert_eq!(code, 0);
    let live_posts = salesloft_testkit::sim::requests_to(sim.root_url(), &["POST"], "/v2/people").await.len();
    assert_eq!(live_posts, 1, "the repeat upsert found the person and sent no second create");

    let (_, report, _) = check(&["--only", "DATA-1"], None, &envs).await;
    assert!(finding(&report, "DATA-1")["evidence"]["live_write"].as_str().is_some_and(|s| s.contains("not run")));
    let after = salesloft_testkit::sim::requests_to(sim.root_url(), &["POST", "PUT"], "/v2/people").await.len();
    assert_eq!(after, live_posts, "without --allow-writes nothing is written to the configured SalesLoft");
}
