//! Waiting for the signal that stops a long-running command (`sim`, `serve`): SIGINT (Ctrl-C) or SIGTERM
//! (what `docker stop`, systemd and Kubernetes send).

/// Completes on SIGINT or SIGTERM (SIGINT only where there is no SIGTERM).
pub async fn shutdown() {
    #[cfg(unix)]
    {
        use tokio::signal::unix::{SignalKind, signal};
        match signal(SignalKind::terminate()) {
            Ok(mut terminate) => {
                tokio::select! {
                    _ = tokio::signal::ctrl_c() => {}
                    _ = terminate.recv() => {}
                }
            }
            Err(_) => {
                let _ = tokio::signal::ctrl_c().await;
            }
        }
    }
    #[cfg(not(unix))]
    {
        let _ = tokio::signal::ctrl_c().await;
    }
}
