//! Fuzz (proptest, no nightly needed) for the webhook signature: any callback token and any body bytes sign
//! without panicking, into the `x-salesloft-signature` shape, and the signature verifies as HMAC-SHA1.

use hmac::{Hmac, KeyInit, Mac};
use proptest::prelude::*;
use salesloft_sim::sign_webhook;
use sha1::Sha1;

proptest! {
    #[test]
    fn any_token_and_body_sign_into_forty_lowercase_hex_digits(token in any::<String>(), body in proptest::collection::vec(any::<u8>(), 0..2048)) {
        let signature = sign_webhook(&token, &body);
        prop_assert_eq!(signature.len(), 40, "{}", signature);
        prop_assert!(signature.bytes().all(|b| b.is_ascii_digit() || (b'a'..=b'f').contains(&b)), "{}", signature);
        prop_assert_eq!(sign_webhook(&token, &body), signature.clone(), "signing is deterministic");

        let mut mac = <Hmac<Sha1> as KeyInit>::new_from_slice(token.as_bytes()).expect("any key length");
        mac.update(&body);
        let bytes = hex::decode(&signature).expect("hex");
        prop_assert!(mac.verify_slice(&bytes).is_ok(), "the signature verifies as HMAC-SHA1 of the body");
    }

    #[test]
    fn a_changed_body_or_token_changes_the_signature(token in "[ -~]{1,40}", body in proptest::collection::vec(any::<u8>(), 1..512), flip in any::<prop::sample::Index>()) {
        let mut tampered = body.clone();
        let at = flip.index(tampered.len());
        tampered[at] ^= 0x01;
        prop_assert_ne!(sign_webhook(&token, &body), sign_webhook(&token, &tampered));
        prop_assert_ne!(sign_webhook(&token, &body), sign_webhook(&format!("{token}x"), &body));
    }
}
