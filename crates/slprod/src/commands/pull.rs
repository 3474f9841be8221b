//! `slprod pull`: stream every record of a resource to a JSON-lines file with a keyset cursor, checkpointing
//! after each page so an interrupted pull resumes without duplicates or gaps.
//!
//! The checkpoint (cursor + the file length it covers) is kept in the store (`--store`, the same one `push` and
//! the gateway use), named after the resource and the output file's absolute path. Order of writes per page:
//! append the records, flush and fsync the file, then commit the checkpoint. On resume the file is cut back to
//! the length the checkpoint covers — records written after the last checkpoint are fetched again — so the
//! file never holds a record twice and never misses one. A finished pull keeps its checkpoint: running it
//! again appends what changed since.

use std::fs::{File, OpenOptions};
use std::io::{BufWriter, Write};
use std::path::{Path, PathBuf};

use clap::{Args, ValueEnum};
use futures::TryStreamExt;
use indicatif::{ProgressBar, ProgressDrawTarget, ProgressStyle};
use salesloft_client::api::Resource;
use salesloft_client::models::{Account, Cadence, CadenceMembership, Keyed, Note, Person, Timestamp};
use salesloft_client::{Client, KeysetCursor, KeysetPager};
use salesloft_store::Store;
use secrecy::SecretString;
use serde::{Deserialize, Serialize};

/// Exit code: the pull completed.
const EXIT_OK: i32 = 0;
/// Exit code: the pull stopped part-way (resumable from the checkpoint).
const EXIT_INTERRUPTED: i32 = 1;
/// Exit code: the pull could not start.
const EXIT_COULD_NOT_RUN: i32 = 2;

/// Arguments of `slprod pull`.
#[derive(Debug, Args)]
pub struct PullArgs {
    /// What to pull.
    #[arg(value_enum)]
    pub resource: PullResource,
    /// Where and how to connect.
    #[command(flatten)]
    pub connect: ConnectArgs,
    /// Output file, one JSON object per line.
    #[arg(long)]
    pub out: PathBuf,
    /// Store URL for the checkpoint: `sqlite://PATH` or `postgres://…`.
    #[arg(long, env = "SLPROD_STORE", default_value = salesloft_store::DEFAULT_STORE_URL)]
    pub store: String,
    /// Only records updated at or after this RFC 3339 time (ignored when resuming from a checkpoint).
    #[arg(long)]
    pub since: Option<String>,
    /// Start over: truncate an existing output file that has no checkpoint (or discard the checkpoint).
    #[arg(long)]
    pub overwrite: bool,
    /// Allow pages above 100 when more than 10 000 records share one `updated_at` (costs 3–30 per request).
    #[arg(long)]
    pub allow_deep_pages: bool,
}

/// Resources `slprod pull` can read.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum PullResource {
    /// `/v2/people`.
    People,
    /// `/v2/accounts`.
    Accounts,
    /// `/v2/cadences`.
    Cadences,
    /// `/v2/cadence_memberships`.
    CadenceMemberships,
    /// `/v2/notes`.
    Notes,
}

impl PullResource {
    fn name(self) -> &'static str {
        match self {
            PullResource::People => "people",
            PullResource::Accounts => "accounts",
            PullResource::Cadences => "cadences",
            PullResource::CadenceMemberships => "cadence_memberships",
            PullResource::Notes => "notes",
        }
    }
}

fn parse_secret(value: &str) -> Result<SecretString, String> {
    if value.trim().is_empty() {
        return Err("the value is empty".to_string());
    }
    Ok(SecretString::from(value.trim().to_string()))
}

