//! One module per subcommand; each reads what it needs and prints.

pub mod completion;
pub mod logs;
pub mod report;
pub mod run;
pub mod status;
pub mod stop;
pub mod tui;
pub mod ui;

use crate::cli::{Cli, Command};
use crate::error::PluginError;
use crate::exit;

/// Runs the parsed command line; the result is the process exit code.
pub async fn execute(cli: Cli) -> Result<u8, PluginError> {
    match cli.command {
        Command::Run(args) => run::execute(&cli.global, *args).await,
        Command::Status(args) => status::execute(&cli.global, args).await,
        Command::Logs(args) => logs::execute(&cli.global, args).await,
        Command::Tui(args) => tui::execute(&cli.global, args).await,
        Command::Ui(args) => ui::execute(&cli.global, args).await,
        Command::Report(args) => report::execute(&cli.global, args).await,
        Command::Stop(args) => stop::execute(&cli.global, args).await,
        Command::Completion(args) => completion::execute(&args),
        Command::Complete(args) => completion::complete(&cli.global, &args).await,
        Command::Version => {
            println!("kubectl locust {}", env!("CARGO_PKG_VERSION"));
            Ok(exit::OK)
        }
    }
}
