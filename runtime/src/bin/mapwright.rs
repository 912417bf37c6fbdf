//! `mapwright`, the runtime's command line. Today: `check-config DIR`
//! (validate a tenant configuration folder and its mappings) and `token`
//! (make an intake token and the hash its tenant file holds).

use clap::{Parser, Subcommand};
use std::path::PathBuf;
use std::process::ExitCode;

#[derive(Parser)]
#[command(name = "mapwright", version, about = "The Mapwright runtime")]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand)]
enum Command {
    /// Check a folder of tenant files and every mapping they route to.
    CheckConfig {
        /// The folder of `*.toml` tenant files.
        dir: PathBuf,
    },
    /// Print a new random intake token and the `token_sha256` for its
    /// tenant file (give the token to the tenant; keep only the hash).
    Token,
}

fn main() -> ExitCode {
    let cli = Cli::parse();
    match cli.command {
        Command::CheckConfig { dir } => match mapwright_runtime::config::load_dir(&dir, None) {
            Ok(config) => {
                for tenant in config.tenants.values() {
                    println!(
                        "ok  tenant {} ({}): {} route{}, {} endpoint{}",
                        tenant.id,
                        tenant.name,
                        tenant.routes.len(),
                        if tenant.routes.len() == 1 { "" } else { "s" },
                        tenant.endpoints.len(),
                        if tenant.endpoints.len() == 1 { "" } else { "s" }
                    );
                }
                ExitCode::SUCCESS
            }
            Err(errors) => {
                for error in &errors {
                    eprintln!("error: {error}");
                }
                eprintln!(
                    "{} problem{} in {}",
                    errors.len(),
                    if errors.len() == 1 { "" } else { "s" },
                    dir.display()
                );
                ExitCode::from(1)
            }
        },
        Command::Token => {
            let token = format!("mw_{}{}", uuid::Uuid::new_v4().simple(), uuid::Uuid::new_v4().simple());
            println!("token        {token}");
            println!("token_sha256 = \"{}\"", mapwright_runtime::config::token_hash(&token));
            ExitCode::SUCCESS
        }
    }
}