/// Connection options shared by `slprod pull` and `slprod push`: the API root and one credential — an API
/// key, or OAuth (a token file kept up to date with every rotated refresh token, plus the app's client id and
/// secret).
#[derive(Debug, Clone, Args)]
pub struct ConnectArgs {
    /// SalesLoft API root (or the simulator's / the gateway's).
    #[arg(long, env = "SALESLOFT_BASE_URL", default_value = "https://api.salesloft.com/v2")]
    pub base_url: String,
    /// API key (prefer the environment variable: a flag shows in the process list).
    #[arg(long, env = "SALESLOFT_API_KEY", hide_env_values = true, value_parser = parse_secret)]
    pub api_key: Option<SecretString>,
    /// OAuth token file (JSON: access_token, refresh_token, expires_at); rotated tokens are written back to
    /// it before use, and processes sharing it refresh one at a time (an `flock` on `<file>.lock`). Takes
    /// precedence over an API key.
    #[arg(long, env = "SALESLOFT_OAUTH_TOKEN_FILE")]
    pub oauth_token_file: Option<PathBuf>,
    /// OAuth client id (with --oauth-token-file).
    #[arg(long, env = "SALESLOFT_CLIENT_ID")]
    pub oauth_client_id: Option<String>,
    /// OAuth client secret (with --oauth-token-file; prefer the environment variable).
    #[arg(long, env = "SALESLOFT_CLIENT_SECRET", hide_env_values = true, value_parser = parse_secret)]
    pub oauth_client_secret: Option<SecretString>,
    /// OAuth token endpoint (default: SalesLoft's for api.salesloft.com, else `<root>/oauth/token`).
    #[arg(long, env = "SALESLOFT_OAUTH_TOKEN_URL")]
    pub oauth_token_url: Option<String>,
}

impl ConnectArgs {
    /// A client for these options, or a message saying what is missing.
    pub fn client(&self) -> Result<Client, String> {
        use salesloft_client::transport::{FileTokenStore, OAuthConfig, Pipeline};
        let builder = Pipeline::builder(self.base_url.clone());
        let builder = if let Some(file) = &self.oauth_token_file {
            let (Some(id), Some(secret)) = (&self.oauth_client_id, &self.oauth_client_secret) else {
                return Err("--oauth-token-file needs --oauth-client-id and --oauth-client-secret \
                            (or SALESLOFT_CLIENT_ID / SALESLOFT_CLIENT_SECRET)"
                    .to_string());
            };
            let token_url = self.oauth_token_url.clone().unwrap_or_else(|| OAuthConfig::token_url_for(&self.base_url));
            let config = OAuthConfig::new(token_url, id.clone(), secret.clone());
            builder.oauth(config, std::sync::Arc::new(FileTokenStore::new(file.clone())))
        } else if let Some(key) = &self.api_key {
            builder.api_key(key.clone())
        } else {
            return Err("no credential: pass --api-key (or set SALESLOFT_API_KEY), or --oauth-token-file with \
                        --oauth-client-id and --oauth-client-secret"
                .to_string());
        };
        builder.build().map(Client::new).map_err(|e| e.to_string())
    }
}

/// The checkpoint of a pull.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct PullCheckpoint {
    /// The resource pulled (a checkpoint is refused for another one).
    pub resource: String,
    /// The keyset cursor after the last written page.
    pub cursor: KeysetCursor,
    /// Length of the output file, in bytes, that this checkpoint covers.
    pub bytes: u64,
    /// Records written so far.
    pub records: u64,
}

/// Where a pull's checkpoint lives: a named row in the store.
struct CheckpointSlot {
    store: Store,
    name: String,
}

impl CheckpointSlot {
    /// The slot of a pull of `resource` into `out` (named by the file's absolute path, so the same file pulled
    /// from another directory resumes too).
    async fn open(url: &str, resource: &str, out: &Path) -> Result<Self, String> {
        let store = salesloft_store::open(url).await.map_err(|e| format!("cannot open the store: {e}"))?;
        let path = std::path::absolute(out).map_err(|e| format!("cannot resolve {}: {e}", out.display()))?;
        Ok(Self { store, name: format!("pull:{resource}:{}", path.display()) })
    }

    async fn load(&self) -> Result<Option<PullCheckpoint>, String> {
        let value =
            self.store.checkpoints().get(&self.name).await.map_err(|e| format!("cannot read the checkpoint: {e}"))?;
        value
            .map(|value| {
                serde_json::from_value(value).map_err(|e| {
                    format!("the checkpoint {} is unreadable ({e}); pass --overwrite to start over", self.name)
                })
            })
            .transpose()
    }

