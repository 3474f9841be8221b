//! Fuzz (proptest, no nightly needed) for webhook bodies as the inbox reads them: any event type and any body
//! bytes give a dedup key and a resource id without panicking, and a well-formed resource body is keyed by
//! its id and `updated_at`.

use proptest::prelude::*;
use salesloft_store::Delivery;
use serde_json::json;

fn is_content_key(key: &str) -> bool {
    key.strip_prefix("sha256:").is_some_and(|hex| hex.len() == 64 && hex.bytes().all(|b| b.is_ascii_hexdigit()))
}

proptest! {
    #[test]
    fn any_body_gets_a_key_without_panicking(event in any::<String>(), body in proptest::collection::vec(any::<u8>(), 0..1024)) {
        let delivery = Delivery::new(event.clone(), body);
        let key = delivery.dedup_key();
        prop_assert_eq!(delivery.dedup_key(), key.clone(), "the key is deterministic");
        if let Some(rest) = key.strip_prefix("event:") {
            prop_assert!(rest.starts_with(&format!("{event}:")), "{}", key);
            prop_assert!(delivery.resource_id().is_some(), "an event key always has a resource id: {}", key);
        } else {
            prop_assert!(is_content_key(&key), "{}", key);
        }
    }

    #[test]
    fn json_shaped_bodies_get_a_key_without_panicking(event in "[a-z_]{1,20}", text in r#"\{("[a-z_]{0,12}":( ?-?[0-9]{1,22}(\.[0-9]{0,3})?|"[^"\\]{0,20}"|null|true|\[\]|\{\}),?){0,5}\}?"#) {
        let delivery = Delivery::new(event, text.into_bytes());
        let key = delivery.dedup_key();
        prop_assert!(key.starts_with("event:") || is_content_key(&key), "{}", key);
    }

    #[test]
    fn a_resource_body_is_keyed_by_id_and_updated_at(
        event in "[a-z_]{1,20}",
        id in prop_oneof![any::<i64>().prop_map(|n| json!(n)), "[A-Za-z0-9-]{1,20}".prop_map(|s| json!(s))],
        updated_at in "[ -~]{0,40}",
        extra in proptest::collection::btree_map("[a-z]{1,8}", any::<i32>(), 0..4),
    ) {
        let mut body = json!({"id": id, "updated_at": updated_at});
        for (name, value) in extra {
            if name != "id" && name != "updated_at" {
                body[name] = json!(value);
            }
        }
        let delivery = Delivery::new(event.clone(), serde_json::to_vec(&body).expect("json"));
        let id_text = match &id { serde_json::Value::String(s) => s.clone(), other => other.to_string() };
        prop_assert_eq!(delivery.dedup_key(), format!("event:{event}:{id_text}:{updated_at}"));
        prop_assert_eq!(delivery.resource_id(), Some(id_text));
    }

    #[test]
    fn a_body_that_is_not_a_json_object_is_keyed_by_its_content(event in "[a-z_]{1,20}", items in proptest::collection::vec(any::<i64>(), 0..5)) {
        let delivery = Delivery::new(event, serde_json::to_vec(&items).expect("json"));
        prop_assert!(is_content_key(&delivery.dedup_key()));
        prop_assert_eq!(delivery.resource_id(), None);
    }
}
