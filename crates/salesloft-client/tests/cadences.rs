//! Cadences: decoding, list, get and a keyset walk against the simulator.

mod support;

use std::collections::HashSet;

use futures::TryStreamExt;
use salesloft_client::api::decode;
use salesloft_client::models::{Cadence, Envelope};

#[test]
fn a_cadence_decodes() {
    let cadence: Envelope<Cadence> = decode("cadences.get", &support::fixture("cadence.json")).expect("decodes");
    assert_eq!(cadence.data.name.as_deref(), Some("Outbound Q3"));
    assert_eq!(cadence.data.groups.as_ref().map(Vec::len), Some(1));
    assert_eq!(cadence.data.counts.as_ref().and_then(|c| c.meetings_booked), Some(1));
}

#[tokio::test]
async fn list_get_and_walk_cadences() {
    let (sim, client) = support::start(0).await;
    let page = client.cadences().list().per_page(100).send().await.expect("list");
    assert!(!page.data.is_empty(), "the simulator seeds cadences");
    let one = client.cadences().get(page.data[0].id).await.expect("get");
    assert_eq!(one.id, page.data[0].id);
    let walked: Vec<Cadence> = client.cadences().keyset().items().try_collect().await.expect("walk");
    let ids: HashSet<_> = walked.iter().map(|c| c.id).collect();
    assert_eq!(ids.len(), walked.len(), "no duplicates");
    assert_eq!(ids.len(), page.data.len(), "the walk sees every cadence");
    sim.shutdown().await;
}
