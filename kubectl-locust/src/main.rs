//! `kubectl-locust`: kubectl runs it for `kubectl locust ...`.

use std::process::ExitCode;

use clap::Parser;
use kubectl_locust::Cli;
use kubectl_locust::commands;
use kubectl_locust::exit;

fn main() -> ExitCode {
    let cli = Cli::parse();
    let runtime = match tokio::runtime::Builder::new_multi_thread().enable_all().build() {
        Ok(runtime) => runtime,
        Err(error) => {
            eprintln!("error: cannot start: {error}");
            return ExitCode::from(exit::ERROR);
        }
    };
    match runtime.block_on(commands::execute(cli)) {
        Ok(code) => ExitCode::from(code),
        Err(error) => {
            eprintln!("error: {error}");
            ExitCode::from(error.exit_code())
        }
    }
}
