//! Draws the live view from the state (pure: no I/O, testable on a `TestBackend`).

use ratatui::Frame;
use ratatui::layout::{Constraint, Layout, Rect};
use ratatui::style::{Color, Modifier, Style};
use ratatui::text::{Line, Span};
use ratatui::widgets::{Block, Borders, Clear, Gauge, Paragraph, Row, Sparkline, Table, Wrap};
use shared::api::v2::Phase;

use super::state::State;
use crate::render::progress::ran_for;
use crate::render::thresholds;

pub fn phase_color(phase: Option<Phase>) -> Color {
    match phase {
        Some(Phase::Succeeded) => Color::Green,
        Some(Phase::Failed) => Color::Red,
        Some(Phase::Running) => Color::Cyan,
        Some(Phase::Pending) => Color::Yellow,
        None => Color::DarkGray,
    }
}

pub fn draw(frame: &mut Frame, state: &State) {
    let area = frame.area();
    if state.in_picker() {
        draw_picker(frame, area, state);
        if state.help {
            draw_help(frame, area);
        }
        return;
    }
    let narrow = area.width < 90;
    let [header, body, help] =
        Layout::vertical([Constraint::Length(3), Constraint::Min(6), Constraint::Length(1)]).areas(area);
    draw_header(frame, header, state);
    // Only a test with thresholds gets their block; the layout of the others stays as it was.
    let limits = state.test.as_ref().and_then(thresholds::view);
    let limits_height = limits
        .as_ref()
        .map_or(0, |view| view.rows.len() as u16 + 3 + u16::from(view.note.is_some()));
    if narrow {
        // No room for a table: the heading and the first limit in trouble, in one line.
        let limits_height = if limits.is_some() { 3 } else { 0 };
        let [conditions, workers, stats, limits_area, events] = Layout::vertical([
            Constraint::Length(7),
            Constraint::Length(3),
            Constraint::Length(6),
            Constraint::Length(limits_height),
            Constraint::Min(3),
        ])
        .areas(body);
        draw_conditions(frame, conditions, state);
        draw_workers(frame, workers, state);
        draw_stats(frame, stats, state);
        if let Some(view) = &limits {
            draw_thresholds_line(frame, limits_area, view);
        }
        draw_events(frame, events, state);
    } else {
        let [top, limits_area, events] = Layout::vertical([
            Constraint::Min(10),
            Constraint::Length(limits_height),
            Constraint::Length(8),
        ])
        .areas(body);
        let [left, right] = Layout::horizontal([Constraint::Percentage(55), Constraint::Percentage(45)]).areas(top);
        let [workers, conditions] = Layout::vertical([Constraint::Length(3), Constraint::Min(5)]).areas(left);
        draw_workers(frame, workers, state);
        draw_conditions(frame, conditions, state);
        draw_stats(frame, right, state);
        if let Some(view) = &limits {
            draw_thresholds(frame, limits_area, view);
        }
        draw_events(frame, events, state);
    }
    let finished = state.phase().is_some_and(Phase::is_terminal);
    let back = if state.picker.is_some() {
        "   esc back to the list"
    } else {
        ""
    };
    let keys = if finished {
        format!(" finished — q quit{back}   ? help")
    } else {
        format!(" q quit (the test keeps running){back}   ? help")
    };
    // A question or the outcome of an action takes the key line until the next key.
    let bottom = if state.confirm_stop {
        let name = state
            .test
            .as_ref()
            .and_then(|test| test.metadata.name.as_deref())
            .unwrap_or("the test");
        Paragraph::new(format!(
            " stop {name}? Locust stops its users and the test ends with its results — y yes, any other key no"
        ))
        .style(Style::default().fg(Color::Yellow).add_modifier(Modifier::BOLD))
    } else if let Some(notice) = &state.notice {
        Paragraph::new(format!(" {notice}")).style(Style::default().fg(Color::Cyan))
    } else {
        Paragraph::new(keys).style(Style::default().fg(Color::DarkGray))
    };
    frame.render_widget(bottom, help);
    if let Some(lines) = &state.log_tail {
        draw_log_tail(frame, area, lines);
    }
    if state.help {
        draw_help(frame, area);
    }
}

