//! What a [`Signal`] measures, computed from successive scrapes of the in-process counters: the increase of a
//! counter over the window, or a quantile of a histogram's increase over the window — the same quantities
//! `increase()` and `histogram_quantile()` compute in the Prometheus rules. Pure: time is passed in.

use std::collections::VecDeque;
use std::time::Duration;

use crate::definition::Signal;
use crate::exposition::Sample;

/// The cumulative totals a signal reads at one instant.
#[derive(Debug, Clone, PartialEq)]
pub enum Reading {
    /// The sum of the matching counters.
    Count(f64),
    /// The histogram's cumulative bucket counts, `(le, count)` sorted by `le` (`+Inf` last).
    Buckets(Vec<(f64, f64)>),
    /// The largest value of the gauge; `None` when no process reports it.
    Gauge(Option<f64>),
    /// One reading per part of [`Signal::Any`], in order.
    Any(Vec<Reading>),
}

/// Reads `signal`'s totals from one scrape.
pub fn read(signal: &Signal, samples: &[Sample]) -> Reading {
    match signal {
        Signal::Count { metric, matchers, .. } => {
            Reading::Count(samples.iter().filter(|s| s.name == *metric && s.matches(matchers)).map(|s| s.value).sum())
        }
        Signal::Quantile { metric, .. } => {
            let name = format!("{metric}_bucket");
            let mut buckets: Vec<(f64, f64)> = Vec::new();
            for sample in samples.iter().filter(|s| s.name == name) {
                let Some(le) = sample.label("le").and_then(parse_le) else { continue };
                match buckets.iter_mut().find(|(bound, _)| *bound == le) {
                    Some((_, count)) => *count += sample.value,
                    None => buckets.push((le, sample.value)),
                }
            }
            buckets.sort_by(|a, b| a.0.total_cmp(&b.0));
            Reading::Buckets(buckets)
        }
        Signal::Gauge { metric, .. } => {
            Reading::Gauge(samples.iter().filter(|s| s.name == *metric).map(|s| s.value).reduce(f64::max))
        }
        Signal::Any(signals) => Reading::Any(signals.iter().map(|signal| read(signal, samples)).collect()),
    }
}

fn parse_le(text: &str) -> Option<f64> {
    if text == "+Inf" { Some(f64::INFINITY) } else { text.parse().ok() }
}

/// The readings of one signal over time, enough to cover its window.
#[derive(Debug, Default)]
pub struct History {
    readings: VecDeque<(Duration, Reading)>,
}

impl History {
    /// Adds the reading taken at `now` and forgets readings no longer needed for `window`.
    pub fn push(&mut self, now: Duration, reading: Reading, window: Duration) {
        self.readings.push_back((now, reading));
        let start = now.saturating_sub(window);
        // Keep the newest reading at or before the window's start: it is the baseline.
        while self.readings.len() > 1 && self.readings.get(1).is_some_and(|(at, _)| *at <= start) {
            self.readings.pop_front();
        }
    }

    /// The signal's value now: the increase since the baseline (the newest reading at or before the window's
    /// start, or the oldest one while the history is shorter than the window). `None` before two readings.
    pub fn value(&self, signal: &Signal) -> Option<f64> {
        let (_, first) = self.readings.front()?;
        let (_, last) = self.readings.back()?;
        if self.readings.len() < 2 {
            return None;
        }
        value_between(signal, first, last)
    }

    /// True when the signal holds now: a count or quantile over its window above its threshold, a gauge above
    /// its threshold in the latest reading, any part of an `Any`.
    pub fn holds(&self, signal: &Signal) -> bool {
        let (Some((_, first)), Some((_, last))) = (self.readings.front(), self.readings.back()) else {
            return false;
        };
        holds_between(signal, first, last, self.readings.len() >= 2)
    }
}

