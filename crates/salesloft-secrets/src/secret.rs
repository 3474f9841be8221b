//! [`Secret`]: one `*_ref` opened on its backend — the value of its `#FIELD` (cached for a TTL), and a
//! compare-and-set write of that field that keeps the secret's other fields.

use std::sync::{Arc, Mutex};
use std::time::Duration;

use salesloft_client::clock::{SharedClock, SystemClock};
use secrecy::{ExposeSecret, SecretString};
use serde_json::{Map, Value};

use crate::backend::{SecretBackend, Version, Versioned};
use crate::{SecretError, SecretRef};

/// How long [`Secret::value`] serves a value before reading it again.
pub const DEFAULT_CACHE_TTL: Duration = Duration::from_secs(300);

/// A secret read at one version: the field's value (`None` when the secret or the field is missing), and what
/// a compare-and-set needs. `Debug` redacts the values.
#[derive(Debug, Clone, Default)]
pub struct Snapshot {
    /// The value of the reference's field (or the whole secret without a field).
    pub value: Option<SecretString>,
    /// The secret's version; `None` when the secret does not exist.
    pub version: Option<Version>,
    /// The whole secret, kept so a field write preserves the other fields.
    payload: Option<SecretString>,
}

/// One secret reference on its backend. Cheap to share behind an `Arc`; `Debug` shows the reference only.
pub struct Secret {
    reference: SecretRef,
    backend: Arc<dyn SecretBackend>,
    clock: SharedClock,
    ttl: Duration,
    cache: Mutex<Option<(Duration, SecretString)>>,
}

impl std::fmt::Debug for Secret {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Secret").field("reference", &self.reference).field("ttl", &self.ttl).finish_non_exhaustive()
    }
}

impl Secret {
    /// `reference` on its backend, configured from the environment (`VAULT_ADDR`…, the AWS credential chain,
    /// `GOOGLE_APPLICATION_CREDENTIALS`; see [`crate::open_backend`]).
    pub fn open(reference: SecretRef) -> Result<Self, SecretError> {
        let backend = crate::open_backend(&reference)?;
        Ok(Self::with_backend(reference, backend))
    }

    /// `reference` on an explicit backend (tests, or a backend configured by hand).
    pub fn with_backend(reference: SecretRef, backend: Arc<dyn SecretBackend>) -> Self {
        Self {
            reference,
            backend,
            clock: Arc::new(SystemClock::default()),
            ttl: DEFAULT_CACHE_TTL,
            cache: Mutex::new(None),
        }
    }

    /// The same secret, caching values for `ttl` (zero: never cached).
    pub fn with_ttl(mut self, ttl: Duration) -> Self {
        self.ttl = ttl;
        self
    }

    /// The same secret, measuring the cache TTL on `clock`.
    pub fn with_clock(mut self, clock: SharedClock) -> Self {
        self.clock = clock;
        self
    }

    /// The reference.
    pub fn reference(&self) -> &SecretRef {
        &self.reference
    }

    /// The value, from the cache when read less than the TTL ago. A missing secret or field is
    /// [`SecretError::NotFound`].
    pub async fn value(&self) -> Result<SecretString, SecretError> {
        let now = self.clock.now();
        if let Some((at, value)) = self.cache.lock().unwrap_or_else(|e| e.into_inner()).as_ref()
            && now.saturating_sub(*at) < self.ttl
        {
            return Ok(value.clone());
        }
        let value = self
            .snapshot()
            .await?
            .value
            .ok_or_else(|| SecretError::NotFound { location: self.reference.to_string() })?;
        *self.cache.lock().unwrap_or_else(|e| e.into_inner()) = Some((now, value.clone()));
        Ok(value)
    }

    /// Reads the secret now (never from the cache).
    pub async fn snapshot(&self) -> Result<Snapshot, SecretError> {
        let Some(Versioned { payload, version }) = self.backend.read().await? else {
            return Ok(Snapshot::default());
        };
        let value = match self.reference.field() {
            None => Some(payload.clone()),
            Some(field) => field_of(&payload, field, &self.reference)?,
        };
        Ok(Snapshot { value, version: Some(version), payload: Some(payload) })
    }

    /// Writes `value` (into the field, keeping the others) if the secret is still at `read`'s version;
    /// creates the secret when `read` found none. Returns the snapshot now stored, or
    /// [`SecretError::Conflict`] when someone wrote first.
    pub async fn compare_and_set(&self, value: &SecretString, read: &Snapshot) -> Result<Snapshot, SecretError> {
        let payload = match self.reference.field() {
            None => value.clone(),
            Some(field) => with_field(read.payload.as_ref(), field, value, &self.reference)?,
        };
        let version = self.backend.compare_and_set(&payload, read.version.as_ref()).await?;
        *self.cache.lock().unwrap_or_else(|e| e.into_inner()) = None;
        Ok(Snapshot { value: Some(value.clone()), version: Some(version), payload: Some(payload) })
    }
}

