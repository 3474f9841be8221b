//! `slprod rollback`: the checklist's rollback procedure, in order, printing what it did.
//!
//! 1. **Pause** every cadence sync and mutation: through the gateway's admin API (`--gateway URL` with the
//!    admin token), or directly in the store (`--store URL`). Either way the switch lives in the store, so
//!    every replica and `slprod push` see it (DESIGN.md "Pause switch").
//! 2. **Verify health**: poll `/health` until it answers 200 or `--health-timeout` passes; each poll's status
//!    and latency is reported.
//! 3. **Notify**: POST a Slack-compatible JSON message (`text`, plus the facts as fields) to the notify URL,
//!    retried three times with backoff; a notification that never lands is reported, not hidden.
//!
//! Exit 0 when paused and healthy, 1 when health did not recover (the switch stays on, and the notification
//! says so) or the notification failed, 2 when it could not pause. It ends by printing the deployment step
//! left to the operator (`kubectl rollout undo deployment/NAME`) and how to resume.
//!
//! The notify URL is a secret (whoever holds a Slack webhook URL can post to the channel): it is never printed.

use std::time::{Duration, Instant};

use clap::Args;
use salesloft_client::clock::{SharedClock, SystemClock};
use secrecy::{ExposeSecret, SecretString};
use serde_json::{Value, json};

use super::Context;
use crate::config::Config;
use crate::connect::StoreArgs;
use crate::error::{CliError, Outcome, Status};

/// Attempts to deliver the notification.
pub const NOTIFY_ATTEMPTS: u32 = 3;

fn parse_secret(value: &str) -> Result<SecretString, String> {
    let value = value.trim();
    if value.is_empty() { Err("the value is empty".into()) } else { Ok(SecretString::from(value.to_string())) }
}

/// Arguments of `slprod rollback`.
#[derive(Debug, Args)]
pub struct RollbackArgs {
    /// Pause through this gateway's admin API (e.g. `https://gateway.internal`) [default: rollback.gateway_url].
    #[arg(long)]
    pub gateway: Option<String>,
    /// The gateway's admin token [default: gateway.admin_token_ref].
    #[arg(long, env = "SLPROD_ADMIN_TOKEN", hide_env_values = true, value_parser = parse_secret)]
    pub admin_token: Option<SecretString>,
    /// Pause directly in this store instead of through a gateway.
    #[command(flatten)]
    pub store: StoreArgs,
    /// The health endpoint to poll [default: rollback.health_url, else GATEWAY/health].
    #[arg(long)]
    pub health_url: Option<String>,
    /// Slack-compatible webhook to notify [default: rollback.notify_url_ref]. A secret: never printed.
    #[arg(long, env = "SLPROD_ROLLBACK_NOTIFY_URL", hide_env_values = true, value_parser = parse_secret)]
    pub notify: Option<SecretString>,
    /// Why (recorded with the pause, and sent in the notification).
    #[arg(long, default_value = "rollback")]
    pub reason: String,
    /// Who (recorded with the pause).
    #[arg(long, env = "USER", default_value = "operator")]
    pub by: String,
    /// How long to wait for `/health` to answer 200.
    #[arg(long, default_value = "120s", value_parser = crate::limits::duration_between(Duration::ZERO, Duration::from_secs(3600)))]
    pub health_timeout: Duration,
    /// Pause between health polls.
    #[arg(long, default_value = "5s", value_parser = crate::limits::duration_between(Duration::from_millis(10), Duration::from_secs(600)))]
    pub poll_interval: Duration,
}

/// Where the pause goes.
#[derive(Debug)]
pub enum PauseTarget {
    /// `POST {url}/admin/pause` with the admin token.
    Gateway {
        /// The gateway's base URL.
        url: String,
        /// The admin token.
        token: SecretString,
    },
    /// The store's switch, set directly.
    Store(salesloft_store::Store),
}

/// One `/health` poll.
#[derive(Debug, Clone, PartialEq)]
pub struct Poll {
    /// HTTP status, or `None` when nothing answered.
    pub status: Option<u16>,
    /// How long the poll took.
    pub latency: Duration,
    /// Why it failed (reasons from the body, or the connection error).
    pub detail: String,
}

/// What a rollback did.
#[derive(Debug)]
pub struct Report {
    /// How the pause was set, or why it could not be.
    pub pause: Result<String, String>,
    /// Every health poll, in order.
    pub polls: Vec<Poll>,
    /// Whether `/health` answered 200 in time (`None`: no health URL to poll).
    pub healthy: Option<bool>,
    /// Whether the notification landed (`None`: no notify URL), and after how many attempts.
    pub notified: Option<Result<u32, String>>,
}

