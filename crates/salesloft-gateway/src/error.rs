//! Why the gateway could not start or stopped serving.

/// The gateway's one error type (request failures are HTTP answers, not errors).
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum GatewayError {
    /// A credential the gateway needs is missing and `--insecure-dev` was not given.
    #[error("refusing to start without {missing}; pass --insecure-dev to run without them (development only)")]
    Insecure {
        /// What is missing.
        missing: String,
    },
    /// The settings are inconsistent.
    #[error("gateway configuration: {0}")]
    Config(String),
    /// Serving failed.
    #[error("serving failed: {0}")]
    Serve(#[source] std::io::Error),
}
