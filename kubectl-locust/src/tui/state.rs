//! The live view's model and its pure `update`.

use std::collections::VecDeque;

use k8s_openapi::jiff::Timestamp;
use shared::api::v2::{LocustTest, Phase};

use crate::exit;
use crate::render::events::EventRow;
use crate::render::progress;

/// RPS samples kept for the sparkline.
pub const RPS_HISTORY: usize = 120;

/// What the feed (cluster poller or local run) sends.
#[derive(Clone, Debug)]
pub enum Update {
    Test(Box<LocustTest>),
    /// The tests to pick from (no name given).
    Tests(Vec<LocustTest>),
    Events(Vec<EventRow>),
    /// The test no longer exists.
    Gone,
    /// Reading failed; the last good data stays on screen.
    Error(String),
    /// What an action the user asked for (web UI, stop) came to, in words.
    Notice(String),
    /// The last lines of the master's log.
    LogTail(Vec<String>),
}

/// Keys the view reacts to (decoupled from crossterm so `update` stays pure and testable).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Key {
    Quit,
    /// Esc: back to the picker when the test was picked, else quit.
    Back,
    Up,
    Down,
    Enter,
    Help,
    /// `w`: forward Locust's web UI to a local port.
    WebUi,
    /// `s`: stop the test (after a confirmation).
    Stop,
    /// `y`: yes to the confirmation.
    Yes,
    /// `l`: the tail of the master's log.
    Logs,
    Other,
}

/// What the shell must do after an update.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Effect {
    None,
    /// Follow this test (namespace, name).
    Open(String, String),
    /// Back to the list of tests.
    List,
    /// Forward the web UI of this test (namespace, name) and say where.
    WebUi(String, String),
    /// Ask this test's master to stop (namespace, name); confirmed.
    Stop(String, String),
    /// Read the tail of this test's master log (namespace, name).
    Logs(String, String),
}

/// The list shown when no test was named.
#[derive(Clone, Debug, Default)]
pub struct Picker {
    pub tests: Vec<LocustTest>,
    pub selected: usize,
    /// A test was opened from the list (Esc goes back to it).
    pub open: bool,
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
    pub picker: Option<Picker>,
    /// `s` was pressed: waiting for `y` (anything else cancels).
    pub confirm_stop: bool,
    /// The outcome of the last action, shown above the key line.
    pub notice: Option<String>,
    /// The master's log tail overlay (`l`), while open.
    pub log_tail: Option<Vec<String>>,
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
            picker: None,
            confirm_stop: false,
            notice: None,
            log_tail: None,
        }
    }

    /// A state that starts with the list of tests.
    pub fn picking(now: Timestamp) -> Self {
        Self {
            picker: Some(Picker::default()),
            ..Self::new("LocustTests", now)
        }
    }

    /// True while the list is on screen.
    pub fn in_picker(&self) -> bool {
        self.picker.as_ref().is_some_and(|p| !p.open)
    }

    pub fn phase(&self) -> Option<Phase> {
        self.test.as_ref().and_then(|t| t.status.as_ref()).and_then(|s| s.phase)
    }

    /// The exit code when the user leaves now: the test's outcome once it ended, 130 before.
    pub fn exit_code(&self) -> u8 {
        progress::exit_code(self.phase()).unwrap_or(if self.gone { exit::ERROR } else { exit::INTERRUPTED })
    }
}

/// The namespace and name of the test on screen.
fn shown(state: &State) -> Option<(String, String)> {
    let test = state.test.as_ref()?;
    Some((
        test.metadata.namespace.clone().unwrap_or_default(),
        test.metadata.name.clone()?,
    ))
}

/// Why an action needing a running test cannot be done now, if it cannot.
fn not_running(state: &State, what: &str) -> Option<String> {
    match state.phase() {
        Some(Phase::Running) => None,
        Some(phase) if phase.is_terminal() => Some(format!("the test has ended ({phase}): {what}")),
        phase => Some(format!(
            "the test is not running yet ({}): {what}",
            phase.map_or("no status yet", Phase::as_str)
        )),
    }
}

