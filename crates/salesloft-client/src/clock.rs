//! Injected time: the workspace's one clock, re-exported from `salesloft-clock` so client APIs keep naming
//! `salesloft_client::clock::*`.
//!
//! Every policy that depends on time (token expiry, backoff and `Retry-After`, the circuit breaker's open
//! interval, the cost budget's minute window) reads it through [`Clock`], so tests drive a [`ManualClock`]
//! instead of sleeping (STYLE.md "Time and I/O are injected").

pub use salesloft_clock::{Clock, ClockInstant, ManualClock, SharedClock, Sleep, SystemClock};
