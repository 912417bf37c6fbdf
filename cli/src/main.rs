//! `mapc`, the Mapwright compiler's command line: `check`, `fmt`, `run`,
//! `test` and `explain`.
//!
//! The CLI owns everything the library must not do: reading files, finding
//! the project root, choosing colours, exit codes. Exit codes: 0 clean, 1 a
//! file has errors, 2 the command itself was wrong (usage, missing paths).

mod check;
mod fmt;
mod golden;
mod prepare;
mod run;

use clap::{Parser, Subcommand, ValueEnum};
use std::path::PathBuf;
use std::process::ExitCode;

/// The allocator: mimalloc unless built without the default `mimalloc`
/// feature (as for valgrind's memcheck). Decoding and mapping an event
/// makes dozens of small allocations; mimalloc serves them in far fewer
/// instructions than the system's malloc (BENCHMARKS.md).
#[cfg(feature = "mimalloc")]
#[global_allocator]
static ALLOCATOR: mimalloc::MiMalloc = mimalloc::MiMalloc;

/// The Mapwright compiler.
#[derive(Parser, Debug)]
#[command(name = "mapc", version, about = "The Mapwright compiler: check, run and test mappings", long_about = None)]
struct Cli {
    /// Use the standard library in this folder instead of the embedded one
    /// (for developing the standard library itself).
    #[arg(long, global = true, value_name = "DIR")]
    stdlib: Option<PathBuf>,

    /// When to colour output.
    #[arg(long, global = true, value_enum, default_value_t = ColorWhen::Auto)]
    color: ColorWhen,

    #[command(subcommand)]
    command: Command,
}

/// When to colour terminal output.
#[derive(Clone, Copy, Debug, ValueEnum, PartialEq, Eq)]
pub enum ColorWhen {
    /// On a terminal, unless NO_COLOR is set.
    Auto,
    /// Always.
    Always,
    /// Never.
    Never,
}

/// How to print diagnostics.
#[derive(Clone, Copy, Debug, ValueEnum, PartialEq, Eq)]
pub enum OutputFormat {
    /// For people: source excerpts, labels and help, on stderr.
    Human,
    /// One JSON object per line on stdout, for CI and editors.
    Json,
}

/// Which engine runs mappings.
#[derive(Clone, Copy, Debug, ValueEnum, PartialEq, Eq)]
enum EngineArg {
    /// Native code compiled with Cranelift.
    Jit,
    /// The reference interpreter.
    Interp,
}

impl From<EngineArg> for mapwright_compiler::program::Engine {
    fn from(engine: EngineArg) -> Self {
        match engine {
            EngineArg::Jit => mapwright_compiler::program::Engine::Jit,
            EngineArg::Interp => mapwright_compiler::program::Engine::Interp,
        }
    }
}

#[derive(Subcommand, Debug)]
#[allow(clippy::large_enum_variant)] // parsed once per process; clap fills the variants in place
enum Command {
    /// Parse and check `.map` and `.schema` files (folders are searched).
    Check {
        /// Files and folders to check.
        #[arg(required = true)]
        paths: Vec<PathBuf>,
        /// Output format.
        #[arg(long, value_enum, default_value_t = OutputFormat::Human)]
        format: OutputFormat,
        /// Treat warnings as errors (exit 1).
        #[arg(long)]
        deny_warnings: bool,
    },
    /// Map canonical events (JSON Lines, one per line) to ERP payloads, one
    /// output line per mapped event; per-record errors go to stderr.
    Run {
        /// The `.map` file.
        file: PathBuf,
        /// The mapping to run (needed when the file has several).
        #[arg(long, value_name = "NAME")]
        mapping: Option<String>,
        /// The tenant's params (TOML: `name = value`).
        #[arg(long, value_name = "P.toml")]
        params: Option<PathBuf>,
        /// The tenant's external tables (TOML: `[table]` then `"key" = value`).
        #[arg(long, value_name = "T.toml")]
        tables: Option<PathBuf>,
        /// The events; `-` (the default) is stdin.
        #[arg(long, value_name = "FILE")]
        input: Option<PathBuf>,
        /// Where payloads go; `-` (the default) is stdout.
        #[arg(long, value_name = "FILE")]
        output: Option<PathBuf>,
        /// Print errors as JSON lines (`line`, `stage`, `source`, `target`,
        /// `message`) instead of text.
        #[arg(long)]
        errors_json: bool,
        /// Reject input fields the schema does not declare.
        #[arg(long)]
        strict: bool,
        /// The largest event accepted, in bytes; longer lines are reported
        /// and skipped.
        #[arg(long, value_name = "BYTES", default_value_t = 64 * 1024 * 1024)]
        max_record_bytes: usize,
        /// Write one file per event into this folder (XML indented with its
        /// declaration, CSV with its header) instead of one line each.
        #[arg(long, value_name = "DIR", conflicts_with = "output")]
        output_dir: Option<PathBuf>,
        /// File names in --output-dir: `{event.PATH}` is a field of the
        /// event, `{line}` the input line; default `{event.id}.EXT`.
        #[arg(long, value_name = "TEMPLATE", requires = "output_dir")]
        name_template: Option<String>,
        /// Wrap each XML message in a SOAP envelope (1.1 or 1.2), to see
        /// what a SOAP endpoint receives; the runtime adds the headers.
        #[arg(long, value_name = "VERSION", value_parser = ["1.1", "1.2"])]
        soap_envelope: Option<String>,
        /// The engine: native code compiled with Cranelift, or the
        /// reference interpreter. Both give the same output and errors.
        #[arg(long, value_enum, default_value_t = EngineArg::Jit)]
        engine: EngineArg,
        /// Threads mapping events; the output keeps the input's order.
        #[arg(long, value_name = "N", default_value_t = 1, value_parser = clap::value_parser!(u16).range(1..=256))]
        jobs: u16,
    },
    /// Run the golden cases beside each mapping (`X.map` + `X.tests/<case>/`).
    Test {
        /// Files and folders to search (default: the current folder).
        paths: Vec<PathBuf>,
        /// Write the current results as the new expectations.
        #[arg(long)]
        bless: bool,
        /// The engine that runs the cases.
        #[arg(long, value_enum, default_value_t = EngineArg::Jit)]
        engine: EngineArg,
    },
    /// Write `.map` and `.schema` files in the canonical layout (folders
    /// are searched; `-` formats stdin to stdout).
    Fmt {
        /// Files and folders to format.
        #[arg(required = true)]
        paths: Vec<PathBuf>,
        /// Change nothing; list the files that are not formatted and exit 1
        /// if there are any.
        #[arg(long)]
        check: bool,
    },
    /// List the input fields a mapping reads, as JSON paths (a trailing
    /// `.*` reads a record whole). Fields not listed are still checked
    /// against the schema on every event, but never used.
    Reads {
        /// The `.map` file.
        file: PathBuf,
        /// The mapping (needed when the file has several).
        #[arg(long, value_name = "NAME")]
        mapping: Option<String>,
    },
    /// Print the long explanation of a diagnostic code, with examples.
    Explain {
        /// The code, e.g. E0101.
        #[arg(required_unless_present = "list")]
        code: Option<String>,
        /// List every code with its title.
        #[arg(long)]
        list: bool,
    },
}

