//! The live view's model and its pure `update`.

use std::collections::VecDeque;

use k8s_openapi::jiff::Timestamp;
use shared::api::v2::{LocustTest, Phase};

use crate::cli::exit;
use crate::render::events::EventRow;
use crate::render::progress;

/// RPS samples kept for the sparkline.
pub const RPS_HISTORY: usize = 120;

/// What the feed (cluster poller or local run) sends.
#[derive(Clone, Debug)]
pub enum Update {
    Test(Box<LocustTest>),
    Events(Vec<EventRow>),
    /// The test no longer exists.
    Gone,
    /// Reading failed; the last good data stays on screen.
    Error(String),
}

/// Keys the view reacts to (decoupled from crossterm so `update` stays pure and testable).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Key {
    Quit,
    Help,
    Other,
}

#[derive(Clone, Debug)]
pub enum Event {
    Key(Key),
    Data(Update),
    Tick(Timestamp),
}

#[derive(Clone, Debug)]
pub struct State {
    pub title: String,
    pub test: Option<LocustTest>,
    pub events: Vec<EventRow>,
    /// RPS x10 (one decimal kept), oldest first, one sample per new stats reading.
    pub rps: VecDeque<u64>,
    last_stats_time: Option<Timestamp>,
    pub error: Option<String>,
    pub gone: bool,
    pub help: bool,
    pub quit: bool,
    pub now: Timestamp,
}

impl State {
    pub fn new(title: &str, now: Timestamp) -> Self {
        Self {
            title: title.to_string(),
            test: None,
            events: Vec::new(),
            rps: VecDeque::new(),
            last_stats_time: None,
            error: None,
            gone: false,
            help: false,
            quit: false,
            now,
        }
    }

    pub fn phase(&self) -> Option<Phase> {
        self.test.as_ref().and_then(|t| t.status.as_ref()).and_then(|s| s.phase)
    }

    /// The exit code when the user leaves now: the test's outcome once it ended, 130 before.
    pub fn exit_code(&self) -> u8 {
        progress::exit_code(self.phase()).unwrap_or(if self.gone { exit::ERROR } else { exit::INTERRUPTED })
    }
}

pub fn update(state: &mut State, event: Event) {
    match event {
        Event::Key(Key::Quit) => state.quit = true,
        Event::Key(Key::Help) => state.help = !state.help,
        Event::Key(Key::Other) => state.help = false,
        Event::Tick(now) => state.now = now,
        Event::Data(Update::Test(test)) => {
            if let Some(stats) = test.status.as_ref().and_then(|s| s.stats.as_ref()) {
                let at = stats.last_update_time.as_ref().map(|t| t.0);
                if at.is_some() && at != state.last_stats_time {
                    state.last_stats_time = at;
                    if state.rps.len() == RPS_HISTORY {
                        state.rps.pop_front();
                    }
                    state.rps.push_back((stats.current_rps * 10.0).round().max(0.0) as u64);
                }
            }
            state.test = Some(*test);
            state.error = None;
            state.gone = false;
        }
        Event::Data(Update::Events(events)) => state.events = events,
        Event::Data(Update::Gone) => state.gone = true,
        Event::Data(Update::Error(message)) => state.error = Some(message),
    }
}