fn parse_object(payload: &SecretString, reference: &SecretRef) -> Result<Map<String, Value>, SecretError> {
    match serde_json::from_str::<Value>(payload.expose_secret()) {
        Ok(Value::Object(map)) => Ok(map),
        // serde's message may quote the payload: say only what is wrong.
        _ => Err(SecretError::Invalid {
            location: reference.without_field(),
            detail: format!(
                "the secret is not a JSON object, so it has no field {:?}",
                reference.field().unwrap_or("")
            ),
        }),
    }
}

/// The field's value: a string as is, anything else as its JSON text; `None` when absent or null.
fn field_of(payload: &SecretString, field: &str, reference: &SecretRef) -> Result<Option<SecretString>, SecretError> {
    let object = parse_object(payload, reference)?;
    Ok(match object.get(field) {
        None | Some(Value::Null) => None,
        Some(Value::String(text)) => Some(SecretString::from(text.clone())),
        Some(other) => Some(SecretString::from(other.to_string())),
    })
}

/// The payload with `field` set to `value` (a JSON object value is stored as an object, anything else as a
/// string).
fn with_field(
    payload: Option<&SecretString>,
    field: &str,
    value: &SecretString,
    reference: &SecretRef,
) -> Result<SecretString, SecretError> {
    let mut object = match payload {
        Some(payload) => parse_object(payload, reference)?,
        None => Map::new(),
    };
    let value = match serde_json::from_str::<Value>(value.expose_secret()) {
        Ok(Value::Object(map)) => Value::Object(map),
        _ => Value::String(value.expose_secret().to_string()),
    };
    object.insert(field.to_string(), value);
    Ok(SecretString::from(Value::Object(object).to_string()))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::local::FileBackend;

    #[tokio::test]
    async fn fields_are_read_and_written_without_touching_the_others() {
        let dir = tempfile::tempdir().expect("dir");
        let path = dir.path().join("s.json");
        std::fs::write(&path, r#"{"client_secret":"cs-1","other":{"n":1}}"#).expect("write");
        let reference: SecretRef = format!("file:{}", path.display()).parse().expect("ref");
        let backend: Arc<dyn SecretBackend> = Arc::new(FileBackend::new(&path));
        // file: has no fields in the syntax; a field is exercised through a Vault-shaped reference.
        let fielded = SecretRef::Vault { mount: "m".into(), path: "p".into(), field: Some("client_secret".into()) };
        let secret = Secret::with_backend(fielded, Arc::clone(&backend));
        let read = secret.snapshot().await.expect("read");
        assert_eq!(read.value.as_ref().map(|v| v.expose_secret().to_string()), Some("cs-1".into()));
        secret.compare_and_set(&SecretString::from("cs-2".to_string()), &read).await.expect("cas");
        let stored: Value = serde_json::from_str(&std::fs::read_to_string(&path).expect("read")).expect("json");
        assert_eq!(stored, serde_json::json!({"client_secret":"cs-2","other":{"n":1}}));
        let stale = secret.compare_and_set(&SecretString::from("cs-3".to_string()), &read).await;
        assert!(matches!(stale, Err(SecretError::Conflict { .. })), "{stale:?}");
        let whole = Secret::with_backend(reference, backend);
        assert!(whole.value().await.expect("value").expose_secret().contains("cs-2"));
    }

    #[tokio::test]
    async fn values_are_cached_for_the_ttl_and_debug_shows_none() {
        let clock = salesloft_client::clock::ManualClock::new();
        let dir = tempfile::tempdir().expect("dir");
        let path = dir.path().join("k");
        std::fs::write(&path, "v-one\n").expect("write");
        let secret = Secret::with_backend(SecretRef::File(path.clone()), Arc::new(FileBackend::new(&path)))
            .with_ttl(Duration::from_secs(60))
            .with_clock(clock.shared());
        assert_eq!(secret.value().await.expect("value").expose_secret(), "v-one");
        std::fs::write(&path, "v-two\n").expect("write");
        assert_eq!(secret.value().await.expect("cached").expose_secret(), "v-one");
        clock.advance(Duration::from_secs(61));
        assert_eq!(secret.value().await.expect("expired").expose_secret(), "v-two");
        let shown = format!("{secret:?} {:?}", secret.snapshot().await.expect("snapshot"));
        assert!(!shown.contains("v-two"), "{shown}");
        let not_object = Secret::with_backend(
            SecretRef::Vault { mount: "m".into(), path: "p".into(), field: Some("f".into()) },
            Arc::new(FileBackend::new(&path)),
        );
        let error = not_object.value().await.expect_err("not an object").to_string();
        assert!(!error.contains("v-two"), "{error}");
    }
}