fn holds_between(signal: &Signal, first: &Reading, last: &Reading, two: bool) -> bool {
    match (signal, first, last) {
        (Signal::Gauge { above, .. }, _, Reading::Gauge(value)) => value.is_some_and(|v| v > *above),
        (Signal::Any(signals), Reading::Any(firsts), Reading::Any(lasts)) => signals
            .iter()
            .zip(firsts.iter().zip(lasts))
            .any(|(signal, (first, last))| holds_between(signal, first, last, two)),
        _ => two && value_between(signal, first, last).is_some_and(|value| holds(signal, value)),
    }
}

/// The increase-based value of a count or quantile between two readings.
fn value_between(signal: &Signal, first: &Reading, last: &Reading) -> Option<f64> {
    match (signal, first, last) {
        (Signal::Count { .. }, Reading::Count(a), Reading::Count(b)) => Some((b - a).max(0.0)),
        (Signal::Quantile { quantile, .. }, Reading::Buckets(a), Reading::Buckets(b)) => {
            let delta: Vec<(f64, f64)> = b
                .iter()
                .map(|(le, count)| {
                    let before = a.iter().find(|(l, _)| l == le).map_or(0.0, |(_, c)| *c);
                    (*le, (count - before).max(0.0))
                })
                .collect();
            Some(histogram_quantile(*quantile, &delta))
        }
        _ => None,
    }
}

/// True when `value` crosses the threshold of a count, quantile or gauge (a NaN quantile — no traffic —
/// never does); an `Any` has no single value (see [`History::holds`]).
pub fn holds(signal: &Signal, value: f64) -> bool {
    match signal {
        Signal::Count { more_than, .. } => value > *more_than,
        Signal::Quantile { above_seconds, .. } => value > *above_seconds,
        Signal::Gauge { above, .. } => value > *above,
        Signal::Any(_) => false,
    }
}

