//! `mapc run`: map a stream of canonical events (JSON Lines) to ERP
//! payloads, one output line per mapped event, with per-record errors.
//!
//! Records are read one line at a time with a cap on a line's size, so
//! memory stays bounded whatever the input's size; a line over the cap is
//! reported and skipped. A failed record never stops the run.

use crate::ColorWhen;
use crate::prepare;
use indicatif::{ProgressBar, ProgressDrawTarget, ProgressStyle};
use mapwright_compiler::program::{Engine, Evaluator, Framing, Program};
use mapwright_compiler::resolve::annotations::WireFormat;
use mapwright_compiler::wire::MappingError;
use mapwright_compiler::wire::json_in::DecodeOptions;
use std::collections::HashMap;
use std::io::{BufRead, BufReader, BufWriter, IsTerminal, Read, Write};
use std::path::{Path, PathBuf};
use std::process::ExitCode;
use std::sync::mpsc;

/// What `mapc run` was asked to do.
pub struct RunArgs {
    /// The `.map` file.
    pub file: PathBuf,
    /// The mapping (the file's only one when absent).
    pub mapping: Option<String>,
    /// The tenant's params.
    pub params: Option<PathBuf>,
    /// The tenant's external tables.
    pub tables: Option<PathBuf>,
    /// Input file, `-` or absent for stdin.
    pub input: Option<PathBuf>,
    /// Output file, `-` or absent for stdout.
    pub output: Option<PathBuf>,
    /// Errors as JSON lines on stderr.
    pub errors_json: bool,
    /// Reject unknown input fields.
    pub strict: bool,
    /// The largest record (line) accepted, in bytes.
    pub max_record_bytes: usize,
    /// One file per event in this folder.
    pub output_dir: Option<PathBuf>,
    /// File names in `output_dir`.
    pub name_template: Option<String>,
    /// Wrap XML in a SOAP 1.1 or 1.2 envelope.
    pub soap_envelope: Option<String>,
    /// Alternative standard library folder.
    pub stdlib: Option<PathBuf>,
    /// Colours.
    pub color: ColorWhen,
    /// Which engine maps the events.
    pub engine: Engine,
    /// Threads mapping events (output keeps the input's order).
    pub jobs: usize,
}

/// Records read and mapped together before their results are written in
/// order, per thread.
const BATCH_PER_JOB: usize = 256;

/// The largest line or payload buffer kept from one batch to the next.
const KEPT_BUFFER: usize = 256 * 1024;

/// One line of the input, as read.
enum Line {
    /// A record (trimmed).
    Record(Vec<u8>),
    /// A line over `--max-record-bytes`.
    TooLong,
    /// A blank line.
    Blank,
}

fn is_stdio(path: Option<&Path>) -> bool {
    path.is_none_or(|p| p.as_os_str() == "-")
}

