//! The `mtrec` binary: parses the command line and hands it to `mtrec::cli`.

use clap::Parser;
use std::process::ExitCode;

fn main() -> ExitCode {
    match mtrec::cli::run(mtrec::cli::Cli::parse()) {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("error: {e}");
            ExitCode::FAILURE
        }
    }
}