/// The steps with their inputs; built from the arguments and the configuration, run by [`Rollback::run`].
#[derive(Debug)]
pub struct Rollback {
    /// Where to pause.
    pub target: PauseTarget,
    /// The health URL.
    pub health_url: Option<String>,
    /// The notify URL (secret).
    pub notify: Option<SecretString>,
    /// Why.
    pub reason: String,
    /// Who.
    pub by: String,
    /// Health wait.
    pub health_timeout: Duration,
    /// Poll spacing.
    pub poll_interval: Duration,
    /// The clock waits run on (tests pass a manual clock).
    pub clock: SharedClock,
    /// HTTP client (no redirects: a redirected admin call or webhook is a misconfiguration to report).
    pub http: reqwest::Client,
}

impl Rollback {
    /// Pause, verify health, notify: see the module docs. Stops after step 1 when the pause failed (nothing
    /// else is safe to claim then), but still notifies that it failed.
    pub async fn run(&self) -> Report {
        let pause = self.pause().await;
        let (polls, healthy) = match (&pause, &self.health_url) {
            (Ok(_), Some(url)) => {
                let (polls, healthy) = self.wait_healthy(url).await;
                (polls, Some(healthy))
            }
            _ => (Vec::new(), None),
        };
        let mut report = Report { pause, polls, healthy, notified: None };
        if let Some(url) = &self.notify {
            report.notified = Some(self.notify(url, &report).await);
        }
        report
    }

    async fn pause(&self) -> Result<String, String> {
        match &self.target {
            PauseTarget::Gateway { url, token } => {
                let endpoint = format!("{}/admin/pause", url.trim_end_matches('/'));
                let answer = self
                    .http
                    .post(&endpoint)
                    .bearer_auth(token.expose_secret())
                    .json(&json!({"reason": self.reason, "by": self.by}))
                    .send()
                    .await
                    .map_err(|e| format!("{endpoint}: {}", without_url(&e)))?;
                let status = answer.status();
                if status.is_success() {
                    Ok(format!("paused through the gateway ({endpoint})"))
                } else {
                    let body = answer.text().await.unwrap_or_default();
                    Err(format!(
                        "{endpoint} answered {}: {}",
                        status.as_u16(),
                        body.chars().take(300).collect::<String>()
                    ))
                }
            }
            PauseTarget::Store(store) => match store.pause().set_paused(true, &self.by, &self.reason).await {
                Ok(()) => Ok("paused in the store".to_string()),
                Err(error) => Err(format!("the store refused the pause: {error}")),
            },
        }
    }

    async fn wait_healthy(&self, url: &str) -> (Vec<Poll>, bool) {
        let deadline = self.clock.now() + self.health_timeout;
        let mut polls = Vec::new();
        loop {
            let poll = self.poll(url).await;
            let healthy = poll.status == Some(200);
            polls.push(poll);
            if healthy {
                return (polls, true);
            }
            if self.clock.now() + self.poll_interval > deadline {
                return (polls, false);
            }
            self.clock.sleep(self.poll_interval).await;
        }
    }

    async fn poll(&self, url: &str) -> Poll {
        let started = Instant::now();
        match self.http.get(url).timeout(self.poll_interval.max(Duration::from_secs(5))).send().await {
            Ok(answer) => {
                let status = answer.status().as_u16();
                let body: Value = answer.json().await.unwrap_or(Value::Null);
                let detail = body.get("reasons").map(Value::to_string).unwrap_or_default();
                Poll { status: Some(status), latency: started.elapsed(), detail }
            }
            Err(error) => Poll { status: None, latency: started.elapsed(), detail: without_url(&error) },
        }
    }

    async fn notify(&self, url: &SecretString, report: &Report) -> Result<u32, String> {
        let message = notification(report, &self.reason);
        let mut last = String::new();
        for attempt in 1..=NOTIFY_ATTEMPTS {
            match self.http.post(url.expose_secret()).json(&message).timeout(Duration::from_secs(10)).send().await {
                Ok(answer) if answer.status().is_success() => return Ok(attempt),
                Ok(answer) => last = format!("answered {}", answer.status().as_u16()),
                Err(error) => last = without_url(&error),
            }
            if attempt < NOTIFY_ATTEMPTS {
                self.clock.sleep(Duration::from_secs(1 << attempt)).await;
            }
        }
        Err(format!("{NOTIFY_ATTEMPTS} attempts failed, the last {last}"))
    }
}

