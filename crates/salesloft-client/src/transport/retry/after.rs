//! `Retry-After` parsing (RFC 9110 §10.2.3): delta-seconds or an HTTP date, read against the injected clock's
//! wall time so a test decides what "now" is.

use std::time::{Duration, UNIX_EPOCH};

use http::HeaderMap;

use crate::clock::Clock;

/// Reads `Retry-After` as delta-seconds or an HTTP date; `None` when absent or malformed. A date is measured
/// from `clock`'s wall time ([`Clock::unix_time`]); see [`retry_after_at`].
pub fn retry_after(headers: &HeaderMap, clock: &dyn Clock) -> Option<Duration> {
    retry_after_at(headers, clock.unix_time())
}

/// [`retry_after`] with the current Unix time given. A date in the past means "now" (zero). The value is
/// returned as the server sent it, however long: the pipeline refuses to wait longer than
/// [`super::RetryConfig::max_retry_after`] and reports [`crate::Error::RetryAfterTooLong`] instead, so an
/// operator sees what the server asked rather than a silent retry.
pub fn retry_after_at(headers: &HeaderMap, now_unix: Duration) -> Option<Duration> {
    let value = headers.get(http::header::RETRY_AFTER)?.to_str().ok()?.trim();
    let delay = if let Ok(seconds) = value.parse::<u64>() {
        Duration::from_secs(seconds)
    } else {
        let when = httpdate::parse_http_date(value).ok()?;
        let when = when.duration_since(UNIX_EPOCH).ok()?;
        when.saturating_sub(now_unix)
    };
    Some(delay)
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    fn with(value: &str) -> HeaderMap {
        let mut headers = HeaderMap::new();
        headers.insert(http::header::RETRY_AFTER, value.parse().expect("header"));
        headers
    }

    #[test]
    fn retry_after_table() {
        let now = Duration::from_secs(1_445_412_480); // Wed, 21 Oct 2015 07:28:00 GMT
        let table: [(Option<&str>, Option<Duration>); 8] = [
            (None, None),
            (Some("0"), Some(Duration::ZERO)),
            (Some(" 12 "), Some(Duration::from_secs(12))),
            (Some("Wed, 21 Oct 2015 07:28:30 GMT"), Some(Duration::from_secs(30))),
            (Some("Wed, 21 Oct 2015 07:27:00 GMT"), Some(Duration::ZERO)),
            (Some("soon"), None),
            (Some("999999999"), Some(Duration::from_secs(999_999_999))),
            (Some("99999999999999999999999"), None),
        ];
        for (value, expected) in table {
            let headers = value.map(with).unwrap_or_default();
            assert_eq!(retry_after_at(&headers, now), expected, "Retry-After {value:?}");
        }
    }

    #[test]
    fn a_date_is_read_against_the_injected_clock() {
        let clock = crate::clock::ManualClock::starting_at(time::macros::datetime!(2015-10-21 07:28:00 UTC));
        assert_eq!(retry_after(&with("Wed, 21 Oct 2015 07:28:30 GMT"), &clock), Some(Duration::from_secs(30)));
        clock.advance(Duration::from_secs(10));
        assert_eq!(retry_after(&with("Wed, 21 Oct 2015 07:28:30 GMT"), &clock), Some(Duration::from_secs(20)));
    }

    proptest! {
        #[test]
        fn delta_seconds_round_trip(seconds in any::<u64>(), pad in "[ \t]{0,3}", now in any::<u32>()) {
            let headers = with(&format!("{pad}{seconds}{pad}"));
            prop_assert_eq!(retry_after_at(&headers, Duration::from_secs(u64::from(now))), Some(Duration::from_secs(seconds)));
        }

        #[test]
        fn an_http_date_is_the_distance_from_now(at in 0u64..4_102_444_800, now in 0u64..4_102_444_800) {
            let when = UNIX_EPOCH + Duration::from_secs(at);
            let headers = with(&httpdate::fmt_http_date(when));
            let expected = Duration::from_secs(at.saturating_sub(now));
            prop_assert_eq!(retry_after_at(&headers, Duration::from_secs(now)), Some(expected));
        }

        #[test]
        fn any_header_text_parses_or_is_none_without_panicking(text in "[ -~]{0,40}", now in any::<u64>()) {
            if let Ok(value) = http::HeaderValue::from_str(&text) {
                let mut headers = HeaderMap::new();
                headers.insert(http::header::RETRY_AFTER, value);
                let parsed = retry_after_at(&headers, Duration::from_secs(now));
                // Only digits or a date can parse; anything else is None, never a guess.
                let trimmed = text.trim();
                if trimmed.parse::<u64>().is_err() && httpdate::parse_http_date(trimmed).is_err() {
                    prop_assert_eq!(parsed, None);
                }
            }
        }
    }
}
