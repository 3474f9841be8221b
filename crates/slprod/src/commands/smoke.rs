//! `slprod smoke`: the checklist's post-launch smoke tests against real SalesLoft or the gateway.
//!
//! 1. `GET /me` must answer 200; prints the user's email.
//! 2. `GET /people?per_page=1&include_paging_counts=true` must report a total count (FACTS.md §4.2: the counts
//!    come only when asked for); prints it.
//! 3. With `--health-url`, the gateway's `/health` must answer 200.
//!
//! Each check prints its latency against the read baseline (`alerts.read_baseline_ms`, 300 ms by default;
//! DESIGN.md MON-5). A slow answer is reported, not failed: a smoke test proves the integration works, the
//! latency alert judges its speed. Each check is one attempt (no retry), so what is printed is what SalesLoft
//! answered. Exit 0 when every check passed, 1 when one failed, 2 when nothing could be reached. A 401 names
//! the credential's source (flag, environment variable, file reference), never its value.

use std::time::{Duration, Instant};

use clap::Args;
use salesloft_client::Error as ClientError;
use salesloft_client::transport::RetryConfig;
use serde_json::{Value, json};

use super::Context;
use crate::connect::ConnectArgs;
use crate::error::{CliError, Outcome, Status};

/// The default read baseline (CONFIG.md `alerts.read_baseline_ms`).
pub const DEFAULT_READ_BASELINE_MS: u64 = 300;

/// Arguments of `slprod smoke`.
#[derive(Debug, Args)]
pub struct SmokeArgs {
    /// Where and how to reach SalesLoft (or the gateway, with an internal token as the API key).
    #[command(flatten)]
    pub connect: ConnectArgs,
    /// The gateway's health endpoint, e.g. `https://gateway.internal/health` [default: rollback.health_url].
    #[arg(long)]
    pub health_url: Option<String>,
    /// How long each check may take.
    #[arg(
        long,
        default_value = "10s",
        value_parser = crate::limits::duration_between(Duration::from_millis(100), Duration::from_secs(600))
    )]
    pub timeout: Duration,
}

/// How one check ended.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Verdict {
    Pass,
    Fail,
    /// No answer at all (connection refused, DNS, timeout).
    Unreachable,
}

struct Check {
    name: &'static str,
    verdict: Verdict,
    latency: Duration,
    detail: String,
}

impl Check {
    fn json(&self, baseline: Duration) -> Value {
        json!({
            "check": self.name,
            "passed": self.verdict == Verdict::Pass,
            "reached": self.verdict != Verdict::Unreachable,
            "latency_ms": self.latency.as_secs_f64() * 1000.0,
            "within_baseline": self.latency <= baseline,
            "detail": self.detail,
        })
    }
}

