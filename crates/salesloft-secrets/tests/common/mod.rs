//! What the backend suites share: the test servers' addresses (they fail loudly, never skip, when a server is
//! not configured), a TCP relay that can be cut to play "server down", and an OAuth pipeline on the simulator.

#![allow(dead_code)]

use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Duration;

use salesloft_client::transport::{OAuthConfig, Pipeline, TokenSet, TokenStore};
use salesloft_sim::{RunningSim, SimConfig, Simulator};
use secrecy::SecretString;
use serde_json::{Value, json};

/// A variable set by `scripts/*-test-server.sh start`; panics with how to start the server when unset.
pub fn required(name: &str, script: &str) -> String {
    match std::env::var(name) {
        Ok(value) if !value.is_empty() => value,
        _ => panic!(
            "{name} is not set: these tests need a real server and never skip. Run `eval \"$(scripts/{script} start)\"` \
             (from the repository root) and test again."
        ),
    }
}

/// A store that cuts a relay just before its first save goes out: the secret manager goes down between the
/// token endpoint's answer and the save.
#[derive(Debug)]
pub struct CutOnSave<S> {
    pub inner: Arc<S>,
    pub relay: Arc<Relay>,
    pub cut: std::sync::atomic::AtomicBool,
}

impl<S> CutOnSave<S> {
    pub fn new(inner: Arc<S>, relay: Relay) -> Self {
        Self { inner, relay: Arc::new(relay), cut: std::sync::atomic::AtomicBool::new(false) }
    }
}

impl<S: TokenStore> TokenStore for CutOnSave<S> {
    fn load(&self) -> futures::future::BoxFuture<'_, Result<Option<TokenSet>, salesloft_client::Error>> {
        self.inner.load()
    }

    fn save<'a>(&'a self, tokens: &'a TokenSet) -> futures::future::BoxFuture<'a, Result<(), salesloft_client::Error>> {
        Box::pin(async move {
            if !self.cut.swap(true, std::sync::atomic::Ordering::SeqCst) {
                self.relay.cut().await;
            }
            self.inner.save(tokens).await
        })
    }
}

/// A unique name for this test's secret.
pub fn unique(prefix: &str) -> String {
    format!("{prefix}-{}", uuid::Uuid::new_v4().simple())
}

/// A TCP relay to `target` on 127.0.0.1:0 whose connections can all be cut, to play a server going down and
/// coming back.
pub struct Relay {
    pub addr: SocketAddr,
    up: Arc<std::sync::atomic::AtomicBool>,
    task: tokio::task::JoinHandle<()>,
}

impl Relay {
    pub async fn start(target: SocketAddr) -> Self {
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.expect("bind relay");
        let addr = listener.local_addr().expect("relay addr");
        let up = Arc::new(std::sync::atomic::AtomicBool::new(true));
        let flag = Arc::clone(&up);
        let task = tokio::spawn(async move {
            loop {
                let Ok((mut inbound, _)) = listener.accept().await else { return };
                if !flag.load(std::sync::atomic::Ordering::SeqCst) {
                    drop(inbound);
                    continue;
                }
                let flag = Arc::clone(&flag);
                tokio::spawn(async move {
                    let Ok(mut outbound) = tokio::net::TcpStream::connect(target).await else { return };
                    let copy = tokio::io::copy_bidirectional(&mut inbound, &mut outbound);
                    tokio::pin!(copy);
                    loop {
                        tokio::select! {
                            _ = &mut copy => return,
                            _ = tokio::time::sleep(Duration::from_millis(10)) => {
                                if !flag.load(std::sync::atomic::Ordering::SeqCst) { return; }
                            }
                        }
                    }
                });
            }
        });
        Self { addr, up, task }
    }

    /// Refuses new connections and cuts the open ones (keep-alive connections included).
    pub async fn cut(&self) {
        self.up.store(false, std::sync::atomic::Ordering::SeqCst);
        tokio::time::sleep(Duration::from_millis(30)).await;
    }

    /// Relays again.
    pub fn restore(&self) {
        self.up.store(true, std::sync::atomic::Ordering::SeqCst);
    }

    pub fn url(&self) -> String {
        format!("http://{}", self.addr)
    }
}

impl std::fmt::Debug for Relay {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "Relay({})", self.addr)
    }
}

impl Drop for Relay {
    fn drop(&mut self) {
        self.task.abort();
    }
}

/// The socket address of an `http://host:port` URL.
pub fn socket_of(url: &str) -> SocketAddr {
    let parsed = url::Url::parse(url).expect("url");
    format!("{}:{}", parsed.host_str().expect("host"), parsed.port().expect("port")).parse().expect("socket address")
}

/// The simulator with 60-second tokens and a minted grant; the token set as stored, already expired.
pub async fn sim_with_expired_grant() -> (RunningSim, TokenSet) {
    let sim = Simulator::start(SimConfig { seed_people: 3, ..SimConfig::default() }).await.expect("sim");
    let minted: Value = reqwest::Client::new()
        .post(format!("{}/__sim/tokens", sim.root_url()))
        .json(&json!({"client_id": "sim-client", "expires_in": 60}))
        .send()
        .await
        .expect("mint")
        .json()
        .await
        .expect("json");
    let set = TokenSet {
        access_token: SecretString::from(minted["access_token"].as_str().expect("access").to_string()),
        refresh_token: Some(SecretString::from(minted["refresh_token"].as_str().expect("refresh").to_string())),
        // Expired as far as the client knows: the first call refreshes.
        expires_at: Some(1),
        issued_at: Some(0),
        scope: None,
    };
    (sim, set)
}

/// An OAuth pipeline on the simulator keeping its tokens in `store`.
pub fn pipeline(sim: &RunningSim, store: Arc<dyn TokenStore>) -> Pipeline {
    let oauth = OAuthConfig::new(
        OAuthConfig::token_url_for(sim.base_url()),
        "sim-client",
        SecretString::from("sim-secret".to_string()),
    );
    Pipeline::builder(sim.base_url()).oauth(oauth, store).build().expect("pipeline")
}

/// `GET /__sim/stats`.
pub async fn sim_stats(sim: &RunningSim) -> Value {
    reqwest::get(format!("{}/__sim/stats", sim.root_url())).await.expect("stats").json().await.expect("json")
}

/// `GET /v2/me` through the pipeline.
pub async fn me(pipeline: &Pipeline) -> Result<salesloft_client::transport::ApiResponse, salesloft_client::Error> {
    pipeline.execute(salesloft_client::transport::ApiRequest::new("me.get", http::Method::GET, "me")).await
}

/// Saves the set the pipeline holds in memory, as its background retry would: a connection the relay cut may
/// still sit in the HTTP pool and fail the first attempt, so up to three attempts.
pub async fn save_pending(pipeline: &Pipeline) {
    let mut last = None;
    for _ in 0..3 {
        match pipeline.save_pending_tokens().await {
            Ok(()) => return,
            Err(error) => last = Some(error),
        }
    }
    panic!("the held token set was not saved once the server was back: {last:?}");
}
