//! `slprod alerts export` end to end: the files it writes from slprod.toml's `[alerts]` pass `promtool check
//! rules` and `promtool test rules` (each alert fires above its threshold and stays silent below it), and the
//! thresholds in the rules are the file's.

mod support;

#[test]
fn the_export_passes_promtool_check_and_test_with_the_files_thresholds() {
    let promtool = support::tool("SLPROD_TEST_PROMTOOL", "promtool", "prometheus");
    let dir = tempfile::tempdir().expect("dir");
    let config = dir.path().join("slprod.toml");
    std::fs::write(
        &config,
        "[alerts]\nserver_errors_per_minute = 8\nrate_limited_per_minute = 12\np99_latency_ms = 900\n",
    )
    .expect("config");
    let out = dir.path().join("alerts");
    let mut export = support::slprod();
    export.arg("--config").arg(&config).args(["alerts", "export", "--out"]).arg(&out);
    let (code, stdout, stderr) = support::run_blocking(&mut export);
    assert_eq!(code, 0, "{stdout}{stderr}");
    for file in
        ["salesloft.rules.yml", "salesloft.rules.test.yml", "alertmanager.example.yml", "grafana-dashboard.json"]
    {
        assert!(stdout.contains(file), "{file} reported: {stdout}");
    }
    let rules = std::fs::read_to_string(out.join("salesloft.rules.yml")).expect("rules");
    assert!(rules.contains(r#"{class=\"5xx\"}[1m])) > 8""#), "{rules}");
    assert!(rules.contains(r#"{status=\"429\"}[1m])) > 12""#), "{rules}");
    assert!(rules.contains("> 0.9\""), "{rules}");
    let dashboard: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(out.join("grafana-dashboard.json")).expect("dashboard"))
            .expect("the dashboard is JSON");
    assert_eq!(dashboard["panels"].as_array().map(Vec::len), Some(6), "{dashboard:#}");

    for args in [["check", "rules", "salesloft.rules.yml"], ["test", "rules", "salesloft.rules.test.yml"]] {
        let output = std::process::Command::new(&promtool).args(args).current_dir(&out).output().expect("promtool");
        let (code, stdout, stderr) = support::captured(output);
        assert_eq!(code, 0, "promtool {args:?} failed:\n{stdout}{stderr}");
    }
}

#[test]
fn an_unmeasurable_threshold_is_refused_with_its_key() {
    let dir = tempfile::tempdir().expect("dir");
    let config = dir.path().join("slprod.toml");
    std::fs::write(&config, "[alerts]\np99_latency_ms = 9000\n").expect("config");
    let mut export = support::slprod();
    export.arg("--config").arg(&config).args(["alerts", "export", "--out"]).arg(dir.path().join("alerts"));
    let (code, _, stderr) = support::run_blocking(&mut export);
    assert_eq!(code, 2, "{stderr}");
    assert!(stderr.contains("alerts.p99_latency_ms"), "{stderr}");
}
