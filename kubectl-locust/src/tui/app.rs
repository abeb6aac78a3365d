//! The terminal shell of the live view: raw mode and alternate screen, restored on every exit path
//! (quit, error, panic via ratatui's hook); keys read on their own thread, data from a channel, so
//! the drawing loop never waits on the network.

use std::io::IsTerminal;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::Duration;

use crossterm::event::{self, Event as TermEvent, KeyCode, KeyEventKind, KeyModifiers};
use k8s_openapi::jiff::Timestamp;
use tokio::sync::mpsc;

use super::state::{self, Effect, Event, Key, State, Update};
use super::view;
use crate::error::PluginError;
use crate::exit;

const TICK: Duration = Duration::from_millis(250);

/// Restores the terminal when dropped, whatever way the view ends.
struct Restore;

impl Drop for Restore {
    fn drop(&mut self) {
        ratatui::restore();
    }
}

fn key_of(event: &TermEvent) -> Option<Key> {
    let TermEvent::Key(key) = event else {
        return None;
    };
    if key.kind != KeyEventKind::Press {
        return None;
    }
    Some(match key.code {
        KeyCode::Char('c') if key.modifiers.contains(KeyModifiers::CONTROL) => Key::Quit,
        KeyCode::Char('q') => Key::Quit,
        KeyCode::Esc => Key::Back,
        KeyCode::Up | KeyCode::Char('k') => Key::Up,
        KeyCode::Down | KeyCode::Char('j') => Key::Down,
        KeyCode::Enter => Key::Enter,
        KeyCode::Char('?') => Key::Help,
        KeyCode::Char('w') => Key::WebUi,
        KeyCode::Char('s') => Key::Stop,
        KeyCode::Char('y') => Key::Yes,
        KeyCode::Char('l') => Key::Logs,
        _ => Key::Other,
    })
}

/// The live view needs a terminal on standard output; said before anything is started.
pub fn require_terminal(wanted: bool) -> Result<(), PluginError> {
    if wanted && !std::io::stdout().is_terminal() {
        return Err(PluginError::Usage(
            "the live view (--tui) needs a terminal; in scripts use `kubectl locust run --wait` instead".into(),
        ));
    }
    Ok(())
}

/// Shows `title` with data from `updates` until the user quits or `timeout` passes; the result is
/// the exit code (the test's outcome once it ended, 130 when left before, 4 on timeout).
pub async fn show(
    title: &str,
    updates: mpsc::Receiver<Update>,
    timeout: Option<Duration>,
    act: impl FnMut(&Effect, &mpsc::Sender<Update>) -> Option<mpsc::Receiver<Update>>,
) -> Result<u8, PluginError> {
    show_state(State::new(title, Timestamp::now()), updates, timeout, act).await
}

/// The view loop for any starting state. `act` carries out what a key asks for: a new data
/// source when the user opens a test from the list or goes back to it (the old source stops once
/// its receiver is dropped), or a task (web UI, stop, log tail) whose outcome it sends as updates.
pub async fn show_state(
    mut state: State,
    mut updates: mpsc::Receiver<Update>,
    timeout: Option<Duration>,
    mut act: impl FnMut(&Effect, &mpsc::Sender<Update>) -> Option<mpsc::Receiver<Update>>,
) -> Result<u8, PluginError> {
    require_terminal(true)?;
    let mut terminal =
        ratatui::try_init().map_err(|error| PluginError::Other(format!("cannot set up the terminal: {error}")))?;
    let _restore = Restore;
    let stop = Arc::new(AtomicBool::new(false));
    let (key_sender, mut keys) = mpsc::channel(16);
    let reader_stop = stop.clone();
    std::thread::spawn(move || {
        while !reader_stop.load(Ordering::Relaxed) {
            if event::poll(Duration::from_millis(100)).unwrap_or(false) {
                let Ok(event) = event::read() else { break };
                if key_sender.blocking_send(event).is_err() {
                    break;
                }
            }
        }
    });
    // What the actions' tasks report; they end with the view (their senders fail).
    let (outcomes, mut reported) = mpsc::channel(16);
    let deadline = timeout.map(|t| tokio::time::Instant::now() + t);
    let mut ticks = tokio::time::interval(TICK);
    let code = loop {
        terminal
            .draw(|frame| view::draw(frame, &state))
            .map_err(|error| PluginError::Other(format!("cannot draw: {error}")))?;
        if state.quit {
            break state.exit_code();
        }
        let until_deadline = async {
            match deadline {
                Some(deadline) => tokio::time::sleep_until(deadline).await,
                None => std::future::pending().await,
            }
        };
        tokio::select! {
            Some(update) = updates.recv() => {
                state::update(&mut state, Event::Data(update));
            }
            Some(update) = reported.recv() => {
                state::update(&mut state, Event::Data(update));
            }
            Some(event) = keys.recv() => {
                // A resize needs only the redraw at the top of the loop.
                if let Some(key) = key_of(&event) {
                    let effect = state::update(&mut state, Event::Key(key));
                    if effect != Effect::None && let Some(source) = act(&effect, &outcomes) {
                        updates = source;
                    }
                }
            }
            _ = ticks.tick() => {
                state::update(&mut state, Event::Tick(Timestamp::now()));
            }
            () = until_deadline => break exit::TIMEOUT,
        }
    };
    stop.store(true, Ordering::Relaxed);
    Ok(code)
}