/// The tail of the master's log over the view (`l` again or Esc closes it).
fn draw_log_tail(frame: &mut Frame, area: Rect, lines: &[String]) {
    let popup = Rect::new(
        area.x + 2.min(area.width),
        area.y + 1.min(area.height),
        area.width.saturating_sub(4),
        area.height.saturating_sub(3),
    );
    // The newest lines that fit, inside the borders.
    let room = usize::from(popup.height.saturating_sub(2));
    let shown: Vec<Line> = lines[lines.len().saturating_sub(room)..]
        .iter()
        .map(|line| Line::from(line.clone()))
        .collect();
    frame.render_widget(Clear, popup);
    frame.render_widget(
        Paragraph::new(shown).block(
            Block::default()
                .borders(Borders::ALL)
                .title(" master log (l or Esc closes) "),
        ),
        popup,
    );
}

fn draw_header(frame: &mut Frame, area: Rect, state: &State) {
    let status = state.test.as_ref().and_then(|t| t.status.clone()).unwrap_or_default();
    let phase = status.phase;
    let namespace = state
        .test
        .as_ref()
        .and_then(|t| t.metadata.namespace.clone())
        .unwrap_or_default();
    let elapsed = ran_for(&status, state.now);
    let mut spans = vec![
        Span::styled(state.title.clone(), Style::default().add_modifier(Modifier::BOLD)),
        Span::raw(if namespace.is_empty() {
            String::new()
        } else {
            format!("  ({namespace})")
        }),
        Span::raw("  "),
        Span::styled(
            phase.map_or("-", Phase::as_str).to_string(),
            Style::default().fg(phase_color(phase)).add_modifier(Modifier::BOLD),
        ),
    ];
    if let Some(elapsed) = elapsed {
        spans.push(Span::raw(format!("  {elapsed}")));
    }
    let mut lines = vec![Line::from(spans)];
    if state.gone {
        lines.push(Line::styled("the test was deleted", Style::default().fg(Color::Red)));
    } else if let Some(error) = &state.error {
        lines.push(Line::styled(
            format!("cannot read the test: {error} (showing the last data)"),
            Style::default().fg(Color::Yellow),
        ));
    } else if state.test.as_ref().is_some_and(|t| t.status.is_none()) {
        lines.push(Line::styled(
            "no status yet: waiting for the operator",
            Style::default().fg(Color::Yellow),
        ));
    }
    frame.render_widget(
        Paragraph::new(lines).block(Block::default().borders(Borders::BOTTOM)),
        area,
    );
}

fn draw_conditions(frame: &mut Frame, area: Rect, state: &State) {
    let conditions = state
        .test
        .as_ref()
        .and_then(|t| t.status.as_ref())
        .and_then(|s| s.conditions.clone())
        .unwrap_or_default();
    let rows = conditions.iter().map(|c| {
        let bad = match c.type_.as_str() {
            "SpecDrifted" => c.status == "True",
            "TestCompleted" => crate::render::table::failed_reason(&c.reason),
            _ => c.status == "False" && c.reason != "WaitingForWorkers" && c.reason != "PodsStarting",
        };
        let style = if bad {
            Style::default().fg(Color::Red)
        } else {
            Style::default()
        };
        Row::new(vec![
            c.type_.clone(),
            c.status.clone(),
            c.reason.clone(),
            c.message.clone(),
        ])
        .style(style)
    });
    let table = Table::new(
        rows,
        [
            Constraint::Length(16),
            Constraint::Length(6),
            Constraint::Length(20),
            Constraint::Min(10),
        ],
    )
    .header(Row::new(vec!["TYPE", "STATUS", "REASON", "MESSAGE"]).style(Style::default().add_modifier(Modifier::BOLD)))
    .block(Block::default().borders(Borders::ALL).title(" Conditions "));
    frame.render_widget(table, area);
}

fn draw_workers(frame: &mut Frame, area: Rect, state: &State) {
    let status = state.test.as_ref().and_then(|t| t.status.clone()).unwrap_or_default();
    let expected = status.expected_workers.unwrap_or(0).max(0);
    let connected = status.connected_workers.unwrap_or(0).max(0);
    let ratio = if expected == 0 {
        0.0
    } else {
        (f64::from(connected) / f64::from(expected)).min(1.0)
    };
    let color = if expected > 0 && connected >= expected {
        Color::Green
    } else {
        Color::Yellow
    };
    let gauge = Gauge::default()
        .block(Block::default().borders(Borders::ALL).title(" Workers connected "))
        .gauge_style(Style::default().fg(color))
        .ratio(ratio)
        .label(format!("{connected}/{expected}"));
    frame.render_widget(gauge, area);
}

