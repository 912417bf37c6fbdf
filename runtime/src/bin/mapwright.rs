//! `mapwright`, the runtime's command line: `serve` (run the intake and
//! the dispatcher for a configuration folder), `demo` (everything on one
//! machine against simulated ERPs), `check-config`, `dlq` (dead letters:
//! list, show, replay) and `token`.

use clap::{Parser, Subcommand};
use std::net::SocketAddr;
use std::path::PathBuf;
use std::process::ExitCode;

/// The allocator: mimalloc unless built without the default `mimalloc`
/// feature (as for valgrind's memcheck). Decoding and mapping an event
/// makes dozens of small allocations; mimalloc serves them in far fewer
/// instructions than the system's malloc (BENCHMARKS.md).
#[cfg(feature = "mimalloc")]
#[global_allocator]
static ALLOCATOR: mimalloc::MiMalloc = mimalloc::MiMalloc;

#[derive(Parser)]
#[command(name = "mapwright", version, about = "The Mapwright runtime")]
struct Cli {
    /// Log as JSON lines (for log collectors) instead of text.
    #[arg(long, global = true)]
    log_json: bool,
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand)]
enum Command {
    /// Run the intake API and the dispatcher for the tenants in DIR.
    Serve {
        /// The folder of `*.toml` tenant files (reloaded when they change).
        #[arg(long, value_name = "DIR")]
        config: PathBuf,
        /// The durable store (SQLite file).
        #[arg(long, value_name = "FILE", default_value = "mapwright.db")]
        store: PathBuf,
        /// Where the intake listens.
        #[arg(long, default_value = "127.0.0.1:8080")]
        listen: SocketAddr,
    },
    /// Run the runtime with example tenants against simulated ERPs, send
    /// example events, and print what happened.
    Demo,
    /// Check a folder of tenant files and every mapping they route to.
    CheckConfig {
        /// The folder of `*.toml` tenant files.
        dir: PathBuf,
    },
    /// Dead letters: list them, or put them back in the queue.
    Dlq {
        /// The durable store (SQLite file).
        #[arg(long, value_name = "FILE", default_value = "mapwright.db")]
        store: PathBuf,
        #[command(subcommand)]
        action: DlqAction,
    },
    /// Print a new random intake token and the `token_sha256` for its
    /// tenant file (give the token to the tenant; keep only the hash).
    Token,
}

#[derive(Subcommand)]
enum DlqAction {
    /// List dead letters (of one tenant, or all).
    List {
        /// Only this tenant's.
        #[arg(long)]
        tenant: Option<String>,
    },
    /// Show one dead letter: the reason, the event's data, every attempt.
    Show {
        /// The delivery id (from `list`).
        id: i64,
    },
    /// Put dead letters back in the queue; the current mapping runs again.
    Replay {
        /// Only this tenant's.
        #[arg(long)]
        tenant: Option<String>,
        /// Only this delivery.
        #[arg(long)]
        id: Option<i64>,
        /// Every dead letter (needed when neither --tenant nor --id is given).
        #[arg(long)]
        all: bool,
    },
}

fn main() -> ExitCode {
    let cli = Cli::parse();
    let filter = tracing_subscriber::EnvFilter::try_from_default_env().unwrap_or_else(|_| {
        tracing_subscriber::EnvFilter::new(if matches!(cli.command, Command::Demo) {
            "warn"
        } else {
            "info"
        })
    });
    let builder = tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_writer(std::io::stderr);
    if cli.log_json {
        builder.json().init();
    } else {
        builder.init();
    }
    let runtime = match tokio::runtime::Builder::new_multi_thread().enable_all().build() {
        Ok(runtime) => runtime,
        Err(error) => {
            eprintln!("error: cannot start the async runtime: {error}");
            return ExitCode::from(2);
        }
    };
    runtime.block_on(run(cli.command))
}

