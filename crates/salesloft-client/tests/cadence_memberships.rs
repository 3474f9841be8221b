//! Cadence memberships: add a person to a cadence, list, remove.

mod support;

use salesloft_client::api::decode;
use salesloft_client::models::{CadenceMembership, Envelope, PersonInput};

#[test]
fn a_membership_decodes_with_only_a_cadence_reference() {
    let m: Envelope<CadenceMembership> =
        decode("cadence_memberships.get", &support::fixture("cadence_membership.json")).expect("decodes");
    assert_eq!(m.data.cadence.as_ref().map(|c| c.id.0), Some(3));
    assert_eq!(m.data.person.as_ref().map(|p| p.id.0), Some(42));
    assert_eq!(m.data.current_state.as_deref(), Some("staged"));
}

#[tokio::test]
async fn add_list_and_remove_a_person() {
    let (sim, client) = support::start(0).await;
    let person = client.people().create(&PersonInput::with_email("cadenced@example.com")).await.expect("person");
    let cadences = client.cadences().list().per_page(100).send().await.expect("cadences").data;
    let cadence = cadences.iter().find(|c| c.team_cadence == Some(true)).unwrap_or(&cadences[0]);

    let added = client.cadence_memberships().create(person.id, cadence.id).await.expect("add");
    assert_eq!(added.person.as_ref().map(|p| p.id), Some(person.id));
    assert_eq!(added.cadence.as_ref().map(|c| c.id), Some(cadence.id));
    let again = client.cadence_memberships().create(person.id, cadence.id).await.expect("re-add");
    assert_eq!(again.id, added.id, "adding again returns the same single membership (FACTS.md §5.4)");

    let listed = client.cadence_memberships().list().person_id(person.id).send().await.expect("list");
    assert!(listed.data.iter().any(|m| m.id == added.id), "listed by person");
    let fetched = client.cadence_memberships().get(added.id).await.expect("get");
    assert_eq!(fetched.id, added.id);

    client.cadence_memberships().delete(added.id).await.expect("remove");
    client.cadence_memberships().delete(added.id).await.expect("remove is idempotent");
    sim.shutdown().await;
}