fn draw_stats(frame: &mut Frame, area: Rect, state: &State) {
    let block = Block::default().borders(Borders::ALL).title(" Statistics ");
    let inner = block.inner(area);
    frame.render_widget(block, area);
    let stats = state
        .test
        .as_ref()
        .and_then(|t| t.status.as_ref())
        .and_then(|s| s.stats.clone());
    let Some(stats) = stats else {
        frame.render_widget(Paragraph::new("no statistics yet"), inner);
        return;
    };
    let ms = |v: Option<f64>| v.map_or("-".to_string(), |v| format!("{v:.0} ms"));
    let lines = vec![
        Line::from(format!("users {}   state {}", stats.users, stats.state)),
        Line::from(format!(
            "requests {}   rps {:.1}",
            stats.total_requests, stats.current_rps
        )),
        Line::styled(
            format!("failures {} ({:.2}%)", stats.total_failures, stats.fail_percent),
            if stats.total_failures > 0 {
                Style::default().fg(Color::Red)
            } else {
                Style::default()
            },
        ),
        Line::from(format!(
            "median {}   p95 {}",
            ms(stats.median_response_time),
            ms(stats.p95_response_time)
        )),
    ];
    let text_height = (lines.len() as u16).min(inner.height);
    let [text, chart] = Layout::vertical([Constraint::Length(text_height), Constraint::Min(0)]).areas(inner);
    frame.render_widget(Paragraph::new(lines), text);
    if chart.height > 0 {
        let data: Vec<u64> = state.rps.iter().copied().collect();
        let skip = data.len().saturating_sub(chart.width as usize);
        frame.render_widget(
            Sparkline::default()
                .data(&data[skip..])
                .style(Style::default().fg(Color::Cyan)),
            chart,
        );
    }
}

fn thresholds_block(view: &thresholds::View) -> Block<'static> {
    let title = format!(" Thresholds: {} ", view.heading);
    let title_style = if view.bad {
        Style::default().fg(Color::Red)
    } else if view.ended {
        Style::default().fg(Color::Green)
    } else {
        Style::default()
    };
    Block::default()
        .borders(Borders::ALL)
        .title(Span::styled(title, title_style))
}

/// The narrow form: the first limit in trouble (or why nothing was checked), else how many wait.
fn draw_thresholds_line(frame: &mut Frame, area: Rect, view: &thresholds::View) {
    let trouble = view.rows.iter().find(|row| row.standing.is_bad());
    let line = match (trouble, &view.note) {
        (_, Some(note)) => Line::styled(note.clone(), Style::default().fg(Color::Red)),
        (Some(row), None) => {
            let [subject, limit, allowed, measured, standing] = row.cells();
            Line::styled(
                format!("{standing}: {limit} of {subject} {measured}, {allowed}"),
                Style::default().fg(Color::Red),
            )
        }
        (None, None) => Line::from(format!("{} limits, none in trouble", view.rows.len())),
    };
    frame.render_widget(Paragraph::new(line).block(thresholds_block(view)), area);
}

/// Each limit against the run: live values while it runs, the verdict once it ended.
fn draw_thresholds(frame: &mut Frame, area: Rect, view: &thresholds::View) {
    let red = Style::default().fg(Color::Red);
    let note = view.note.iter().map(|note| Row::new(vec![note.clone()]).style(red));
    let limits = view.rows.iter().map(|row| {
        let bad = row.standing.is_bad();
        Row::new(row.cells().to_vec()).style(if bad { red } else { Style::default() })
    });
    let widths = [18, 21, 16, 11].map(Constraint::Length);
    let measured = if view.ended { "MEASURED" } else { "NOW" };
    let header = Row::new(vec!["SUBJECT", "LIMIT", "ALLOWED", measured, "RESULT"]);
    let table = Table::new(note.chain(limits), widths.into_iter().chain([Constraint::Min(10)]))
        .header(header.style(Style::default().add_modifier(Modifier::BOLD)))
        .block(thresholds_block(view));
    frame.render_widget(table, area);
}