/// A reqwest error's text without the URL it names (a notify URL is a secret): its kind and its causes.
fn without_url(error: &reqwest::Error) -> String {
    let mut text = if error.is_timeout() {
        "timed out"
    } else if error.is_connect() {
        "could not connect"
    } else if error.is_body() || error.is_decode() {
        "unreadable answer"
    } else {
        "request failed"
    }
    .to_string();
    let mut source = std::error::Error::source(error);
    while let Some(cause) = source {
        text.push_str(": ");
        text.push_str(&cause.to_string());
        source = cause.source();
    }
    text
}

/// The Slack-compatible message: `text` for a human, the facts as fields for a machine.
pub fn notification(report: &Report, reason: &str) -> Value {
    let paused = report.pause.is_ok();
    let health = match report.healthy {
        Some(true) => "healthy",
        Some(false) => "NOT healthy (still paused)",
        None => "not checked",
    };
    let text = if paused {
        format!("slprod rollback: SalesLoft syncs and mutations paused ({reason}); gateway {health}.")
    } else {
        format!(
            "slprod rollback: could NOT pause SalesLoft syncs ({reason}): {}",
            report.pause.as_ref().err().map(String::as_str).unwrap_or("")
        )
    };
    json!({
        "text": text,
        "paused": paused,
        "reason": reason,
        "healthy": report.healthy,
        "health_polls": report.polls.len(),
        "pause": match &report.pause { Ok(how) => how.clone(), Err(why) => why.clone() },
    })
}

fn secret_from(
    given: Option<&SecretString>,
    reference: Option<&crate::config::SecretRef>,
    key: &str,
) -> Result<Option<SecretString>, CliError> {
    if let Some(value) = given {
        return Ok(Some(value.clone()));
    }
    reference
        .map(|r| {
            r.resolve().map_err(|message| crate::config::ConfigError::Secret { key: key.to_string(), message }.into())
        })
        .transpose()
}

/// Builds the steps from the arguments over the configuration file.
pub async fn plan(args: &RollbackArgs, config: &Config) -> Result<Rollback, CliError> {
    let http = reqwest::Client::builder()
        .redirect(reqwest::redirect::Policy::none())
        .connect_timeout(Duration::from_secs(10))
        .build()
        .map_err(|e| CliError::Connect(e.to_string()))?;
    let gateway = args.gateway.clone().or_else(|| config.rollback.gateway_url.clone());
    let target = match (&gateway, &args.store.store) {
        (Some(_), Some(_)) => {
            return Err(CliError::Input("give --gateway or --store, not both: the pause goes to one place".into()));
        }
        (Some(url), None) => {
            let token = secret_from(
                args.admin_token.as_ref(),
                config.gateway.admin_token_ref.as_ref(),
                "gateway.admin_token_ref",
            )?
            .ok_or_else(|| {
                CliError::Input(
                    "pausing through the gateway needs its admin token: --admin-token or SLPROD_ADMIN_TOKEN".into(),
                )
            })?;
            PauseTarget::Gateway { url: url.clone(), token }
        }
        (None, _) => PauseTarget::Store(args.store.open(config).await?),
    };
    let health_url = args
        .health_url
        .clone()
        .or_else(|| config.rollback.health_url.clone())
        .or_else(|| gateway.as_ref().map(|g| format!("{}/health", g.trim_end_matches('/'))));
    let notify = secret_from(args.notify.as_ref(), config.rollback.notify_url_ref.as_ref(), "rollback.notify_url_ref")?;
    Ok(Rollback {
        target,
        health_url,
        notify,
        reason: args.reason.clone(),
        by: args.by.clone(),
        health_timeout: args.health_timeout,
        poll_interval: args.poll_interval,
        clock: SystemClock::shared(),
        http,
    })
}