/// Prometheus' `histogram_quantile` over cumulative `(le, count)` buckets sorted by `le`, `+Inf` last: the
/// bucket holding the rank, interpolated linearly; the highest finite bound when the rank falls in `+Inf`;
/// NaN without observations or without a `+Inf` bucket.
pub fn histogram_quantile(quantile: f64, buckets: &[(f64, f64)]) -> f64 {
    let Some(&(last_le, total)) = buckets.last() else { return f64::NAN };
    if last_le != f64::INFINITY || total <= 0.0 || buckets.len() < 2 {
        return f64::NAN;
    }
    let rank = quantile * total;
    let index = buckets.iter().position(|(_, count)| *count >= rank).unwrap_or(buckets.len() - 1);
    if index == buckets.len() - 1 {
        return buckets[buckets.len() - 2].0;
    }
    let (upper, count) = buckets[index];
    let (lower, below) = if index == 0 { (if upper > 0.0 { 0.0 } else { upper }, 0.0) } else { buckets[index - 1] };
    let inside = count - below;
    if inside <= 0.0 {
        return upper;
    }
    lower + (upper - lower) * ((rank - below) / inside)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::definition::{Thresholds, catalogue};
    use crate::exposition::parse;

    fn secs(s: u64) -> Duration {
        Duration::from_secs(s)
    }

    #[test]
    fn quantiles_match_prometheus_interpolation() {
        let inf = f64::INFINITY;
        type Buckets = Vec<(f64, f64)>;
        let cases: Vec<(f64, Buckets, f64)> = vec![
            (0.99, vec![(0.1, 0.0), (0.5, 100.0), (inf, 100.0)], 0.1 + 0.4 * 0.99),
            (0.5, vec![(0.1, 50.0), (0.5, 100.0), (inf, 100.0)], 0.1),
            (0.99, vec![(0.1, 0.0), (0.5, 0.0), (inf, 10.0)], 0.5),
            (0.5, vec![(1.0, 10.0), (inf, 10.0)], 0.5),
        ];
        for (q, buckets, want) in cases {
            let got = histogram_quantile(q, &buckets);
            assert!((got - want).abs() < 1e-9, "q {q} of {buckets:?}: want {want}, got {got}");
        }
        assert!(histogram_quantile(0.99, &[(0.1, 0.0), (f64::INFINITY, 0.0)]).is_nan(), "no traffic");
        assert!(histogram_quantile(0.99, &[(0.1, 3.0)]).is_nan(), "no +Inf bucket");
    }

    #[test]
    fn counts_are_the_increase_over_the_window_only() {
        let alerts = catalogue(&Thresholds::default());
        let signal = &alerts[0].signal; // 5xx over 1 minute
        let scrape = |n: u32| {
            parse(&format!(
                "salesloft_responses_total{{status=\"503\",class=\"5xx\"}} {n}\n\
                                              salesloft_responses_total{{status=\"200\",class=\"2xx\"}} 99\n"
            ))
        };
        let mut history = History::default();
        history.push(secs(0), read(signal, &scrape(0)), signal.window());
        assert_eq!(history.value(signal), None, "one reading is no increase yet");
        history.push(secs(15), read(signal, &scrape(4)), signal.window());
        history.push(secs(30), read(signal, &scrape(10)), signal.window());
        assert_eq!(history.value(signal), Some(10.0));
        assert!(holds(signal, 10.0) && !holds(signal, 5.0), "more than 5");
        // Two minutes later with no new errors the window holds none.
        history.push(secs(150), read(signal, &scrape(10)), signal.window());
        history.push(secs(165), read(signal, &scrape(10)), signal.window());
        assert_eq!(history.value(signal), Some(0.0));
    }

    #[test]
    fn the_auth_alert_holds_on_a_new_failure_or_while_reauthorisation_is_required() {
        let alerts = catalogue(&Thresholds::default());
        let signal = &alerts[2].signal;
        let scrape = |failures: u32, gauge: Option<u32>| {
            let mut text = format!("salesloft_auth_failures_total{{kind=\"invalid_grant\"}} {failures}\n");
            if let Some(gauge) = gauge {
                text.push_str(&format!("salesloft_oauth_reauthorization_required {gauge}\n"));
            }
            parse(&text)
        };
        let mut history = History::default();
        history.push(secs(0), read(signal, &scrape(0, None)), signal.window());
        assert!(!history.holds(signal), "one reading, no gauge");
        history.push(secs(15), read(signal, &scrape(0, Some(0))), signal.window());
        assert!(!history.holds(signal), "nothing wrong");
        history.push(secs(30), read(signal, &scrape(1, Some(1))), signal.window());
        assert!(history.holds(signal), "a failure, and the mark");
        // Ten minutes on, no new failure is counted (the client stopped refreshing), but the mark stays.
        history.push(secs(630), read(signal, &scrape(1, Some(1))), signal.window());
        history.push(secs(645), read(signal, &scrape(1, Some(1))), signal.window());
        assert_eq!(history.value(&catalogue(&Thresholds::default())[2].signal), None, "an Any has no single value");
        assert!(history.holds(signal), "still needs re-authorisation");
        history.push(secs(660), read(signal, &scrape(1, Some(0))), signal.window());
        assert!(!history.holds(signal), "re-authorised");
    }

    #[test]
    fn latency_reads_the_histogram_buckets_summed_over_labels() {
        let alerts = catalogue(&Thresholds::default());
        let signal = &alerts[3].signal;
        let scrape = |slow: u32| {
            parse(&format!(
                "salesloft_request_duration_seconds_bucket{{endpoint=\"me.get\",le=\"2\"}} 100\n\
                 salesloft_request_duration_seconds_bucket{{endpoint=\"me.get\",le=\"5\"}} {}\n\
                 salesloft_request_duration_seconds_bucket{{endpoint=\"me.get\",le=\"+Inf\"}} {}\n",
                100 + slow,
                100 + slow
            ))
        };
        let mut history = History::default();
        history.push(secs(0), read(signal, &scrape(0)), signal.window());
        history.push(secs(60), read(signal, &scrape(0)), signal.window());
        assert!(history.value(signal).is_some_and(f64::is_nan), "no call in the window");
        history.push(secs(120), read(signal, &scrape(5)), signal.window());
        let p99 = history.value(signal).expect("value");
        assert!(p99 > 2.0 && holds(signal, p99), "5 slow calls only: p99 {p99}");
    }
}
