//! `perfmon`: the command-line entry point.
//!
//! - `perfmon demo [--operations N]`: monitors a realistic mix of the
//!   guide's operations and prints the console summary. Needs no AWS.

mod demo;

use std::process::ExitCode;

#[global_allocator]
static ALLOC: perfmon::CountingAllocator = perfmon::CountingAllocator::system();

const USAGE: &str = "usage: perfmon demo [--operations N]";

fn main() -> ExitCode {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let result = match args.first().map(String::as_str) {
        Some("demo") => demo::Options::parse(&args[1..]).and_then(demo::run),
        Some("-h" | "--help") => {
            println!("{USAGE}");
            return ExitCode::SUCCESS;
        }
        _ => Err(USAGE.to_owned()),
    };
    match result {
        Ok(()) => ExitCode::SUCCESS,
        Err(message) => {
            eprintln!("perfmon: {message}");
            ExitCode::FAILURE
        }
    }
}
