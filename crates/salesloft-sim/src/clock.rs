//! The simulator clock: the workspace's one clock (`salesloft-clock`) plus an offset that
//! `POST /__sim/clock` advances.
//!
//! Every time-dependent behaviour reads this clock — record timestamps, token expiry, the rate-limit window
//! and outage windows — and latency faults and webhook retries sleep on it, so a test can jump two hours ahead
//! instead of sleeping, or start the simulator on a [`ManualClock`]
//! ([`crate::Simulator::start_with_clock`]) and read the sleeps it asked for.

use std::sync::Arc;
use std::sync::atomic::{AtomicI64, Ordering};
use std::time::Duration;

pub use salesloft_clock::{Clock, ManualClock, SharedClock, Sleep, SystemClock};

use time::format_description::well_known::Rfc3339;
use time::{OffsetDateTime, UtcOffset};

/// Microseconds since the Unix epoch.
pub type Micros = i64;

/// A base clock's wall time plus an adjustable offset.
#[derive(Debug)]
pub struct SimClock {
    base: SharedClock,
    offset_micros: AtomicI64,
}

impl Default for SimClock {
    fn default() -> Self {
        Self::new(Arc::new(SystemClock::default()))
    }
}

impl SimClock {
    /// A simulator clock over `base` (its wall time, and its sleeps).
    pub fn new(base: SharedClock) -> Self {
        Self { base, offset_micros: AtomicI64::new(0) }
    }

    /// Now, on the simulator clock.
    pub fn now_micros(&self) -> Micros {
        let base = i64::try_from(self.base.unix_time().as_micros()).unwrap_or(i64::MAX);
        base.saturating_add(self.offset_micros.load(Ordering::Relaxed))
    }

    /// Waits for `duration` on the base clock (a latency fault, a webhook retry interval).
    pub fn sleep(&self, duration: Duration) -> Sleep {
        self.base.sleep(duration)
    }

    /// Moves the clock forward (never backward: a negative value is ignored, so time stays monotonic for
    /// ids and `updated_at`).
    pub fn advance_micros(&self, micros: i64) {
        if micros > 0 {
            let _ = self
                .offset_micros
                .fetch_update(Ordering::Relaxed, Ordering::Relaxed, |offset| Some(offset.saturating_add(micros)));
        }
    }
}

/// Renders a timestamp as SalesLoft does: microseconds and the team's UTC offset
/// (FACTS.md §4.4, e.g. `2024-03-07T02:46:00.302715-05:00`).
pub fn format_timestamp(micros: Micros, offset_minutes: i32) -> String {
    let offset = UtcOffset::from_whole_seconds(offset_minutes.saturating_mul(60)).unwrap_or(UtcOffset::UTC);
    let Ok(utc) = OffsetDateTime::from_unix_timestamp_nanos(i128::from(micros) * 1000) else {
        return "1970-01-01T00:00:00.000000Z".to_owned();
    };
    let local = utc.to_offset(offset);
    let (hours, minutes, _) = offset.as_hms();
    let zone = if offset.is_utc() {
        "Z".to_owned()
    } else {
        let sign = if offset.is_negative() { '-' } else { '+' };
        format!("{sign}{:02}:{:02}", hours.unsigned_abs(), minutes.unsigned_abs())
    };
    format!(
        "{:04}-{:02}-{:02}T{:02}:{:02}:{:02}.{:06}{zone}",
        local.year(),
        u8::from(local.month()),
        local.day(),
        local.hour(),
        local.minute(),
        local.second(),
        local.microsecond()
    )
}

/// Parses a filter timestamp (RFC 3339, any fraction; a bare date means its midnight UTC). A space where the
/// offset sign should be is read as `+`: an unencoded `+` in a query string arrives as a space.
pub fn parse_timestamp(text: &str) -> Option<Micros> {
    let trimmed = text.trim();
    let repaired;
    let candidate = if trimmed.len() > 6 && trimmed.as_bytes().get(trimmed.len() - 6) == Some(&b' ') {
        repaired = format!("{}+{}", &trimmed[..trimmed.len() - 6], &trimmed[trimmed.len() - 5..]);
        repaired.as_str()
    } else {
        trimmed
    };
    if let Ok(parsed) = OffsetDateTime::parse(candidate, &Rfc3339) {
        return i64::try_from(parsed.unix_timestamp_nanos() / 1000).ok();
    }
    let date_format = time::macros::format_description!("[year]-[month]-[day]");
    let date = time::Date::parse(candidate, &date_format).ok()?;
    Some(date.midnight().assume_utc().unix_timestamp() * 1_000_000)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn timestamps_round_trip_with_microseconds_and_offset() {
        let text = "2024-03-07T02:46:00.302715-05:00";
        let micros = parse_timestamp(text).expect("parses");
        assert_eq!(format_timestamp(micros, -300), text);
        assert_eq!(format_timestamp(micros, 0), "2024-03-07T07:46:00.302715Z");
        assert_eq!(parse_timestamp("2024-03-07T07:46:00.302715Z"), Some(micros));
        assert_eq!(parse_timestamp("2024-03-07T02:46:00.302715 05:00"), Some(micros - 10 * 3_600_000_000));
        assert_eq!(parse_timestamp("2024-03-07"), parse_timestamp("2024-03-07T00:00:00Z"));
        assert_eq!(parse_timestamp("yesterday"), None);
    }

    #[test]
    fn clock_only_moves_forward() {
        let clock = SimClock::default();
        let before = clock.now_micros();
        clock.advance_micros(7_200_000_000);
        clock.advance_micros(-10_000_000_000);
        assert!(clock.now_micros() >= before + 7_200_000_000);
    }
}