fn draw_events(frame: &mut Frame, area: Rect, state: &State) {
    let visible = area.height.saturating_sub(2) as usize;
    let skip = state.events.len().saturating_sub(visible);
    let lines: Vec<Line> = state.events[skip..]
        .iter()
        .map(|event| {
            let style = if event.is_warning() {
                Style::default().fg(Color::Yellow)
            } else {
                Style::default()
            };
            Line::styled(format!("{} {}: {}", event.reason, event.object, event.message), style)
        })
        .collect();
    let paragraph = if lines.is_empty() {
        Paragraph::new("no events")
    } else {
        Paragraph::new(lines)
    };
    frame.render_widget(
        paragraph
            .wrap(Wrap { trim: true })
            .block(Block::default().borders(Borders::ALL).title(" Recent events ")),
        area,
    );
}

fn draw_picker(frame: &mut Frame, area: Rect, state: &State) {
    let [list, help] = Layout::vertical([Constraint::Min(3), Constraint::Length(1)]).areas(area);
    let tests = state.picker.as_ref().map(|p| p.tests.as_slice()).unwrap_or_default();
    let selected = state.picker.as_ref().map_or(0, |p| p.selected);
    let block = Block::default().borders(Borders::ALL).title(" LocustTests — pick one ");
    if tests.is_empty() {
        let text = match &state.error {
            Some(error) => format!("cannot list the tests: {error}"),
            None => "no LocustTests here yet (kubectl locust run NAME --locustfile FILE starts one)".to_string(),
        };
        frame.render_widget(Paragraph::new(text).wrap(Wrap { trim: true }).block(block), list);
    } else {
        let rows = tests.iter().enumerate().map(|(index, test)| {
            let status = test.status.clone().unwrap_or_default();
            let phase = status.phase;
            let workers = format!(
                "{}/{}",
                status.connected_workers.unwrap_or(0),
                status.expected_workers.unwrap_or(test.spec.worker.replicas)
            );
            let mut style = Style::default();
            if index == selected {
                style = style.add_modifier(Modifier::REVERSED);
            }
            Row::new(vec![
                ratatui::widgets::Cell::from(test.metadata.namespace.clone().unwrap_or_default()),
                ratatui::widgets::Cell::from(test.metadata.name.clone().unwrap_or_default()),
                ratatui::widgets::Cell::from(phase.map_or("-", Phase::as_str))
                    .style(Style::default().fg(phase_color(phase))),
                ratatui::widgets::Cell::from(workers),
            ])
            .style(style)
        });
        let table = Table::new(
            rows,
            [
                Constraint::Length(20),
                Constraint::Min(20),
                Constraint::Length(10),
                Constraint::Length(8),
            ],
        )
        .header(
            Row::new(vec!["NAMESPACE", "NAME", "PHASE", "WORKERS"])
                .style(Style::default().add_modifier(Modifier::BOLD)),
        )
        .block(block);
        frame.render_widget(table, list);
    }
    frame.render_widget(
        Paragraph::new(" ↑/↓ select   enter open   q quit   ? help").style(Style::default().fg(Color::DarkGray)),
        help,
    );
}

fn draw_help(frame: &mut Frame, area: Rect) {
    let width = area.width.min(56);
    let height = area.height.min(14);
    let popup = Rect::new(
        area.x + (area.width - width) / 2,
        area.y + (area.height - height) / 2,
        width,
        height,
    );
    let text = vec![
        Line::from("q, Ctrl-C       leave the view"),
        Line::from("Esc             back to the list / leave"),
        Line::from("↑/↓, Enter      pick a test from the list"),
        Line::from("w               Locust's web UI on a local port"),
        Line::from("s, then y       stop the test, keeping its results"),
        Line::from("l               the tail of the master's log"),
        Line::from("?               this help"),
        Line::from(""),
        Line::from("Leaving does not stop a cluster test; s does"),
        Line::from("(or `kubectl locust stop NAME`)."),
    ];
    frame.render_widget(Clear, popup);
    frame.render_widget(
        Paragraph::new(text).block(Block::default().borders(Borders::ALL).title(" Keys ")),
        popup,
    );
}
