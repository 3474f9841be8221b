//! `slprod pull`: stream every record of a resource to a JSON-lines file with a keyset cursor, checkpointing
//! after each page so an interrupted pull resumes without duplicates or gaps.
//!
//! Order of writes per page: append the records, flush, then replace the checkpoint sidecar
//! (`FILE.jsonl.checkpoint`: cursor + the file length it covers) atomically. On resume the file is cut back to
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
use salesloft_client::models::{Account, Cadence, CadenceMembership, Keyed, Person, Timestamp};
use salesloft_client::{Client, KeysetCursor, KeysetPager};
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
    /// Output file, one JSON object per line. Its checkpoint is kept next to it as `<FILE>.checkpoint`.
    #[arg(long)]
    pub out: PathBuf,
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
}

impl PullResource {
    fn name(self) -> &'static str {
        match self {
            PullResource::People => "people",
            PullResource::Accounts => "accounts",
            PullResource::Cadences => "cadences",
            PullResource::CadenceMemberships => "cadence_memberships",
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
    /// it before use. Takes precedence over an API key.
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

/// The sidecar checkpoint of a pull.
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

/// The checkpoint path for an output file: `<out>.checkpoint`.
pub fn checkpoint_path(out: &Path) -> PathBuf {
    let mut name = out.as_os_str().to_os_string();
    name.push(".checkpoint");
    PathBuf::from(name)
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
    match args.resource {
        PullResource::People => pull::<Person>(&client, &args).await,
        PullResource::Accounts => pull::<Account>(&client, &args).await,
        PullResource::Cadences => pull::<Cadence>(&client, &args).await,
        PullResource::CadenceMemberships => pull::<CadenceMembership>(&client, &args).await,
    }
}

/// Opens the output for appending, cut back to what the checkpoint covers; returns the starting state.
fn prepare(args: &PullArgs) -> Result<(File, PullCheckpoint), String> {
    let resource = args.resource.name().to_string();
    let sidecar = checkpoint_path(&args.out);
    let existing = if args.overwrite {
        None
    } else {
        match std::fs::read(&sidecar) {
            Ok(bytes) => Some(serde_json::from_slice::<PullCheckpoint>(&bytes).map_err(|e| {
                format!("checkpoint {} is unreadable ({e}); pass --overwrite to start over", sidecar.display())
            })?),
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => None,
            Err(e) => return Err(format!("cannot read checkpoint {}: {e}", sidecar.display())),
        }
    };
    match existing {
        Some(checkpoint) => {
            if checkpoint.resource != resource {
                return Err(format!(
                    "checkpoint {} belongs to a pull of {}, not {resource}",
                    sidecar.display(),
                    checkpoint.resource
                ));
            }
            if args.since.is_some() {
                eprintln!("note: resuming from {}; --since is ignored", sidecar.display());
            }
            let file = OpenOptions::new()
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
            let file = File::create(&args.out).map_err(|e| format!("cannot create {}: {e}", args.out.display()))?;
            Ok((file, PullCheckpoint { resource, cursor, bytes: 0, records: 0 }))
        }
    }
}

/// Replaces the checkpoint atomically (write a temporary file, then rename over the old one).
fn save_checkpoint(path: &Path, checkpoint: &PullCheckpoint) -> std::io::Result<()> {
    let mut tmp = path.as_os_str().to_os_string();
    tmp.push(".tmp");
    let tmp = PathBuf::from(tmp);
    let body = serde_json::to_vec(checkpoint).map_err(std::io::Error::other)?;
    std::fs::write(&tmp, body)?;
    std::fs::rename(&tmp, path)
}

async fn pull<T>(client: &Client, args: &PullArgs) -> i32
where
    T: Resource + Keyed + Serialize + Send,
{
    let (file, mut checkpoint) = match prepare(args) {
        Ok(state) => state,
        Err(message) => {
            eprintln!("error: {message}");
            return EXIT_COULD_NOT_RUN;
        }
    };
    let sidecar = checkpoint_path(&args.out);
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
                    "error: {error}\n{} records written in total; rerun the same command to resume from {}",
                    checkpoint.records,
                    sidecar.display()
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
        // Records first, then the checkpoint that covers them.
        let position = out.flush().and_then(|()| std::io::Seek::stream_position(&mut out));
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
        if let Err(e) = save_checkpoint(&sidecar, &checkpoint) {
            progress.abandon();
            eprintln!("error: cannot write checkpoint {}: {e}", sidecar.display());
            return EXIT_INTERRUPTED;
        }
        progress.set_position(checkpoint.records);
    }
    progress.finish_and_clear();
    // Save even when nothing new arrived, so the file and its checkpoint always exist together.
    if let Err(e) = save_checkpoint(&sidecar, &checkpoint) {
        eprintln!("error: cannot write checkpoint {}: {e}", sidecar.display());
        return EXIT_INTERRUPTED;
    }
    eprintln!(
        "pulled {} new {} ({} in {}); checkpoint {}",
        checkpoint.records - started_with,
        args.resource.name(),
        checkpoint.records,
        args.out.display(),
        sidecar.display()
    );
    EXIT_OK
}