    async fn save(&self, checkpoint: &PullCheckpoint) -> Result<(), String> {
        let value = serde_json::to_value(checkpoint).map_err(|e| format!("cannot encode the checkpoint: {e}"))?;
        self.store.checkpoints().put(&self.name, &value).await.map_err(|e| format!("cannot write the checkpoint: {e}"))
    }

    async fn discard(&self) -> Result<(), String> {
        self.store
            .checkpoints()
            .delete(&self.name)
            .await
            .map(drop)
            .map_err(|e| format!("cannot discard the checkpoint: {e}"))
    }
}

/// Runs `slprod pull`; returns 0 (complete), 1 (stopped part-way; rerun to resume), 2 (could not start).
pub async fn run(args: PullArgs) -> i32 {
    let client = match args.connect.client() {
        Ok(client) => client,
        Err(message) => {
            eprintln!("error: {message}");
            return EXIT_COULD_NOT_RUN;
        }
    };
    let code = match args.resource {
        PullResource::People => pull::<Person>(&client, &args).await,
        PullResource::Accounts => pull::<Account>(&client, &args).await,
        PullResource::Cadences => pull::<Cadence>(&client, &args).await,
        PullResource::CadenceMemberships => pull::<CadenceMembership>(&client, &args).await,
        PullResource::Notes => pull::<Note>(&client, &args).await,
    };
    // A rotated token set whose save failed lives only in this process: save it before exiting.
    if let Err(error) = client.pipeline().save_pending_tokens().await {
        eprintln!(
            "error: the rotated OAuth tokens could not be saved ({error}); SalesLoft has revoked the stored refresh \
             token, so the app must be authorized again"
        );
        return code.max(EXIT_INTERRUPTED);
    }
    code
}

/// Opens the output for appending, cut back to what the checkpoint covers; returns the starting state.
async fn prepare(args: &PullArgs, slot: &CheckpointSlot) -> Result<(File, PullCheckpoint), String> {
    let resource = args.resource.name().to_string();
    let existing = if args.overwrite {
        slot.discard().await?;
        None
    } else {
        slot.load().await?
    };
    match existing {
        Some(checkpoint) => {
            if checkpoint.resource != resource {
                return Err(format!(
                    "checkpoint {} belongs to a pull of {}, not {resource}",
                    slot.name, checkpoint.resource
                ));
            }
            if args.since.is_some() {
                eprintln!("note: resuming from checkpoint {}; --since is ignored", slot.name);
            }
            let file = private_file()
                .read(true)
                .write(true)
                .create(true)
                .truncate(false)
                .open(&args.out)
                .map_err(|e| format!("cannot open {}: {e}", args.out.display()))?;
            let len = file.metadata().map_err(|e| format!("cannot stat {}: {e}", args.out.display()))?.len();
            if len < checkpoint.bytes {
                return Err(format!(
                    "{} is shorter ({len} bytes) than its checkpoint says ({} bytes): it was truncated or replaced; \
                     pass --overwrite to start over",
                    args.out.display(),
                    checkpoint.bytes
                ));
            }
            // Drop records written after the last checkpoint: they will be fetched again.
            file.set_len(checkpoint.bytes).map_err(|e| format!("cannot truncate {}: {e}", args.out.display()))?;
            Ok((file, checkpoint))
        }
        None => {
            let non_empty = std::fs::metadata(&args.out).map(|m| m.len() > 0).unwrap_or(false);
            if non_empty && !args.overwrite {
                return Err(format!(
                    "{} exists and has no checkpoint; pass --overwrite to replace it",
                    args.out.display()
                ));
            }
            let cursor = match &args.since {
                Some(text) => KeysetCursor::since(
                    Timestamp::parse(text.trim())
                        .map_err(|e| format!("--since {text:?} is not an RFC 3339 time: {e}"))?,
                ),
                None => KeysetCursor::start(),
            };
            let file = private_file()
                .write(true)
                .create(true)
                .truncate(true)
                .open(&args.out)
                .map_err(|e| format!("cannot create {}: {e}", args.out.display()))?;
            Ok((file, PullCheckpoint { resource, cursor, bytes: 0, records: 0 }))
        }
    }
}