/// Runs `mapc run`.
pub fn run(args: &RunArgs) -> ExitCode {
    let program = match prepare::program(&args.file, args.mapping.as_deref(), args.stdlib.as_deref(), args.color) {
        Ok(program) => program,
        Err(unprepared) => return unprepared.exit(),
    };
    let params = match prepare::params(&program, args.params.as_deref()) {
        Ok(params) => params,
        Err(unprepared) => return unprepared.exit(),
    };
    let tables = match prepare::tables(&program, args.tables.as_deref()) {
        Ok(tables) => tables,
        Err(unprepared) => return unprepared.exit(),
    };
    let evaluator = match program.evaluator(args.engine, &params, tables) {
        Ok(evaluator) => evaluator,
        Err(error) => return prepare::Unprepared(error.to_string()).exit(),
    };
    let jobs = args.jobs.max(1);

    let (reader, size): (Box<dyn Read>, Option<u64>) = if is_stdio(args.input.as_deref()) {
        (Box::new(std::io::stdin().lock()), None)
    } else {
        let path = args.input.as_deref().unwrap_or(Path::new("-"));
        match std::fs::File::open(path) {
            Ok(file) => {
                let size = file.metadata().ok().map(|m| m.len());
                (Box::new(file), size)
            }
            Err(error) => return prepare::Unprepared(format!("cannot read {}: {error}", path.display())).exit(),
        }
    };
    let writer: Box<dyn Write> = if is_stdio(args.output.as_deref()) {
        Box::new(std::io::stdout().lock())
    } else {
        let path = args.output.as_deref().unwrap_or(Path::new("-"));
        match std::fs::File::create(path) {
            Ok(file) => Box::new(file),
            Err(error) => return prepare::Unprepared(format!("cannot write {}: {error}", path.display())).exit(),
        }
    };
    let mut reader = BufReader::with_capacity(256 * 1024, reader);
    let mut writer = BufWriter::with_capacity(256 * 1024, writer);

    let progress = if std::io::stderr().is_terminal() {
        let bar = match size {
            Some(size) => ProgressBar::new(size).with_style(
                ProgressStyle::with_template("{spinner} {bytes}/{total_bytes} {wide_bar} {msg} ({eta})")
                    .unwrap_or_else(|_| ProgressStyle::default_bar()),
            ),
            None => ProgressBar::new_spinner(),
        };
        bar.set_draw_target(ProgressDrawTarget::stderr_with_hz(4));
        bar
    } else {
        ProgressBar::hidden()
    };

    let format = program.output_format();
    if args.soap_envelope.is_some() && format != WireFormat::Xml {
        return prepare::Unprepared("--soap-envelope applies to XML targets only".to_owned()).exit();
    }
    let extension = match format {
        WireFormat::Json => "json",
        WireFormat::Xml => "xml",
        WireFormat::Csv => "csv",
    };
    let template = args
        .name_template
        .clone()
        .unwrap_or_else(|| format!("{{event.id}}.{extension}"));
    if let Some(dir) = &args.output_dir
        && let Err(error) = std::fs::create_dir_all(dir)
    {
        return prepare::Unprepared(format!("cannot create {}: {error}", dir.display())).exit();
    }
    let mut written_names: HashMap<String, usize> = HashMap::new();
    let options = DecodeOptions { strict: args.strict };
    let mut line = Vec::new();
    let (mut number, mut ok, mut failed) = (0usize, 0usize, 0usize);
    let report = |number: usize, errors: &[MappingError], progress: &ProgressBar| {
        progress.suspend(|| {
            let stderr = std::io::stderr();
            let mut stderr = stderr.lock();
            for error in errors {
                let _ = if args.errors_json {
                    let mut record = serde_json::json!({ "line": number });
                    if let (Some(object), Ok(serde_json::Value::Object(fields))) =
                        (record.as_object_mut(), serde_json::to_value(error))
                    {
                        object.extend(fields);
                    }
                    writeln!(stderr, "{record}")
                } else {
                    writeln!(stderr, "line {number}: {error}")
                };
            }
        });
    };
    // A CSV stream's header goes before the first row written, whichever
    // thread mapped it.
    let stream_header = match (format, &args.output_dir) {
        (WireFormat::Csv, None) => match program.batch_header() {
            Ok(header) => Some(header),
            Err(error) => return prepare::Unprepared(error).exit(),
        },
        _ => None,
    };
    let framing = if args.output_dir.is_some() {
        Framing::File
    } else {
        Framing::Stream { first: false }
    };
    // The workers live for the whole run, so their per-thread buffers
    // (values, frames) stay warm; the main thread maps the first share.
    let (done_sender, done) = mpsc::channel::<(usize, Share)>();
    std::thread::scope(|scope| {
        let mut workers = Vec::with_capacity(jobs - 1);
        for worker in 1..jobs {
            let (sender, shares) = mpsc::channel::<Share>();
            let done_sender = done_sender.clone();
            let (program, evaluator) = (&program, &evaluator);
            scope.spawn(move || {
                for mut share in shares {
                    share.map(program, evaluator, options, framing);
                    if done_sender.send((worker, share)).is_err() {
                        break;
                    }
                }
            });
            workers.push(sender);
        }
        drop(done_sender);
        // One share of each batch per thread; its lines, payloads and results
        // are kept from batch to batch: the steady state allocates none per
        // record.
        let mut shares: Vec<Share> = (0..jobs).map(|_| Share::default()).collect();
        let mut spare: Vec<Vec<u8>> = Vec::new();
        let mut finished = false;
        while !finished {
            for share in &mut shares {
                // A buffer a huge record grew is freed, not kept for the
                // rest of the run.
                spare.extend(share.lines.drain(..).filter_map(|line| match line {
                    Line::Record(buffer) if buffer.capacity() <= KEPT_BUFFER => Some(buffer),
                    Line::Record(_) | Line::TooLong | Line::Blank => None,
                }));
                for out in &mut share.outs {
                    if out.capacity() > KEPT_BUFFER {
                        *out = Vec::new();
                    }
                }
            }
            let mut bytes = 0u64;
            let mut filling = 0;
            while filling < jobs {
                if shares[filling].lines.len() == BATCH_PER_JOB {
                    filling += 1;
                    continue;
                }
                let read = match read_record(&mut reader, &mut line, args.max_record_bytes) {
                    Ok(read) => read,
                    Err(error) => {
                        progress.finish_and_clear();
                        eprintln!("error: reading the input: {error}");
                        return ExitCode::from(2);
                    }
                };
                let Some(Record { bytes_read, complete }) = read else {
                    finished = true;
                    break;
                };
                bytes += bytes_read as u64;
                let record = trim_line(&line);
                shares[filling].lines.push(if !complete {
                    Line::TooLong
                } else if record.iter().all(u8::is_ascii_whitespace) {
                    Line::Blank
                } else {
                    let mut buffer = spare.pop().unwrap_or_default();
                    buffer.clear();
                    buffer.extend_from_slice(record);
                    Line::Record(buffer)
                });
            }
            let mut sent = 0;
            for (index, worker) in workers.iter().enumerate() {
                let share = &mut shares[index + 1];
                if share.lines.is_empty() {
                    continue;
                }
                // A worker that is gone (it cannot panic: `Share::map` catches
                // panics) leaves its share to the main thread.
                if let Err(mpsc::SendError(mut share)) = worker.send(std::mem::take(share)) {
                    share.map(&program, &evaluator, options, framing);
                    shares[index + 1] = share;
                } else {
                    sent += 1;
                }
            }
            shares[0].map(&program, &evaluator, options, framing);
            for _ in 0..sent {
                match done.recv() {
                    Ok((worker, share)) => shares[worker] = share,
                    Err(_) => {
                        progress.finish_and_clear();
                        eprintln!("error: internal error: a mapping thread stopped");
                        return ExitCode::from(2);
                    }
                }
            }
            for share in &mut shares {
                let Share { lines, outs, results } = share;
                for ((entry, mapped), out) in lines.iter().zip(results.drain(..)).zip(outs.iter_mut()) {
                    number += 1;
                    let record = match entry {
                        Line::Blank => continue,
                        Line::TooLong => {
                            failed += 1;
                            report(
                                number,
                                &[MappingError::input(
                                    "$",
                                    format!(
                                        "the record is longer than {} bytes (--max-record-bytes); skipped",
                                        args.max_record_bytes
                                    ),
                                )],
                                &progress,
                            );
                            continue;
                        }
                        Line::Record(record) => record,
                    };
                    let mapped = mapped
                .map(|()| {
                    if let Some(version) = &args.soap_envelope {
                        *out = envelope(out, version);
                    }
                })
                .and_then(|()| match &args.output_dir {
                    Some(dir) => {
                        let name = file_name(&template, record, number)?;
                        if let Some(first) = written_names.get(&name) {
                            return Err(vec![MappingError::output(
                                "$",
                                format!(
                                    "the file name {name:?} was already used by line {first}; make --name-template unique"
                                ),
                            )]);
                        }
                        std::fs::write(dir.join(&name), &*out).map_err(|error| {
                            vec![MappingError::output(
                                "$",
                                format!("cannot write {}: {error}", dir.join(&name).display()),
                            )]
                        })?;
                        written_names.insert(name, number);
                        out.clear();
                        Ok(())
                    }
                    None => Ok(()),
                });
                    match mapped {
                        Ok(()) => {
                            let payload = &mut *out;
                            // On a stream: JSON and XML one document per line; CSV
                            // rows end their own lines.
                            if args.output_dir.is_none() && format != WireFormat::Csv {
                                payload.push(b'\n');
                            }
                            let header = match &stream_header {
                                Some(header) if ok == 0 => header.as_slice(),
                                _ => &[],
                            };
                            if let Err(error) = writer.write_all(header).and_then(|()| writer.write_all(payload)) {
                                progress.finish_and_clear();
                                eprintln!("error: writing the output: {error}");
                                return ExitCode::from(2);
                            }
                            ok += 1;
                        }
                        Err(errors) => {
                            failed += 1;
                            report(number, &errors, &progress);
                        }
                    }
                }
            }
            progress.inc(bytes);
            if size.is_none() {
                progress.set_message(format!("{ok} mapped, {failed} failed"));
            }
        }
        // The workers end when their channels close.
        drop(workers);
        progress.finish_and_clear();
        if let Err(error) = writer.flush() {
            eprintln!("error: writing the output: {error}");
            return ExitCode::from(2);
        }
        if !args.errors_json {
            eprintln!("mapped {ok} record{}, {failed} failed", if ok == 1 { "" } else { "s" });
        }
        if failed > 0 {
            ExitCode::from(1)
        } else {
            ExitCode::SUCCESS
        }
    })
}

