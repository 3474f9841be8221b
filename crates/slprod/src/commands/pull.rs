//! `slprod pull`: stream every record of a resource to a JSON-lines file, checkpointed in the store after each
//! page so an interrupted pull resumes without duplicates or gaps (the durable loop lives in
//! [`salesloft_sync::pull`]). `--out -` streams to standard output instead, without a checkpoint.

use std::path::{Path, PathBuf};

use clap::{Args, ValueEnum};
use salesloft_client::Client;
use salesloft_client::api::Resource;
use salesloft_client::models::{Account, Cadence, CadenceMembership, Keyed, Note, Person, Timestamp};
use salesloft_sync::{PullOptions, PullSummary};
use serde::Serialize;

use super::Context;
use crate::connect::{ConnectArgs, StoreArgs};
use crate::error::{CliError, Outcome, Status};

/// Arguments of `slprod pull`.
#[derive(Debug, Args)]
pub struct PullArgs {
    /// What to pull.
    #[arg(value_enum)]
    pub resource: PullResource,
    /// Where and how to connect.
    #[command(flatten)]
    pub connect: ConnectArgs,
    /// Output file, one JSON object per line; `-` writes to standard output (not checkpointed).
    #[arg(long)]
    pub out: PathBuf,
    /// The store that keeps the checkpoint.
    #[command(flatten)]
    pub store: StoreArgs,
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

/// Runs `slprod pull`: done (0), stopped part-way and resumable (1), could not start (2).
pub async fn run(args: PullArgs, context: &Context) -> Result<Outcome, CliError> {
    let client = args.connect.client(&context.config)?;
    let result = match args.resource {
        PullResource::People => pull::<Person>(&client, &args, context).await,
        PullResource::Accounts => pull::<Account>(&client, &args, context).await,
        PullResource::Cadences => pull::<Cadence>(&client, &args, context).await,
        PullResource::CadenceMemberships => pull::<CadenceMembership>(&client, &args, context).await,
        PullResource::Notes => pull::<Note>(&client, &args, context).await,
    };
    crate::connect::save_pending_tokens(&client, result).await
}

async fn pull<T>(client: &Client, args: &PullArgs, context: &Context) -> Result<Outcome, CliError>
where
    T: Resource + Keyed + Serialize + Send,
{
    let options = PullOptions {
        since: args
            .since
            .as_deref()
            .map(|text| {
                Timestamp::parse(text.trim())
                    .map_err(|e| CliError::Input(format!("--since {text:?} is not an RFC 3339 time: {e}")))
            })
            .transpose()?,
        overwrite: args.overwrite,
        allow_deep_pages: args.allow_deep_pages,
    };
    let resource = args.resource.name();
    let progress = context.ui.progress(None, "{spinner} {human_pos} {msg} pulled ({per_sec}, {elapsed})");
    progress.set_message(resource);
    let on_page = |records| progress.set_position(records);
    let to_stdout = args.out == Path::new("-");
    let summary = if to_stdout {
        let mut stdout = std::io::stdout().lock();
        salesloft_sync::pull_to_writer::<T, _>(client, &mut stdout, &options, on_page).await
    } else {
        let store = args.store.open(&context.config).await?;
        let summary =
            salesloft_sync::pull_to_file::<T>(client, store.clone(), resource, &args.out, &options, on_page).await;
        store.close().await;
        summary
    };
    match &summary {
        Ok(_) => progress.finish_and_clear(),
        Err(_) => progress.abandon(),
    }
    let summary = summary?;
    Ok(outcome(&summary, resource, &args.out))
}

fn outcome(summary: &PullSummary, resource: &str, out: &Path) -> Outcome {
    let target = if out == Path::new("-") { "standard output".to_string() } else { out.display().to_string() };
    let mut text = format!("pulled {} new {resource} ({} in {target})", summary.new_records, summary.total_records);
    if let Some(name) = &summary.checkpoint {
        text.push_str(&format!("; checkpoint {name}"));
    }
    text.push('\n');
    let json = serde_json::json!({
        "resource": resource,
        "out": target,
        "new_records": summary.new_records,
        "total_records": summary.total_records,
        "checkpoint": summary.checkpoint,
        "resumed": summary.resumed,
    });
    // The summary goes to standard error: standard output may carry the records.
    Outcome::new(Status::Done, json, text).on_stderr()
}