async fn run(command: Command) -> ExitCode {
    match command {
        Command::Serve { config, store, listen } => {
            match mapwright_runtime::server::start(&config, &store, listen, true).await {
                Ok(running) => {
                    println!(
                        "mapwright serving on http://{} (store {})",
                        running.address,
                        store.display()
                    );
                    let _ = tokio::signal::ctrl_c().await;
                    running.stop.notify_waiters();
                    ExitCode::SUCCESS
                }
                Err(message) => {
                    eprintln!("error: {message}");
                    ExitCode::from(1)
                }
            }
        }
        Command::Demo => {
            let Some(examples) = mapwright_runtime::demo::find_examples() else {
                eprintln!("error: run the demo from the repository (its examples/ folder is needed)");
                return ExitCode::from(2);
            };
            match mapwright_runtime::demo::run(&examples).await {
                Ok(()) => ExitCode::SUCCESS,
                Err(message) => {
                    eprintln!("error: {message}");
                    ExitCode::from(1)
                }
            }
        }
        Command::CheckConfig { dir } => match mapwright_runtime::config::load_dir(&dir, None) {
            Ok(config) => {
                for tenant in config.tenants.values() {
                    println!(
                        "ok  tenant {} ({}): {} route(s), {} endpoint(s)",
                        tenant.id,
                        tenant.name,
                        tenant.routes.len(),
                        tenant.endpoints.len()
                    );
                }
                ExitCode::SUCCESS
            }
            Err(errors) => {
                for error in &errors {
                    eprintln!("error: {error}");
                }
                eprintln!("{} problem(s) in {}", errors.len(), dir.display());
                ExitCode::from(1)
            }
        },
        Command::Dlq { store, action } => {
            if !store.is_file() {
                eprintln!("error: no store at {}", store.display());
                return ExitCode::from(2);
            }
            let store = match mapwright_runtime::store::Store::open(&store) {
                Ok(store) => store,
                Err(error) => {
                    eprintln!("error: {error}");
                    return ExitCode::from(2);
                }
            };
            match action {
                DlqAction::List { tenant } => match store.dead_letters(tenant.as_deref()).await {
                    Ok(letters) => {
                        for letter in &letters {
                            println!(
                                "{}\t{}\t{}\tevent {}\t{} attempt(s)\t{}\t{}",
                                letter.delivery_id,
                                letter.tenant,
                                letter.endpoint,
                                letter.event_id,
                                letter.attempts,
                                letter.at,
                                letter.reason
                            );
                        }
                        eprintln!("{} dead letter(s)", letters.len());
                        ExitCode::SUCCESS
                    }
                    Err(error) => {
                        eprintln!("error: {error}");
                        ExitCode::from(1)
                    }
                },
                DlqAction::Show { id } => match store.dead_letter(id).await {
                    Ok(Some(letter)) => {
                        println!("{}", serde_json::to_string_pretty(&letter).unwrap_or_default());
                        ExitCode::SUCCESS
                    }
                    Ok(None) => {
                        eprintln!("error: no dead letter {id}");
                        ExitCode::from(1)
                    }
                    Err(error) => {
                        eprintln!("error: {error}");
                        ExitCode::from(1)
                    }
                },
                DlqAction::Replay { tenant, id, all } => {
                    if tenant.is_none() && id.is_none() && !all {
                        eprintln!("error: say which: --tenant T, --id N, or --all");
                        return ExitCode::from(2);
                    }
                    match store.replay(tenant.as_deref(), id).await {
                        Ok(n) => {
                            println!("{n} dead letter(s) back in the queue");
                            ExitCode::SUCCESS
                        }
                        Err(error) => {
                            eprintln!("error: {error}");
                            ExitCode::from(1)
                        }
                    }
                }
            }
        }
        Command::Token => {
            let token = format!("mw_{}{}", uuid::Uuid::new_v4().simple(), uuid::Uuid::new_v4().simple());
            println!("token        {token}");
            println!("token_sha256 = \"{}\"", mapwright_runtime::config::token_hash(&token));
            ExitCode::SUCCESS
        }
    }
}