fn main() -> ExitCode {
    let cli = Cli::parse();
    // Deeply nested input is bounded by the parser, but checking still
    // recurses; a generous stack keeps the limits, not the stack, in charge.
    let worker = std::thread::Builder::new()
        .name("mapc".to_owned())
        .stack_size(mapwright_compiler::REQUIRED_STACK)
        .spawn(move || run(cli));
    match worker.map(|handle| handle.join()) {
        Ok(Ok(code)) => code,
        Ok(Err(_)) => {
            eprintln!("error: mapc crashed; this is a bug, please report it with the input that caused it");
            ExitCode::from(101)
        }
        Err(error) => {
            eprintln!("error: could not start: {error}");
            ExitCode::from(2)
        }
    }
}

fn run(cli: Cli) -> ExitCode {
    match cli.command {
        Command::Check {
            paths,
            format,
            deny_warnings,
        } => check::run(&paths, cli.stdlib.as_deref(), format, cli.color, deny_warnings),
        Command::Run {
            file,
            mapping,
            params,
            tables,
            input,
            output,
            errors_json,
            strict,
            max_record_bytes,
            output_dir,
            name_template,
            soap_envelope,
            engine,
            jobs,
        } => run::run(&run::RunArgs {
            file,
            mapping,
            params,
            tables,
            input,
            output,
            errors_json,
            strict,
            max_record_bytes,
            output_dir,
            name_template,
            soap_envelope,
            stdlib: cli.stdlib,
            color: cli.color,
            engine: engine.into(),
            jobs: usize::from(jobs),
        }),
        Command::Test { paths, bless, engine } => {
            let paths = if paths.is_empty() {
                vec![PathBuf::from(".")]
            } else {
                paths
            };
            golden::run(&paths, bless, engine.into(), cli.stdlib.as_deref(), cli.color)
        }
        Command::Fmt { paths, check } => fmt::run(&paths, check),
        Command::Reads { file, mapping } => {
            match prepare::program(&file, mapping.as_deref(), cli.stdlib.as_deref(), cli.color) {
                Ok(program) => {
                    for path in program.input.demanded_paths(&program.reads) {
                        println!("{path}");
                    }
                    ExitCode::SUCCESS
                }
                Err(unprepared) => unprepared.exit(),
            }
        }
        Command::Explain { code, list } => explain(code.as_deref(), list),
    }
}

fn explain(code: Option<&str>, list: bool) -> ExitCode {
    use mapwright_compiler::diagnostics::Code;
    if list {
        for code in Code::ALL {
            println!("{}  {}", code.as_str(), code.title());
        }
        return ExitCode::SUCCESS;
    }
    let Some(text) = code else {
        return ExitCode::from(2);
    };
    match Code::parse(text) {
        Some(code) => {
            println!("{}: {}\n", code.as_str(), code.title());
            print!("{}", code.explanation());
            ExitCode::SUCCESS
        }
        None => {
            eprintln!("error: `{text}` is not a Mapwright diagnostic code");
            eprintln!("       `mapc explain --list` lists them all");
            ExitCode::from(2)
        }
    }
}
