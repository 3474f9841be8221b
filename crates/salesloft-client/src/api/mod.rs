//! Placeholder: filled in by the api work.
