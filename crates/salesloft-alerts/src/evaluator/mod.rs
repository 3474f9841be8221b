//! The built-in evaluator, for teams without Prometheus: `slprod serve` runs it over the gateway's own
//! counters (the in-process recorder that `/metrics` renders), applying the same [`catalogue`] as the
//! Prometheus rules — same series, same windows, same thresholds, same holds.
//!
//! Every [`EvaluatorConfig::interval`] it scrapes the counters ([`MetricsSource`]), measures each alert's
//! signal over its window ([`measure`]), moves the alert through inactive → pending → firing ([`step`]) and
//! notifies on the edges ([`notify`]): Slack for every alert, PagerDuty for P1 (trigger, then resolve with
//! the same `dedup_key`). An alert is never announced as firing more than once per
//! [`EvaluatorConfig::repeat_after`] (5 minutes): a re-fire inside that time is held back and sent when the
//! time is up if it is still firing. Time comes from the injected clock; tests call [`Evaluator::tick`].
//!
//! Notifications are sent in order and awaited, so a channel that keeps failing delays the next evaluation by
//! its retries (15 s at most with [`notify::RetryPolicy::default`]). The evaluator sees one process's counters:
//! with several gateway replicas, Prometheus (which sums them) is the one to alert from.

pub mod measure;
pub mod notify;

use std::future::Future;
use std::sync::Arc;
use std::time::Duration;

use salesloft_clock::SharedClock;

use crate::definition::{Alert, DefinitionError, Thresholds, catalogue};
use measure::History;
use notify::{Event, Notifier};

/// Where the evaluator reads the counters: the Prometheus text of the in-process recorder.
pub trait MetricsSource: Send + Sync {
    /// The current exposition text.
    fn render(&self) -> String;
}

impl<F: Fn() -> String + Send + Sync> MetricsSource for F {
    fn render(&self) -> String {
        self()
    }
}

/// The evaluator's settings.
#[derive(Debug, Clone)]
pub struct EvaluatorConfig {
    /// The thresholds of `[alerts]`.
    pub thresholds: Thresholds,
    /// How often the counters are read and the alerts evaluated (Prometheus' default, 15 s).
    pub interval: Duration,
    /// The least time between two firing notifications of one alert (5 minutes, issue 10).
    pub repeat_after: Duration,
}

impl Default for EvaluatorConfig {
    fn default() -> Self {
        Self {
            thresholds: Thresholds::default(),
            interval: Duration::from_secs(15),
            repeat_after: Duration::from_secs(300),
        }
    }
}

/// Where an alert stands.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum State {
    /// Its condition does not hold.
    Inactive,
    /// Its condition holds, since the instant given, not yet for its hold.
    Pending(Duration),
    /// It fires.
    Firing,
}

/// The next state of an alert whose condition `holds` at `now`, and the edge crossed (if any). Pure.
pub fn step(state: State, holds: bool, now: Duration, hold: Duration) -> (State, Option<Event>) {
    match (state, holds) {
        (State::Firing, true) => (State::Firing, None),
        (State::Firing, false) => (State::Inactive, Some(Event::Resolved)),
        (_, false) => (State::Inactive, None),
        (State::Inactive, true) if hold.is_zero() => (State::Firing, Some(Event::Firing)),
        (State::Inactive, true) => (State::Pending(now), None),
        (State::Pending(since), true) if now.saturating_sub(since) >= hold => (State::Firing, Some(Event::Firing)),
        (pending @ State::Pending(_), true) => (pending, None),
    }
}

/// One alert's evaluation state.
#[derive(Debug)]
struct Tracked {
    alert: Alert,
    history: History,
    state: State,
    /// When a firing notification was last sent.
    last_sent: Option<Duration>,
    /// A firing notification was sent and its resolve is owed.
    open: bool,
    /// A firing notification is held back by `repeat_after`.
    deferred: bool,
}

/// A notification the evaluator sent (or tried to): for logs and tests.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Sent {
    /// The alert's name.
    pub alert: &'static str,
    /// Firing or resolved.
    pub event: Event,
    /// Every channel took it.
    pub delivered: bool,
}

/// The evaluator. Build it with [`Evaluator::new`], then [`Evaluator::run`] it (or [`Evaluator::tick`] it).
pub struct Evaluator {
    config: EvaluatorConfig,
    source: Arc<dyn MetricsSource>,
    notifier: Notifier,
    clock: SharedClock,
    tracked: Vec<Tracked>,
}

impl std::fmt::Debug for Evaluator {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Evaluator").field("config", &self.config).field("notifier", &self.notifier).finish()
    }
}

