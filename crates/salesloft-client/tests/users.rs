//! Users and `/me`: role ids that are text, unpaginated lists, and the simulator.

mod support;

use salesloft_client::api::decode;
use salesloft_client::models::{ListResponse, RoleId, User};

#[test]
fn users_without_paging_and_with_text_role_ids_decode() {
    let page: ListResponse<User> = decode("users.list", &support::fixture("users_list_unpaged.json")).expect("decodes");
    assert!(page.metadata.paging.is_none(), "no paging key without page (FACTS.md §4.1)");
    assert_eq!(page.data[0].role.as_ref().map(|r| r.id.clone()), Some(RoleId("Admin".into())));
    assert_eq!(page.data[1].role.as_ref().map(|r| r.id.clone()), Some(RoleId("77".into())));
    assert_eq!(page.data[0].private_fields.as_ref().map(|m| m.len()), Some(1));
    assert!(page.data[0].extra.contains_key("seat_package"), "observed extras are kept");
}

#[tokio::test]
async fn me_and_users_from_the_simulator() {
    let (sim, client) = support::start(0).await;
    let me = client.me().await.expect("me");
    assert!(me.email.as_deref().is_some_and(|e| e.contains('@')), "me has an email: {me:?}");
    let users = client.users().list().send().await.expect("users");
    assert!(users.data.iter().any(|u| u.id == me.id), "me is among the users");
    let one = client.users().get(me.id).await.expect("get");
    assert_eq!(one.guid, me.guid);
    let team = client.team().await.expect("team");
    assert!(team.name.is_some());
    sim.shutdown().await;
}
