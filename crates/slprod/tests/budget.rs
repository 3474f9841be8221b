//! `slprod budget`: the declared volume against the team's budget, with the exit code a release gate can use
//! (0 fits, 1 does not, 2 nothing to judge), read from `[volume]`/`[budget]` or the flags that override them.

mod support;

use serde_json::Value;
use support::{run_blocking, slprod};

fn budget(config: Option<&str>, args: &[&str]) -> (i32, String, String) {
    let dir = tempfile::tempdir().expect("tempdir");
    let mut command = slprod();
    if let Some(text) = config {
        let path = dir.path().join("slprod.toml");
        std::fs::write(&path, text).expect("config");
        command.arg("--config").arg(path);
    }
    command.args(["--output", "json", "budget"]).args(args);
    run_blocking(&mut command)
}

fn figures(stdout: &str) -> Value {
    serde_json::from_str(stdout.trim()).unwrap_or_else(|e| panic!("JSON ({e}): {stdout}"))
}

#[test]
fn the_config_files_volume_fits_and_a_flag_overrides_it_into_a_miss() {
    let config = "[budget]\ncost_per_minute = 600\nreserve_pct = 10\n\n[volume]\npeople_upserts_per_day = 20000\n\
                  records_read_per_day = 200000\npeak_hour_share = 0.25\n";
    let (code, stdout, stderr) = budget(Some(config), &[]);
    assert_eq!(code, 0, "{stdout}{stderr}");
    let fits = figures(&stdout);
    assert_eq!(fits["fits"], true);
    assert_eq!(fits["usable_per_minute"], 540.0);
    assert!((fits["peak_minute_cost"].as_f64().expect("peak") - 92.5).abs() < 1e-9, "{fits}");

    let (code, stdout, stderr) = budget(Some(config), &["--people-upserts-per-day", "200000"]);
    assert_eq!(code, 1, "{stdout}{stderr}");
    let misses = figures(&stdout);
    assert_eq!(misses["fits"], false);
    assert!(misses["headroom_per_minute"].as_f64().expect("headroom") < 0.0, "{misses}");
}

#[test]
fn no_volume_or_a_nonsense_share_is_refused_with_exit_2() {
    for (args, needle) in [
        (&[][..], "no volume declared"),
        (&["--records-read-per-day", "10", "--peak-hour-share", "0.01"][..], "peak_hour_share"),
        (&["--records-read-per-day", "10", "--reserve-pct", "100"][..], "reserve_pct"),
        (&["--records-read-per-day", "10", "--cost-per-minute", "0"][..], "cost_per_minute"),
    ] {
        let (code, _, stderr) = budget(None, args);
        assert_eq!(code, 2, "{args:?}: {stderr}");
        assert!(stderr.contains(needle), "{args:?}: {stderr}");
    }
}

#[test]
fn both_paths_are_priced_and_the_bulk_figure_says_it_is_an_estimate() {
    let (code, stdout, stderr) = budget(None, &["--people-upserts-per-day", "100000"]);
    assert_eq!(code, 0, "{stdout}{stderr}");
    let json = figures(&stdout);
    assert_eq!(json["upsert_cost_per_day"], 101_000.0, "row by row: 1.01 per person");
    // 20 uploads + create + mark-ready + 9 polls + 1 000 result pages.
    assert_eq!(json["bulk_upsert_cost_per_day"], 1_031.0, "{json}");
    assert_eq!(json["bulk_cost_is_estimate"], true);

    let mut command = slprod();
    command.args(["budget", "--people-upserts-per-day", "100000"]);
    let (code, text, _) = run_blocking(&mut command);
    assert_eq!(code, 0);
    assert!(text.contains("bulk job") && text.contains("unconfirmed costs (FACTS.md §12)"), "{text}");
}