/// Runs `slprod rollback`: paused and healthy (0), not healthy or not notified (1), not paused (2).
pub async fn run(args: RollbackArgs, context: &Context) -> Result<Outcome, CliError> {
    let config = &context.config;
    let rollback = plan(&args, config).await?;
    let report = rollback.run().await;
    if let PauseTarget::Store(store) = &rollback.target {
        store.close().await;
    }
    let mut text = String::new();
    match &report.pause {
        Ok(how) => text.push_str(&format!("1. {how}: \"{}\" by {}\n", args.reason, args.by)),
        Err(why) => text.push_str(&format!("1. NOT paused: {why}\n")),
    }
    match (&report.healthy, &rollback.health_url) {
        (None, None) => text.push_str("2. health not checked: no --health-url, rollback.health_url or --gateway\n"),
        (None, Some(_)) => text.push_str("2. health not checked: nothing was paused\n"),
        (Some(healthy), Some(url)) => {
            text.push_str(&format!("2. health of {url}:\n"));
            for (i, poll) in report.polls.iter().enumerate() {
                let status = poll.status.map_or_else(|| "no answer".to_string(), |s| s.to_string());
                text.push_str(&format!(
                    "   poll {}: {status} in {:.1} ms {}\n",
                    i + 1,
                    poll.latency.as_secs_f64() * 1000.0,
                    poll.detail
                ));
            }
            text.push_str(if *healthy { "   healthy\n" } else { "   did NOT recover in time: the switch stays on\n" });
        }
        (Some(_), None) => {}
    }
    match &report.notified {
        None => text.push_str("3. nobody notified: no --notify or rollback.notify_url_ref\n"),
        Some(Ok(attempts)) => text.push_str(&format!("3. notified (attempt {attempts})\n")),
        Some(Err(why)) => text.push_str(&format!("3. notification FAILED: {why}\n")),
    }
    let deployment = config.rollback.deployment.as_deref().unwrap_or("slprod");
    let namespace = config.rollback.namespace.as_deref().map(|n| format!(" -n {n}")).unwrap_or_default();
    text.push_str(&format!(
        "left to you: roll the deployment back, e.g. `kubectl rollout undo deployment/{deployment}{namespace}`; \
         when it is healthy, lift the switch with `slprod resume` (or POST /admin/resume)\n"
    ));
    let json = json!({
        "paused": report.pause.is_ok(),
        "pause": match &report.pause { Ok(how) => json!({"ok": how}), Err(why) => json!({"error": why}) },
        "healthy": report.healthy,
        "polls": report.polls.iter().map(|p| json!({
            "status": p.status, "latency_ms": p.latency.as_secs_f64() * 1000.0, "detail": p.detail,
        })).collect::<Vec<_>>(),
        "notified": report.notified.as_ref().map(|n| match n { Ok(a) => json!({"attempts": a}), Err(e) => json!({"error": e}) }),
        "next": format!("kubectl rollout undo deployment/{deployment}{namespace}"),
    });
    if let Err(why) = &report.pause {
        return Err(CliError::Connect(format!("could not pause: {why}\n{}", text.trim_end())));
    }
    let ok = report.healthy != Some(false) && !matches!(report.notified, Some(Err(_)));
    Ok(Outcome::new(if ok { Status::Done } else { Status::Problems }, json, text))
}

#[cfg(test)]
mod tests {
    use std::sync::{Arc, Mutex};

    use salesloft_client::clock::ManualClock;
    use salesloft_testkit::webhooks::WebhookReceiver;
    use tokio::io::{AsyncReadExt, AsyncWriteExt};

    use super::*;

