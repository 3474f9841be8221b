//! The gateway's credentials and the constant-time checks on them.
//!
//! Internal callers present `Authorization: Bearer <internal token>` on the proxy; operators present the admin
//! token on `/admin/*`; the two sets never overlap ([`crate::GatewayConfig::validate`]). SalesLoft signs each
//! webhook with `x-salesloft-signature` = hex HMAC-SHA1 of the raw body keyed by the subscription's
//! callback token (FACTS.md §6.2; no timestamp, no event id). Every set may hold several values during a
//! rotation; a presented value is compared with *every* current one in constant time ([`subtle`]), without
//! stopping at the first match, so the timing says nothing about which value (or how much of it) matched.

use hmac::{Hmac, KeyInit, Mac};
use http::HeaderMap;
use secrecy::{ExposeSecret, SecretString};
use sha1::Sha1;
use subtle::{Choice, ConditionallySelectable, ConstantTimeEq};

/// A set of secrets (tokens or webhook keys), several during a rotation. `Debug` shows only how many.
#[derive(Clone, Default)]
pub struct Secrets(Vec<SecretString>);

impl std::fmt::Debug for Secrets {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "Secrets([REDACTED; {}])", self.0.len())
    }
}

impl Secrets {
    /// The set of `secrets`, empty ones dropped.
    pub fn new(secrets: impl IntoIterator<Item = SecretString>) -> Self {
        Self(secrets.into_iter().filter(|s| !s.expose_secret().trim().is_empty()).collect())
    }

    /// A comma-separated list (`SLPROD_INTERNAL_TOKEN=old,new`), each value trimmed, empty ones dropped.
    pub fn parse_list(text: &str) -> Self {
        Self::new(text.split(',').map(|s| SecretString::from(s.trim().to_string())))
    }

    /// This set followed by `other`'s values.
    pub fn merged(mut self, other: Secrets) -> Self {
        self.0.extend(other.0);
        self
    }

    /// True when there is no secret.
    pub fn is_empty(&self) -> bool {
        self.0.is_empty()
    }

    /// How many secrets there are.
    pub fn len(&self) -> usize {
        self.0.len()
    }

    /// The 1-based position of the secret equal to `presented`, compared in constant time with every secret.
    pub fn position(&self, presented: &[u8]) -> Option<usize> {
        let mut found = 0u64;
        for (index, secret) in self.0.iter().enumerate() {
            let equal = secret.expose_secret().as_bytes().ct_eq(presented);
            // Keeps the first match without a data-dependent branch.
            let keep = found.ct_eq(&0) & equal;
            found = u64::conditional_select(&found, &(index as u64 + 1), keep);
        }
        (found != 0).then_some(found as usize)
    }

    /// True when `presented` equals one of the secrets (constant time, see [`Secrets::position`]).
    pub fn contains(&self, presented: &[u8]) -> bool {
        self.position(presented).is_some()
    }

    /// True when some secret of this set is also in `other`.
    pub fn overlaps(&self, other: &Secrets) -> bool {
        self.0.iter().any(|secret| other.contains(secret.expose_secret().as_bytes()))
    }

    /// True when `signature` (hex, either case) is the HMAC-SHA1 of `body` under one of the secrets
    /// (FACTS.md §6.2). Every secret is tried, in constant time each; malformed hex is simply no match.
    pub fn verify_signature(&self, body: &[u8], signature: &str) -> bool {
        let Ok(presented) = hex::decode(signature.trim()) else {
            return false;
        };
        let mut matched = Choice::from(0);
        for secret in &self.0 {
            let Ok(mut mac) = <Hmac<Sha1> as KeyInit>::new_from_slice(secret.expose_secret().as_bytes()) else {
                continue;
            };
            mac.update(body);
            matched |= mac.finalize().into_bytes().as_slice().ct_eq(&presented);
        }
        matched.into()
    }
}

/// The token of an `Authorization: Bearer <token>` header (scheme case-insensitive), if any.
pub fn bearer(headers: &HeaderMap) -> Option<&[u8]> {
    let value = headers.get(http::header::AUTHORIZATION)?.as_bytes();
    let (scheme, token) = value.split_at_checked(7)?;
    if !scheme.eq_ignore_ascii_case(b"bearer ") {
        return None;
    }
    let token = token.trim_ascii();
    (!token.is_empty()).then_some(token)
}

/// Hex HMAC-SHA1 of `body` under `secret`: what SalesLoft puts in `x-salesloft-signature` (FACTS.md §6.2).
/// For tests and tools that sign deliveries.
pub fn sign(secret: &str, body: &[u8]) -> String {
    match <Hmac<Sha1> as KeyInit>::new_from_slice(secret.as_bytes()) {
        Ok(mut mac) => {
            mac.update(body);
            hex::encode(mac.finalize().into_bytes())
        }
        // HMAC takes keys of any length; this arm is unreachable in practice.
        Err(_) => String::new(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn any_current_secret_matches_and_nothing_else() {
        let secrets = Secrets::parse_list(" old , new ,, ");
        assert_eq!(secrets.len(), 2);
        assert_eq!(secrets.position(b"old"), Some(1));
        assert_eq!(secrets.position(b"new"), Some(2));
        for wrong in [&b""[..], b"ol", b"oldx", b"NEW", b"old,new"] {
            assert_eq!(secrets.position(wrong), None, "{wrong:?}");
        }
        assert!(!Secrets::default().contains(b""));
    }

    #[test]
    fn debug_never_shows_a_secret() {
        let text = format!("{:?}", Secrets::parse_list("tok-very-secret"));
        assert_eq!(text, "Secrets([REDACTED; 1])");
    }

    #[test]
    fn signatures_are_hex_hmac_sha1_of_the_raw_body_under_any_secret() {
        let secrets = Secrets::parse_list("old,new");
        let body = br#"{"id":1,"updated_at":"t"}"#;
        // RFC 2202 test case 2, as a fixed point: HMAC-SHA1("Jefe", "what do ya want for nothing?").
        assert_eq!(sign("Jefe", b"what do ya want for nothing?"), "effcdf6ae5eb2fa2d27416d5f184df9c259a7c79");
        assert!(secrets.verify_signature(body, &sign("old", body)));
        assert!(secrets.verify_signature(body, &sign("new", body).to_uppercase()));
        for bad in [sign("other", body), sign("old", b"tampered"), "zz".into(), String::new(), "ab".into()] {
            assert!(!secrets.verify_signature(body, &bad), "{bad:?}");
        }
    }

    #[test]
    fn bearer_reads_the_token_case_insensitively() {
        let mut headers = HeaderMap::new();
        assert_eq!(bearer(&headers), None);
        for (value, expected) in [
            ("Bearer abc", Some(&b"abc"[..])),
            ("bearer  abc ", Some(b"abc")),
            ("Basic abc", None),
            ("Bearer ", None),
            ("Bearer", None),
        ] {
            headers.insert(http::header::AUTHORIZATION, value.parse().expect("header"));
            assert_eq!(bearer(&headers), expected, "{value:?}");
        }
    }
}
