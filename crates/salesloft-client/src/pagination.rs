//! Keyset pagination.