    /// A `/health` stand-in answering the scripted statuses in turn (the last one forever).
    async fn health(script: &[u16]) -> String {
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.expect("bind");
        let address = listener.local_addr().expect("addr");
        let script = Arc::new(Mutex::new(script.to_vec()));
        tokio::spawn(async move {
            while let Ok((mut socket, _)) = listener.accept().await {
                let status = {
                    let mut script = script.lock().expect("script");
                    if script.len() > 1 { script.remove(0) } else { script[0] }
                };
                let mut buf = [0u8; 4096];
                let _ = socket.read(&mut buf).await;
                let body =
                    if status == 200 { r#"{"status":"ok"}"# } else { r#"{"reasons":["SalesLoft unreachable"]}"# };
                let answer = format!(
                    "HTTP/1.1 {status} X\r\ncontent-type: application/json\r\ncontent-length: {}\r\nconnection: close\r\n\r\n{body}",
                    body.len()
                );
                let _ = socket.write_all(answer.as_bytes()).await;
            }
        });
        format!("http://{address}/health")
    }

    async fn store() -> (tempfile::TempDir, salesloft_store::Store) {
        let dir = tempfile::tempdir().expect("dir");
        let store =
            salesloft_store::open(&format!("sqlite://{}", dir.path().join("s.sqlite").display())).await.expect("store");
        (dir, store)
    }

    fn rollback(
        target: PauseTarget,
        health_url: Option<String>,
        notify: Option<&str>,
        clock: &ManualClock,
    ) -> Rollback {
        Rollback {
            target,
            health_url,
            notify: notify.map(|u| SecretString::from(u.to_string())),
            reason: "bad deploy".into(),
            by: "oncall".into(),
            health_timeout: Duration::from_secs(30),
            poll_interval: Duration::from_secs(5),
            clock: clock.shared(),
            http: reqwest::Client::new(),
        }
    }

    #[tokio::test]
    async fn pauses_waits_for_health_and_notifies_in_that_order() {
        let (_dir, store) = store().await;
        let clock = ManualClock::new();
        let mut slack = WebhookReceiver::start().await;
        let steps = rollback(
            PauseTarget::Store(store.clone()),
            Some(health(&[503, 503, 200]).await),
            Some(slack.url()),
            &clock,
        );
        let report = steps.run().await;
        assert!(report.pause.is_ok(), "{report:?}");
        assert_eq!(report.healthy, Some(true));
        assert_eq!(report.polls.iter().map(|p| p.status).collect::<Vec<_>>(), vec![Some(503), Some(503), Some(200)]);
        assert!(report.polls[0].detail.contains("SalesLoft unreachable"), "{:?}", report.polls[0]);
        assert_eq!(clock.sleeps(), vec![Duration::from_secs(5); 2], "polled every interval");
        assert!(matches!(report.notified, Some(Ok(1))));
        let message: Value = serde_json::from_slice(&slack.next().await.body).expect("json");
        assert_eq!(message["paused"], true);
        assert_eq!(message["healthy"], true);
        assert!(message["text"].as_str().expect("text").contains("bad deploy"), "{message}");
        let paused = store.pause().paused().await.expect("switch").expect("paused");
        assert_eq!((paused.by.as_str(), paused.reason.as_str()), ("oncall", "bad deploy"));
    }

    #[tokio::test]
    async fn health_that_never_recovers_keeps_the_switch_on_and_says_so() {
        let (_dir, store) = store().await;
        let clock = ManualClock::new();
        let mut slack = WebhookReceiver::start().await;
        let steps = rollback(PauseTarget::Store(store.clone()), Some(health(&[503]).await), Some(slack.url()), &clock);
        let report = steps.run().await;
        assert_eq!(report.healthy, Some(false));
        assert_eq!(report.polls.len(), 7, "30 s at one poll per 5 s: polls at 0, 5, …, 30");
        let message: Value = serde_json::from_slice(&slack.next().await.body).expect("json");
        assert_eq!(message["healthy"], false);
        assert!(message["text"].as_str().expect("text").contains("NOT healthy"), "{message}");
        assert!(store.pause().paused().await.expect("switch").is_some(), "still paused");
    }

    #[tokio::test]
    async fn a_failing_notify_url_is_retried_then_reported_without_its_url() {
        let (_dir, store) = store().await;
        let clock = ManualClock::new();
        let flaky = WebhookReceiver::failing_first(2).await;
        let report = rollback(PauseTarget::Store(store.clone()), None, Some(flaky.url()), &clock).run().await;
        assert!(matches!(report.notified, Some(Ok(3))), "{:?}", report.notified);

        let down = WebhookReceiver::failing_first(usize::MAX).await;
        let report = rollback(PauseTarget::Store(store), None, Some(down.url()), &clock).run().await;
        let Some(Err(why)) = &report.notified else { panic!("{:?}", report.notified) };
        assert!(why.contains("3 attempts") && why.contains("500"), "{why}");
        assert!(!why.contains(down.url()), "the notify URL is a secret: {why}");
    }

    #[tokio::test]
    async fn a_refused_pause_stops_before_health_and_is_notified() {
        let clock = ManualClock::new();
        let mut slack = WebhookReceiver::start().await;
        // Nothing listens on the gateway's port: the pause cannot be set.
        let port = std::net::TcpListener::bind("127.0.0.1:0").expect("bind").local_addr().expect("addr").port();
        let target = PauseTarget::Gateway {
            url: format!("http://127.0.0.1:{port}"),
            token: SecretString::from("t".to_string()),
        };
        let report = rollback(target, Some(health(&[200]).await), Some(slack.url()), &clock).run().await;
        assert!(report.pause.is_err());
        assert!(report.polls.is_empty(), "no health claim without a pause");
        let message: Value = serde_json::from_slice(&slack.next().await.body).expect("json");
        assert_eq!(message["paused"], false);
        assert!(message["text"].as_str().expect("text").contains("could NOT pause"), "{message}");
    }
}