/// A share of a batch, mapped by one thread: its lines, their payloads
/// and their results, all kept from batch to batch.
#[derive(Default)]
struct Share {
    lines: Vec<Line>,
    outs: Vec<Vec<u8>>,
    results: Vec<Result<(), Vec<MappingError>>>,
}

impl Share {
    /// Maps each line to its payload buffer (emptied first), giving one
    /// result per line (blank and over-long lines get an empty payload,
    /// never used). A record whose mapping panics fails alone.
    fn map(&mut self, program: &Program, evaluator: &Evaluator<'_>, options: DecodeOptions, framing: Framing) {
        self.results.clear();
        if self.outs.len() < self.lines.len() {
            self.outs.resize_with(self.lines.len(), Vec::new);
        }
        for (line, out) in self.lines.iter().zip(self.outs.iter_mut()) {
            out.clear();
            let result = match line {
                Line::Record(record) => {
                    // Payloads are about as long as their events: room
                    // reserved once instead of a string of regrowths (and
                    // kept for later batches).
                    out.reserve(record.len() + record.len() / 4 + 64);
                    let mapped = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| {
                        program.run_event(evaluator, record, options, framing, out)
                    }));
                    mapped.unwrap_or_else(|_| {
                        out.clear();
                        Err(vec![MappingError::output(
                            "$",
                            "internal error: mapping this record panicked",
                        )])
                    })
                }
                Line::Blank | Line::TooLong => Ok(()),
            };
            self.results.push(result);
        }
    }
}