/// The keys acting on the test on screen: `w`, `s` then `y`, `l`.
fn act(state: &mut State, key: Key) -> Option<Effect> {
    if state.in_picker() {
        return None;
    }
    if state.confirm_stop {
        state.confirm_stop = false;
        return Some(match (key, shown(state)) {
            (Key::Yes, Some((namespace, name))) => {
                state.notice = Some(format!("asking the master of {name} to stop…"));
                Effect::Stop(namespace, name)
            }
            (Key::Quit, _) => {
                state.quit = true;
                Effect::None
            }
            _ => {
                state.notice = Some("not stopped".to_string());
                Effect::None
            }
        });
    }
    let (namespace, name) = shown(state)?;
    match key {
        Key::WebUi => Some(match not_running(state, "Locust's web UI lives only while it runs") {
            Some(why) => {
                state.notice = Some(why);
                Effect::None
            }
            None => {
                state.notice = Some("forwarding Locust's web UI…".to_string());
                Effect::WebUi(namespace, name)
            }
        }),
        Key::Stop => {
            match not_running(state, "nothing to stop") {
                Some(why) => state.notice = Some(why),
                None => {
                    state.confirm_stop = true;
                    state.notice = None;
                }
            }
            Some(Effect::None)
        }
        Key::Logs if state.log_tail.is_some() => {
            state.log_tail = None;
            Some(Effect::None)
        }
        Key::Logs => {
            state.log_tail = Some(vec!["reading the master's log…".to_string()]);
            Some(Effect::Logs(namespace, name))
        }
        Key::Back if state.log_tail.is_some() => {
            state.log_tail = None;
            Some(Effect::None)
        }
        _ => None,
    }
}

pub fn update(state: &mut State, event: Event) -> Effect {
    let in_picker = state.in_picker();
    if let Event::Key(key) = event
        && let Some(effect) = act(state, key)
    {
        return effect;
    }
    match event {
        Event::Key(Key::Quit) => state.quit = true,
        Event::Key(Key::Help) => state.help = !state.help,
        Event::Key(Key::Back) if state.help => state.help = false,
        Event::Key(Key::Back) => {
            if let Some(picker) = state.picker.as_mut().filter(|p| p.open) {
                picker.open = false;
                state.title = "LocustTests".to_string();
                state.test = None;
                state.events.clear();
                state.rps.clear();
                state.last_stats_time = None;
                state.gone = false;
                return Effect::List;
            }
            state.quit = true;
        }
        Event::Key(Key::Up) if in_picker => {
            if let Some(picker) = state.picker.as_mut() {
                picker.selected = picker.selected.saturating_sub(1);
            }
        }
        Event::Key(Key::Down) if in_picker => {
            if let Some(picker) = state.picker.as_mut() {
                picker.selected = (picker.selected + 1).min(picker.tests.len().saturating_sub(1));
            }
        }
        Event::Key(Key::Enter) if in_picker => {
            if let Some(picker) = state.picker.as_mut()
                && let Some(test) = picker.tests.get(picker.selected)
            {
                let namespace = test.metadata.namespace.clone().unwrap_or_default();
                let name = test.metadata.name.clone().unwrap_or_default();
                picker.open = true;
                state.title = name.clone();
                return Effect::Open(namespace, name);
            }
        }
        Event::Key(_) => state.help = false,
        Event::Tick(now) => state.now = now,
        Event::Data(Update::Tests(tests)) => {
            if let Some(picker) = state.picker.as_mut() {
                picker.tests = tests;
                picker.selected = picker.selected.min(picker.tests.len().saturating_sub(1));
            }
            state.error = None;
        }
        Event::Data(Update::Test(test)) => {
            if in_picker {
                return Effect::None;
            }
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
        Event::Data(Update::Notice(message)) => state.notice = Some(message),
        Event::Data(Update::LogTail(lines)) => {
            if state.log_tail.is_some() {
                state.log_tail = Some(lines);
            }
        }
    }
    Effect::None
}
