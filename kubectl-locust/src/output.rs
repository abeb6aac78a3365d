//! Colour and output plumbing shared by the commands.

use std::io::IsTerminal;

use crossterm::style::Stylize;
use shared::api::v2::Phase;

use crate::cli::ColorChoice;

/// Whether to colour, decided once: `always`, `never`, or `auto` = a terminal and no `NO_COLOR`.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Palette {
    pub enabled: bool,
}

impl Palette {
    pub fn new(choice: ColorChoice) -> Self {
        let auto = std::io::stdout().is_terminal() && std::env::var_os("NO_COLOR").is_none_or(|v| v.is_empty());
        Self::decide(choice, auto)
    }

    /// The decision with the terminal check given (for tests).
    pub fn decide(choice: ColorChoice, auto: bool) -> Self {
        Self {
            enabled: match choice {
                ColorChoice::Always => true,
                ColorChoice::Never => false,
                ColorChoice::Auto => auto,
            },
        }
    }

    /// Plain text (colour off).
    pub fn plain() -> Self {
        Self { enabled: false }
    }

    fn paint(&self, text: &str, style: impl FnOnce(String) -> crossterm::style::StyledContent<String>) -> String {
        if self.enabled {
            style(text.to_string()).to_string()
        } else {
            text.to_string()
        }
    }

    pub fn green(&self, text: &str) -> String {
        self.paint(text, |t| t.green())
    }
    pub fn red(&self, text: &str) -> String {
        self.paint(text, |t| t.red())
    }
    pub fn yellow(&self, text: &str) -> String {
        self.paint(text, |t| t.yellow())
    }
    pub fn cyan(&self, text: &str) -> String {
        self.paint(text, |t| t.cyan())
    }
    pub fn bold(&self, text: &str) -> String {
        self.paint(text, |t| t.bold())
    }
    pub fn dim(&self, text: &str) -> String {
        self.paint(text, |t| t.dim())
    }

    /// A phase in its colour: Succeeded green, Failed red, Running cyan, Pending yellow.
    pub fn phase(&self, phase: Option<Phase>) -> String {
        match phase {
            Some(Phase::Succeeded) => self.green("Succeeded"),
            Some(Phase::Failed) => self.red("Failed"),
            Some(Phase::Running) => self.cyan("Running"),
            Some(Phase::Pending) => self.yellow("Pending"),
            None => self.dim("-"),
        }
    }
}

/// Prints a live progress line: rewritten in place on a terminal; elsewhere (CI logs) a new line
/// only when the content changes, so logs stay short.
pub struct ProgressPrinter {
    terminal: bool,
    last_content: Option<String>,
    drawn: bool,
}

impl ProgressPrinter {
    /// Progress goes to standard error; `terminal` says whether that is a terminal.
    pub fn new(terminal: bool) -> Self {
        Self {
            terminal,
            last_content: None,
            drawn: false,
        }
    }

    pub fn for_stderr() -> Self {
        Self::new(std::io::stderr().is_terminal())
    }

    /// Shows `line`; `content` is the part whose change is worth a new line in a log.
    pub fn show(&mut self, content: &str, line: &str) {
        use std::io::Write;
        let mut err = std::io::stderr().lock();
        if self.terminal {
            let _ = write!(err, "\r\x1b[2K{line}");
            self.drawn = true;
        } else if self.last_content.as_deref() != Some(content) {
            let _ = writeln!(err, "{line}");
        }
        self.last_content = Some(content.to_string());
        let _ = err.flush();
    }

    /// Ends the in-place line so what follows starts on its own line.
    pub fn finish(&mut self) {
        if self.terminal && self.drawn {
            eprintln!();
            self.drawn = false;
        }
    }
}
