//! A resilient client for the SalesLoft REST API v2.
//!
//! The transport does the right thing by default: OAuth refresh (proactive, and once on 401, single-flight,
//! rotated refresh token saved before use), retries with full-jitter backoff that honour `Retry-After`, a
//! circuit breaker, and a cost-weighted rate budget fed by SalesLoft's rate-limit headers. Reads walk a
//! keyset cursor instead of deep pages; upserts look people up by email first.
//!
//! Layout: [`transport`] holds the request pipeline (one module per layer), [`models`] the typed records,
//! [`api`] the per-resource handlers and builders, [`pagination`] the keyset stream, [`upsert`] the
//! upsert-by-email, [`clock`] the injected time.

#![warn(missing_docs)]

pub mod api;
pub mod clock;
pub mod error;
pub mod models;
pub mod pagination;
pub mod transport;
pub mod upsert;

pub use error::{Error, FieldErrors, Result, ValidationError};
