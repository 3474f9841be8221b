//! One run of a pull job: [`crate::pull::pull_to_file_until`] into the sink, resuming from the pull's own
//! checkpoint (`pull:<resource>:<absolute sink path>`, the one `slprod pull --out SINK` uses), stopping after a
//! checkpointed page when the safe point says so.

use std::ops::ControlFlow;
use std::path::Path;

use salesloft_client::Client;
use salesloft_client::api::Resource;
use salesloft_client::models::{Account, Cadence, CadenceMembership, Keyed, Person};
use salesloft_store::Store;
use serde::Serialize;

use super::{JobOutcome, PullResource, RunResult, SafePoint};
use crate::pull::{PullError, PullOptions, pull_to_file_until};

/// Pulls `resource` into `sink` once; `on_page` hears the sink's record count after each checkpointed page.
pub(crate) async fn run(
    client: &Client,
    store: &Store,
    resource: PullResource,
    sink: &Path,
    safe_point: &SafePoint,
    on_page: impl Fn(u64),
) -> RunResult {
    match resource {
        PullResource::People => pull::<Person>(client, store, resource, sink, safe_point, on_page).await,
        PullResource::Accounts => pull::<Account>(client, store, resource, sink, safe_point, on_page).await,
        PullResource::Cadences => pull::<Cadence>(client, store, resource, sink, safe_point, on_page).await,
        PullResource::CadenceMemberships => {
            pull::<CadenceMembership>(client, store, resource, sink, safe_point, on_page).await
        }
    }
}

async fn pull<T>(
    client: &Client,
    store: &Store,
    resource: PullResource,
    sink: &Path,
    safe_point: &SafePoint,
    on_page: impl Fn(u64),
) -> RunResult
where
    T: Resource + Keyed + Serialize + Send,
{
    // `after_page` is called once before the first request (with the checkpoint's count), then per page.
    let mut start: Option<u64> = None;
    let mut last = 0;
    let mut pages = 0u64;
    let mut stopped_because = None;
    let result = pull_to_file_until::<T>(client, store.clone(), resource.name(), sink, &PullOptions::default(), |n| {
        match start {
            None => start = Some(n),
            Some(_) => {
                pages += 1;
                on_page(n);
            }
        }
        last = n;
        match safe_point.check() {
            Some(reason) => {
                stopped_because = Some(reason);
                ControlFlow::Break(())
            }
            None => ControlFlow::Continue(()),
        }
    })
    .await;
    let rows = last - start.unwrap_or(last);
    match result {
        Ok(summary) => match (summary.stopped, stopped_because) {
            (true, Some((outcome, reason))) => RunResult {
                outcome,
                rows: summary.new_records,
                cost: pages,
                error: Some(reason),
                completed_run_id: None,
            },
            _ => RunResult {
                outcome: JobOutcome::Ok,
                rows: summary.new_records,
                cost: pages,
                error: None,
                completed_run_id: None,
            },
        },
        Err(error @ PullError::Interrupted { .. }) => {
            RunResult { rows, cost: pages, ..RunResult::failed(error.to_string()) }
        }
        Err(error) => RunResult::failed(error.to_string()),
    }
}