/// Options that create a file readable and writable by its owner only (mode 0600): pulled records are personal
/// data. An existing file keeps its permissions.
fn private_file() -> OpenOptions {
    let mut options = OpenOptions::new();
    #[cfg(unix)]
    {
        use std::os::unix::fs::OpenOptionsExt as _;
        options.mode(0o600);
    }
    options
}

async fn pull<T>(client: &Client, args: &PullArgs) -> i32
where
    T: Resource + Keyed + Serialize + Send,
{
    let slot = match CheckpointSlot::open(&args.store, args.resource.name(), &args.out).await {
        Ok(slot) => slot,
        Err(message) => {
            eprintln!("error: {message}");
            return EXIT_COULD_NOT_RUN;
        }
    };
    let (file, mut checkpoint) = match prepare(args, &slot).await {
        Ok(state) => state,
        Err(message) => {
            eprintln!("error: {message}");
            return EXIT_COULD_NOT_RUN;
        }
    };
    let mut out = BufWriter::with_capacity(256 * 1024, file);
    if let Err(e) = std::io::Seek::seek(&mut out, std::io::SeekFrom::Start(checkpoint.bytes)) {
        eprintln!("error: cannot seek in {}: {e}", args.out.display());
        return EXIT_COULD_NOT_RUN;
    }
    let progress = ProgressBar::with_draw_target(None, ProgressDrawTarget::stderr());
    if let Ok(style) = ProgressStyle::with_template("{spinner} {human_pos} {msg} pulled ({per_sec}, {elapsed})") {
        progress.set_style(style);
    }
    progress.set_message(args.resource.name());
    progress.set_position(checkpoint.records);

    let pages = KeysetPager::<T>::new(client.clone())
        .resume_from(checkpoint.cursor.clone())
        .allow_deep_pages(args.allow_deep_pages)
        .pages();
    let mut pages = std::pin::pin!(pages);
    let started_with = checkpoint.records;
    loop {
        let page = match pages.try_next().await {
            Ok(Some(page)) => page,
            Ok(None) => break,
            Err(error) => {
                progress.abandon();
                eprintln!(
                    "error: {error}\n{} records written in total; rerun the same command to resume from checkpoint {}",
                    checkpoint.records, slot.name
                );
                return EXIT_INTERRUPTED;
            }
        };
        for record in &page.records {
            let written = serde_json::to_writer(&mut out, record).map_err(std::io::Error::other);
            if let Err(e) = written.and_then(|()| out.write_all(b"\n")) {
                progress.abandon();
                eprintln!("error: cannot write {}: {e}", args.out.display());
                return EXIT_INTERRUPTED;
            }
        }
        // Records first (on disk), then the checkpoint that covers them.
        let position = out
            .flush()
            .and_then(|()| out.get_ref().sync_data())
            .and_then(|()| std::io::Seek::stream_position(&mut out));
        let bytes = match position {
            Ok(bytes) => bytes,
            Err(e) => {
                progress.abandon();
                eprintln!("error: cannot write {}: {e}", args.out.display());
                return EXIT_INTERRUPTED;
            }
        };
        checkpoint.records += page.records.len() as u64;
        checkpoint.bytes = bytes;
        checkpoint.cursor = page.checkpoint;
        if let Err(message) = slot.save(&checkpoint).await {
            progress.abandon();
            eprintln!("error: {message}");
            return EXIT_INTERRUPTED;
        }
        progress.set_position(checkpoint.records);
    }
    progress.finish_and_clear();
    // Save even when nothing new arrived, so the file and its checkpoint always exist together.
    if let Err(message) = slot.save(&checkpoint).await {
        eprintln!("error: {message}");
        return EXIT_INTERRUPTED;
    }
    eprintln!(
        "pulled {} new {} ({} in {}); checkpoint {}",
        checkpoint.records - started_with,
        args.resource.name(),
        checkpoint.records,
        args.out.display(),
        slot.name
    );
    EXIT_OK
}
