//! Accounts: decoding and CRUD against the simulator.

mod support;

use futures::TryStreamExt;
use salesloft_client::api::decode;
use salesloft_client::models::{Account, AccountInput, Envelope};

#[test]
fn an_account_decodes() {
    let account: Envelope<Account> = decode("accounts.get", &support::fixture("account.json")).expect("decodes");
    assert_eq!(account.data.domain.as_deref(), Some("acme.example"));
    assert_eq!(account.data.counts.as_ref().and_then(|c| c.people), Some(12));
    assert_eq!(account.data.updated_at.as_str(), "2024-02-02T03:04:05.654321+01:00");
}

#[tokio::test]
async fn create_get_update_delete_and_a_taken_domain() {
    let (sim, client) = support::start(0).await;
    let accounts = client.accounts();
    let created = accounts.create(&AccountInput::new("Initech", "initech.example")).await.expect("create");
    assert_eq!(created.name.as_deref(), Some("Initech"));
    let fetched = accounts.get(created.id).await.expect("get");
    assert_eq!(fetched.id, created.id);
    let updated =
        accounts.update(created.id, &AccountInput::new("Initech Inc", "initech.example")).await.expect("update");
    assert_eq!(updated.name.as_deref(), Some("Initech Inc"));

    let taken = accounts.create(&AccountInput::new("Copy", "initech.example")).await.expect_err("duplicate domain");
    assert!(taken.validation().is_some_and(|v| v.is_taken("domain")), "expected 422 taken on domain, got {taken:?}");

    let all: Vec<Account> = accounts.keyset().items().try_collect().await.expect("keyset");
    assert!(all.iter().any(|a| a.id == created.id), "the keyset walk sees the new account");

    accounts.delete(created.id).await.expect("delete");
    let gone = accounts.get(created.id).await.expect_err("gone");
    assert_eq!(gone.status().map(|s| s.as_u16()), Some(404), "expected 404, got {gone:?}");
    sim.shutdown().await;
}
