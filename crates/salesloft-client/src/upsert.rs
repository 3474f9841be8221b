//! Upsert by email.