impl Evaluator {
    /// An evaluator of the four alerts with `config`'s thresholds (checked by [`Thresholds::validate`]).
    pub fn new(
        config: EvaluatorConfig,
        source: Arc<dyn MetricsSource>,
        notifier: Notifier,
        clock: SharedClock,
    ) -> Result<Self, DefinitionError> {
        config.thresholds.validate()?;
        let tracked = catalogue(&config.thresholds)
            .into_iter()
            .map(|alert| Tracked {
                alert,
                history: History::default(),
                state: State::Inactive,
                last_sent: None,
                open: false,
                deferred: false,
            })
            .collect();
        let mut evaluator = Self { config, source, notifier, clock, tracked };
        // The baseline the first windows count from, read now: build the evaluator as soon as the recorder is
        // installed, so whatever happens after start-up is counted even before the first tick.
        evaluator.observe();
        Ok(evaluator)
    }

    /// Reads the counters and adds the reading to every alert's history; returns when it was taken.
    fn observe(&mut self) -> Duration {
        let samples = crate::exposition::parse(&self.source.render());
        let now = self.clock.now();
        for tracked in &mut self.tracked {
            let signal = &tracked.alert.signal;
            tracked.history.push(now, measure::read(signal, &samples), signal.window());
        }
        now
    }

    /// The state of the alert `name`.
    pub fn state(&self, name: &str) -> Option<State> {
        self.tracked.iter().find(|t| t.alert.name == name).map(|t| t.state)
    }

    /// Reads the counters once, evaluates every alert and sends what is due; returns what was sent.
    pub async fn tick(&mut self) -> Vec<Sent> {
        let now = self.observe();
        let mut due = Vec::new();
        for (index, tracked) in self.tracked.iter_mut().enumerate() {
            let signal = &tracked.alert.signal;
            let holds = tracked.history.holds(signal);
            let (state, edge) = step(tracked.state, holds, now, tracked.alert.hold);
            tracked.state = state;
            let recent = |tracked: &Tracked| {
                tracked.last_sent.is_some_and(|at| now.saturating_sub(at) < self.config.repeat_after)
            };
            match edge {
                Some(Event::Firing) if recent(tracked) => {
                    tracing::info!(
                        alert = tracked.alert.name,
                        "alert fires again within the repeat interval; held back"
                    );
                    tracked.deferred = true;
                }
                Some(Event::Firing) => due.push((index, Event::Firing)),
                Some(Event::Resolved) => {
                    tracked.deferred = false;
                    if tracked.open {
                        due.push((index, Event::Resolved));
                    }
                }
                None if state == State::Firing && tracked.deferred && !recent(tracked) => {
                    due.push((index, Event::Firing));
                }
                None => {}
            }
        }
        let mut sent = Vec::new();
        for (index, event) in due {
            let alert = self.tracked[index].alert.clone();
            tracing::warn!(alert = alert.name, severity = alert.severity.as_str(), ?event, "SalesLoft alert");
            let delivered = self.notifier.is_silent() || self.notifier.send(&alert, event).await;
            let tracked = &mut self.tracked[index];
            match event {
                Event::Firing => {
                    // Counted as sent even when every retry failed: the limit is on what may reach people.
                    tracked.last_sent = Some(now);
                    tracked.open = true;
                    tracked.deferred = false;
                }
                Event::Resolved => tracked.open = false,
            }
            sent.push(Sent { alert: alert.name, event, delivered });
        }
        sent
    }

    /// Evaluates every [`EvaluatorConfig::interval`] until `shutdown` completes.
    pub async fn run(mut self, shutdown: impl Future<Output = ()>) {
        tokio::pin!(shutdown);
        loop {
            tokio::select! {
                () = &mut shutdown => return,
                () = self.clock.sleep(self.config.interval) => { self.tick().await; }
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn states_move_on_the_condition_and_the_hold() {
        let s = Duration::from_secs;
        let minute = s(60);
        let cases = [
            (State::Inactive, false, s(0), minute, State::Inactive, None),
            (State::Inactive, true, s(0), Duration::ZERO, State::Firing, Some(Event::Firing)),
            (State::Inactive, true, s(10), minute, State::Pending(s(10)), None),
            (State::Pending(s(10)), true, s(40), minute, State::Pending(s(10)), None),
            (State::Pending(s(10)), true, s(70), minute, State::Firing, Some(Event::Firing)),
            (State::Pending(s(10)), false, s(40), minute, State::Inactive, None),
            (State::Firing, true, s(90), minute, State::Firing, None),
            (State::Firing, false, s(90), minute, State::Inactive, Some(Event::Resolved)),
        ];
        for (state, holds, now, hold, want, edge) in cases {
            assert_eq!(step(state, holds, now, hold), (want, edge), "{state:?} holds={holds} at {now:?}");
        }
    }
}