/// Runs `slprod smoke`: all passed (0), one failed (1), nothing reachable (2).
pub async fn run(args: SmokeArgs, context: &Context) -> Result<Outcome, CliError> {
    let config = &context.config;
    let baseline = Duration::from_millis(config.alerts.read_baseline_ms.unwrap_or(DEFAULT_READ_BASELINE_MS));
    let source = args.connect.credential_source(config);
    let client = args
        .connect
        .pipeline_builder(config)?
        // One attempt: the smoke test reports SalesLoft's first answer, not the retry policy's last.
        .retry(RetryConfig { max_attempts: 1, ..RetryConfig::default() })
        .build()
        .map(salesloft_client::Client::new)
        .map_err(|e| CliError::Connect(e.to_string()))?;

    let mut checks = Vec::new();
    let started = Instant::now();
    let me = tokio::time::timeout(args.timeout, client.me()).await;
    checks.push(match me {
        Ok(Ok(user)) => Check {
            name: "GET /me",
            verdict: Verdict::Pass,
            latency: started.elapsed(),
            detail: format!("authenticated as {}", user.email.as_deref().unwrap_or("(no email)")),
        },
        Ok(Err(error)) => failed("GET /me", started.elapsed(), &error, &source),
        Err(_) => timed_out("GET /me", args.timeout),
    });

    let started = Instant::now();
    let people = client.people().list().per_page(1).include_paging_counts(true).send();
    checks.push(match tokio::time::timeout(args.timeout, people).await {
        Ok(Ok(page)) => match page.metadata.paging.as_ref().and_then(|p| p.total_count) {
            Some(total) => Check {
                name: "GET /people",
                verdict: Verdict::Pass,
                latency: started.elapsed(),
                detail: format!("{total} people in total"),
            },
            None => Check {
                name: "GET /people",
                verdict: Verdict::Fail,
                latency: started.elapsed(),
                detail: "the answer has no metadata.paging.total_count although include_paging_counts=true".into(),
            },
        },
        Ok(Err(error)) => failed("GET /people", started.elapsed(), &error, &source),
        Err(_) => timed_out("GET /people", args.timeout),
    });

    if let Some(url) = args.health_url.clone().or_else(|| config.rollback.health_url.clone()) {
        checks.push(health(&url, args.timeout).await);
    }

    let mut text = String::new();
    for check in &checks {
        let mark = match check.verdict {
            Verdict::Pass => "ok  ",
            Verdict::Fail => "FAIL",
            Verdict::Unreachable => "DOWN",
        };
        let speed = if check.latency <= baseline { "within" } else { "OVER" };
        text.push_str(&format!(
            "{mark} {:<12} {:>7.1} ms ({speed} the {} ms baseline)  {}\n",
            check.name,
            check.latency.as_secs_f64() * 1000.0,
            baseline.as_millis(),
            check.detail
        ));
    }
    let json = json!({
        "checks": checks.iter().map(|c| c.json(baseline)).collect::<Vec<_>>(),
        "read_baseline_ms": baseline.as_millis() as u64,
    });
    if checks.iter().all(|c| c.verdict == Verdict::Unreachable) {
        return Err(CliError::Connect(format!("nothing could be reached:\n{}", text.trim_end())));
    }
    let passed = checks.iter().all(|c| c.verdict == Verdict::Pass);
    Ok(Outcome::new(if passed { Status::Done } else { Status::Problems }, json, text))
}

fn failed(name: &'static str, latency: Duration, error: &ClientError, source: &str) -> Check {
    let (verdict, detail) = match error {
        ClientError::Unauthorized { .. } | ClientError::Auth { .. } => {
            (Verdict::Fail, format!("authentication failed with {source}: {error}"))
        }
        ClientError::Dispatch { .. } | ClientError::Timeout { .. } => (Verdict::Unreachable, error.to_string()),
        _ => (Verdict::Fail, error.to_string()),
    };
    Check { name, verdict, latency, detail }
}

fn timed_out(name: &'static str, timeout: Duration) -> Check {
    Check { name, verdict: Verdict::Unreachable, latency: timeout, detail: format!("no answer in {timeout:?}") }
}

/// `GET` the health URL: 200 passes; any other status fails with the reasons the gateway gave.
async fn health(url: &str, timeout: Duration) -> Check {
    let name = "GET /health";
    let http = match reqwest::Client::builder().timeout(timeout).redirect(reqwest::redirect::Policy::none()).build() {
        Ok(http) => http,
        Err(error) => {
            return Check { name, verdict: Verdict::Fail, latency: Duration::ZERO, detail: error.to_string() };
        }
    };
    let started = Instant::now();
    match http.get(url).send().await {
        Ok(response) => {
            let status = response.status();
            let body = response.text().await.unwrap_or_default();
            let latency = started.elapsed();
            let verdict = if status.is_success() { Verdict::Pass } else { Verdict::Fail };
            let reasons = serde_json::from_str::<Value>(&body)
                .ok()
                .and_then(|v| v.get("reasons").cloned())
                .filter(|r| r.as_array().is_some_and(|a| !a.is_empty()))
                .map(|r| format!(": {r}"))
                .unwrap_or_default();
            Check { name, verdict, latency, detail: format!("{url} answered {}{reasons}", status.as_u16()) }
        }
        Err(error) => Check {
            name,
            verdict: Verdict::Unreachable,
            latency: started.elapsed(),
            // reqwest's message names the URL but holds no credential (the health endpoint takes none).
            detail: format!("{url}: {error}"),
        },
    }
}