fn envelope(message: &[u8], version: &str) -> Vec<u8> {
    let namespace = if version == "1.2" {
        "http://www.w3.org/2003/05/soap-envelope"
    } else {
        "http://schemas.xmlsoap.org/soap/envelope/"
    };
    let text = String::from_utf8_lossy(message);
    let body = match text.strip_prefix("<?xml") {
        Some(rest) => rest.split_once("?>").map_or("", |(_, after)| after).trim_start(),
        None => &text,
    };
    let indented = body.contains("\n");
    let mut out = String::new();
    if indented {
        out.push_str("<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n");
    }
    let newline = if indented { "\n" } else { "" };
    out.push_str(&format!(
        "<soapenv:Envelope xmlns:soapenv=\"{namespace}\">{newline}<soapenv:Header/>{newline}<soapenv:Body>{newline}"
    ));
    out.push_str(body.trim_end());
    out.push_str(&format!("{newline}</soapenv:Body>{newline}</soapenv:Envelope>"));
    if indented {
        out.push('\n');
    }
    out.into_bytes()
}

/// The file name for an event (see `mapwright_project::naming`).
fn file_name(template: &str, record: &[u8], line: usize) -> Result<String, Vec<MappingError>> {
    let event: serde_json::Value = serde_json::from_slice(record).unwrap_or(serde_json::Value::Null);
    mapwright_project::naming::file_name(template, &event, line).map_err(|error| {
        vec![match error {
            mapwright_project::naming::NameError::Missing(path) => MappingError::input(
                path.clone(),
                format!(
                    "--name-template needs `{}`, and the event has no text or number there",
                    &path[2..]
                ),
            ),
            mapwright_project::naming::NameError::Template(message) => {
                MappingError::output("$", format!("--name-template {message}"))
            }
        }]
    })
}

/// One line read.
struct Record {
    /// Bytes consumed, newline included.
    bytes_read: usize,
    /// False when the line was over the cap (its bytes were skipped).
    complete: bool,
}

/// Reads the next line into `buf` (without the newline), keeping at most
/// `max` bytes: a longer line is consumed but not kept.
fn read_record(reader: &mut impl BufRead, buf: &mut Vec<u8>, max: usize) -> std::io::Result<Option<Record>> {
    buf.clear();
    let mut bytes_read = 0usize;
    let mut complete = true;
    loop {
        let available = match reader.fill_buf() {
            Ok(available) => available,
            Err(error) if error.kind() == std::io::ErrorKind::Interrupted => continue,
            Err(error) => return Err(error),
        };
        if available.is_empty() {
            return Ok((bytes_read > 0).then_some(Record { bytes_read, complete }));
        }
        let (chunk, found_newline) = match memchr::memchr(b'\n', available) {
            Some(index) => (index, true),
            None => (available.len(), false),
        };
        if complete {
            if buf.len() + chunk > max {
                complete = false;
                buf.clear();
                buf.shrink_to(64 * 1024);
            } else {
                buf.extend_from_slice(&available[..chunk]);
            }
        }
        let consumed = chunk + usize::from(found_newline);
        reader.consume(consumed);
        bytes_read += consumed;
        if found_newline {
            return Ok(Some(Record { bytes_read, complete }));
        }
    }
}

fn trim_line(line: &[u8]) -> &[u8] {
    line.strip_suffix(b"\r").unwrap_or(line)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn long_lines_are_skipped_not_kept() {
        let input = b"short\nthis line is far too long\nok\nlast-without-newline";
        let mut reader = BufReader::with_capacity(4, &input[..]);
        let mut buf = Vec::new();
        let mut seen = Vec::new();
        while let Some(record) = read_record(&mut reader, &mut buf, 10).unwrap() {
            seen.push((String::from_utf8(buf.clone()).unwrap(), record.complete));
        }
        assert_eq!(
            seen,
            vec![
                ("short".to_owned(), true),
                (String::new(), false),
                ("ok".to_owned(), true),
                (String::new(), false),
            ]
        );
    }
}
