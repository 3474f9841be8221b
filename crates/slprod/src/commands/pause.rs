//! `slprod pause` / `slprod resume` / `slprod paused`: the store's pause switch. While it is on, every process
//! and replica sharing the store stops sending mutations to SalesLoft (`slprod push` refuses to start); reads go
//! on (DESIGN.md "Pause switch", checklist "Rollback Procedure: pause any running cadence syncs").

use clap::Args;

/// Arguments of `slprod pause`.
#[derive(Debug, Args)]
pub struct PauseArgs {
    /// Store URL: `sqlite://PATH` or `postgres://…`.
    #[arg(long, env = "SLPROD_STORE", default_value = salesloft_store::DEFAULT_STORE_URL)]
    pub store: String,
    /// Why (shown to whoever is refused).
    #[arg(long, default_value = "paused by an operator")]
    pub reason: String,
    /// Who (default: $USER).
    #[arg(long, env = "USER", default_value = "operator")]
    pub by: String,
}

/// Arguments of `slprod resume` and `slprod paused`.
#[derive(Debug, Args)]
pub struct StoreArgs {
    /// Store URL: `sqlite://PATH` or `postgres://…`.
    #[arg(long, env = "SLPROD_STORE", default_value = salesloft_store::DEFAULT_STORE_URL)]
    pub store: String,
}

/// Turns the switch on; 0 done, 2 could not.
pub async fn pause(args: PauseArgs) -> i32 {
    set(&args.store, true, &args.by, &args.reason).await
}

/// Turns the switch off; 0 done, 2 could not.
pub async fn resume(args: StoreArgs) -> i32 {
    set(&args.store, false, "", "").await
}

/// Prints the switch; 0 not paused, 1 paused, 2 could not read it.
pub async fn show(args: StoreArgs) -> i32 {
    let store = match salesloft_store::open(&args.store).await {
        Ok(store) => store,
        Err(e) => {
            eprintln!("error: cannot open the store: {e}");
            return 2;
        }
    };
    let state = store.pause().paused().await;
    store.close().await;
    match state {
        Ok(None) => {
            println!("not paused");
            0
        }
        Ok(Some(info)) => {
            println!("paused since {} by {}: {}", info.since, info.by, info.reason);
            1
        }
        Err(e) => {
            eprintln!("error: cannot read the pause switch: {e}");
            2
        }
    }
}

async fn set(url: &str, paused: bool, by: &str, reason: &str) -> i32 {
    let store = match salesloft_store::open(url).await {
        Ok(store) => store,
        Err(e) => {
            eprintln!("error: cannot open the store: {e}");
            return 2;
        }
    };
    let result = store.pause().set_paused(paused, by, reason).await;
    store.close().await;
    match result {
        Ok(()) => {
            println!(
                "{}",
                if paused { "paused: mutations stop in every process sharing this store" } else { "resumed" }
            );
            0
        }
        Err(e) => {
            eprintln!("error: cannot set the pause switch: {e}");
            2
        }
    }
}
