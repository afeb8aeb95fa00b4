//! The console front end: pick drives, choose the method, confirm, watch each
//! drive's progress, read the results.

use std::collections::BTreeSet;
use std::io::Stdout;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::{Duration, Instant};

use boot::config::StickConfig;
use boot::session::{self, Board, Choice, Drive, DriveStatus};
use boot::stick::Stick;
use certs::Ledger;
use ratatui::backend::CrosstermBackend;
use ratatui::crossterm::event::{self, Event, KeyCode, KeyEventKind};
use ratatui::crossterm::terminal;
use ratatui::layout::{Constraint, Layout, Rect};
use ratatui::style::{Modifier, Style};
use ratatui::text::Line;
use ratatui::widgets::{Block, Borders, Gauge, Paragraph, Row, Table, TableState, Wrap};
use ratatui::{Terminal, TerminalOptions, Viewport};
use shred::method::Method;
use shred::wipe::VerifyMode;

type Term = Terminal<CrosstermBackend<Stdout>>;

const METHODS: [Method; 5] = [
    Method::Clear,
    Method::Zero,
    Method::Dod3,
    Method::Dod7,
    Method::Gutmann,
];
const VERIFICATIONS: [VerifyMode; 4] = [
    VerifyMode::Sample,
    VerifyMode::Full,
    VerifyMode::Last,
    VerifyMode::Off,
];

/// One line about a drive, for the console and the list.
pub fn describe(drive: &Drive) -> String {
    let d = &drive.device;
    format!(
        "{:<8} {:>10}  {:<6} {:<24} serial {:<20} {}",
        d.name,
        session::human_bytes(d.size_bytes),
        d.transport.to_string(),
        clean(d.model.as_deref().unwrap_or("-")),
        clean(d.serial.as_deref().unwrap_or("-")),
        status_text(drive)
    )
}

fn status_text(drive: &Drive) -> String {
    match &drive.status {
        DriveStatus::Available(_) => String::new(),
        DriveStatus::BootStick => "boot stick (protected)".into(),
        DriveStatus::Refused(why) => format!("not wipeable: {why}"),
    }
}

/// Control characters from a drive's firmware must not reach the terminal.
fn clean(text: &str) -> String {
    text.chars()
        .map(|c| if c.is_control() { '?' } else { c })
        .collect()
}

fn next<T: Copy + PartialEq>(all: &[T], current: T) -> T {
    let at = all.iter().position(|&x| x == current).unwrap_or(0);
    all[(at + 1) % all.len()]
}

enum Screen {
    Select,
    Confirm(String),
}

pub fn run(
    mut choice: Choice,
    drives: &[Drive],
    stick: &Stick,
    ledger: &Ledger,
    config: &StickConfig,
    stop: &AtomicBool,
) -> Result<(), String> {
    let mut term = open_terminal()?;
    let result = (|| {
        let mut selected: BTreeSet<usize> = BTreeSet::new();
        let mut table = TableState::default().with_selected(Some(0));
        let mut screen = Screen::Select;
        loop {
            term.draw(|frame| {
                let area = frame.area();
                match &screen {
                    Screen::Select => {
                        draw_select(frame, area, drives, &selected, &mut table, choice)
                    }
                    Screen::Confirm(typed) => {
                        draw_confirm(frame, area, drives, &selected, choice, typed)
                    }
                }
            })
            .map_err(|e| e.to_string())?;
            let Some(key) = read_key(Duration::from_millis(500))? else {
                continue;
            };
            match &mut screen {
                Screen::Select => match key {
                    KeyCode::Char('q') => return Ok(()),
                    KeyCode::Up => {
                        let at = table.selected().unwrap_or(0);
                        table.select(Some(at.saturating_sub(1)));
                    }
                    KeyCode::Down => {
                        let at = table.selected().unwrap_or(0);
                        table.select(Some((at + 1).min(drives.len().saturating_sub(1))));
                    }
                    KeyCode::Char(' ') => {
                        if let Some(at) = table.selected() {
                            if drives.get(at).and_then(Drive::target).is_some()
                                && !selected.remove(&at)
                            {
                                selected.insert(at);
                            }
                        }
                    }
                    KeyCode::Char('a') => {
                        selected = (0..drives.len())
                            .filter(|&i| drives[i].target().is_some())
                            .collect();
                    }
                    KeyCode::Char('m') => choice.method = next(&METHODS, choice.method),
                    KeyCode::Char('v') => choice.verify = next(&VERIFICATIONS, choice.verify),
                    KeyCode::Enter if !selected.is_empty() => {
                        screen = Screen::Confirm(String::new())
                    }
                    _ => {}
                },
                Screen::Confirm(typed) => match key {
                    KeyCode::Esc => screen = Screen::Select,
                    KeyCode::Backspace => {
                        typed.pop();
                    }
                    KeyCode::Char(c) if typed.len() < 16 => typed.push(c),
                    KeyCode::Enter if typed == "ERASE" => break,
                    KeyCode::Enter => typed.clear(),
                    _ => {}
                },
            }
        }
        let targets: Vec<_> = selected
            .iter()
            .filter_map(|&i| drives[i].target().cloned())
            .collect();
        let options = session::options(choice, config);
        let board = Board::default();
        let outcomes = std::thread::scope(|scope| {
            let worker =
                scope.spawn(|| session::wipe(&targets, &options, ledger, config, &board, stop));
            let started = Instant::now();
            let mut aborting = false;
            while !worker.is_finished() {
                let _ = term
                    .draw(|frame| draw_progress(frame, frame.area(), &board, started, aborting));
                if let Ok(Some(key)) = read_key(Duration::from_millis(250)) {
                    match (aborting, key) {
                        (false, KeyCode::Esc) => aborting = true,
                        (true, KeyCode::Char('y')) => stop.store(true, Ordering::Relaxed),
                        (true, _) => aborting = false,
                        _ => {}
                    }
                }
            }
            worker.join().expect("the wipe thread does not panic")
        });
        let mut lines = session::summary_lines(&outcomes, drives);
        lines.extend(crate::record_run(stick, ledger, &lines));
        loop {
            term.draw(|frame| draw_done(frame, frame.area(), &lines, stick))
                .map_err(|e| e.to_string())?;
            if let Some(KeyCode::Enter) = read_key(Duration::from_millis(500))? {
                return Ok(());
            }
        }
    })();
    let _ = terminal::disable_raw_mode();
    let _ = term.clear();
    result
}

fn open_terminal() -> Result<Term, String> {
    terminal::enable_raw_mode().map_err(|e| format!("console: {e}"))?;
    let backend = CrosstermBackend::new(std::io::stdout());
    // A serial console reports no size; assume the classic one.
    let viewport = match terminal::size() {
        Ok((w, h)) if w > 0 && h > 0 => Viewport::Fullscreen,
        _ => Viewport::Fixed(Rect::new(0, 0, 80, 24)),
    };
    let mut term =
        Terminal::with_options(backend, TerminalOptions { viewport }).map_err(|e| e.to_string())?;
    term.clear().map_err(|e| e.to_string())?;
    Ok(term)
}

fn read_key(wait: Duration) -> Result<Option<KeyCode>, String> {
    if !event::poll(wait).map_err(|e| e.to_string())? {
        return Ok(None);
    }
    match event::read().map_err(|e| e.to_string())? {
        Event::Key(key) if key.kind == KeyEventKind::Press => Ok(Some(key.code)),
        _ => Ok(None),
    }
}

fn draw_select(
    frame: &mut ratatui::Frame,
    area: Rect,
    drives: &[Drive],
    selected: &BTreeSet<usize>,
    table: &mut TableState,
    choice: Choice,
) {
    let [top, help] = Layout::vertical([Constraint::Min(3), Constraint::Length(3)]).areas(area);
    let rows = drives.iter().enumerate().map(|(i, drive)| {
        let d = &drive.device;
        let mark = match (&drive.status, selected.contains(&i)) {
            (DriveStatus::Available(_), true) => "[x]",
            (DriveStatus::Available(_), false) => "[ ]",
            _ => " - ",
        };
        let row = Row::new(vec![
            mark.to_string(),
            d.name.clone(),
            session::human_bytes(d.size_bytes),
            d.transport.to_string(),
            clean(d.model.as_deref().unwrap_or("-")),
            clean(d.serial.as_deref().unwrap_or("-")),
            status_text(drive),
        ]);
        if drive.target().is_some() {
            row
        } else {
            row.style(Style::default().add_modifier(Modifier::DIM))
        }
    });
    let widths = [
        Constraint::Length(3),
        Constraint::Length(8),
        Constraint::Length(10),
        Constraint::Length(6),
        Constraint::Length(16),
        Constraint::Length(16),
        Constraint::Min(10),
    ];
    let title = format!(
        " wisp: choose drives to ERASE - method {}, verification {} ",
        choice.method.name(),
        choice.verify.name()
    );
    let list = Table::new(rows, widths)
        .header(
            Row::new(["", "drive", "size", "bus", "model", "serial", ""])
                .style(Style::default().add_modifier(Modifier::BOLD)),
        )
        .block(Block::default().borders(Borders::ALL).title(title))
        .row_highlight_style(Style::default().add_modifier(Modifier::REVERSED));
    frame.render_stateful_widget(list, top, table);
    frame.render_widget(
        Paragraph::new(
            "↑↓ move  Space select  a select all  m method  v verification  Enter erase selected  q power off",
        )
        .wrap(Wrap { trim: true })
        .block(Block::default().borders(Borders::ALL)),
        help,
    );
}

fn draw_confirm(
    frame: &mut ratatui::Frame,
    area: Rect,
    drives: &[Drive],
    selected: &BTreeSet<usize>,
    choice: Choice,
    typed: &str,
) {
    let mut lines = vec![
        Line::from(format!(
            "These drives will be ERASED with {} and verified ({}), beyond recovery:",
            choice.method.name(),
            choice.verify.name()
        )),
        Line::from(""),
    ];
    lines.extend(
        selected
            .iter()
            .map(|&i| Line::from(format!("  {}", describe(&drives[i])))),
    );
    lines.push(Line::from(""));
    lines.push(Line::from(
        "Type ERASE and press Enter to begin; Esc goes back.",
    ));
    lines.push(Line::from(format!("> {typed}")));
    frame.render_widget(
        Paragraph::new(lines)
            .wrap(Wrap { trim: false })
            .block(Block::default().borders(Borders::ALL).title(" confirm ")),
        area,
    );
}

fn draw_progress(
    frame: &mut ratatui::Frame,
    area: Rect,
    board: &Board,
    started: Instant,
    aborting: bool,
) {
    let slots = board.slots.lock().expect("not poisoned").clone();
    let mut constraints: Vec<Constraint> = slots.iter().map(|_| Constraint::Length(3)).collect();
    constraints.push(Constraint::Min(1));
    let areas = Layout::vertical(constraints).split(area);
    let seconds = started.elapsed().as_secs_f64().max(0.001);
    for (slot, &place) in slots.iter().zip(areas.iter()) {
        let done = slot.done.load(Ordering::Relaxed);
        let total = slot.total.load(Ordering::Relaxed).max(1);
        let phase = slot.phase.lock().expect("not poisoned").0.clone();
        let ratio = (done as f64 / total as f64).clamp(0.0, 1.0);
        let speed = match slot.rate() {
            Some(rate) if rate > 0.0 && phase != "done" => format!(
                "  {}/s  {:.0} s left",
                session::human_bytes(rate as u64),
                total.saturating_sub(done) as f64 / rate
            ),
            _ => String::new(),
        };
        frame.render_widget(
            Gauge::default()
                .block(Block::default().borders(Borders::ALL).title(format!(
                    " {}: {} ",
                    slot.name.display(),
                    phase
                )))
                .ratio(ratio)
                .label(format!(
                    "{:.1}%  {} of {}{speed}",
                    ratio * 100.0,
                    session::human_bytes(done),
                    session::human_bytes(total)
                )),
            place,
        );
    }
    let footer = if aborting {
        "Stop every wipe now? The drives will be left partly erased and NOT certified. y = stop, any other key = go on"
            .to_string()
    } else {
        format!("{:.0} s elapsed   Esc: stop", seconds)
    };
    if let Some(&last) = areas.last() {
        frame.render_widget(Paragraph::new(footer).wrap(Wrap { trim: true }), last);
    }
}

fn draw_done(frame: &mut ratatui::Frame, area: Rect, lines: &[String], stick: &Stick) {
    let mut text: Vec<Line> = lines.iter().map(|l| Line::from(l.clone())).collect();
    text.push(Line::from(""));
    text.push(Line::from(format!(
        "Certificates are on the stick's {} partition: ledger/ (verify with `wisp certs verify`) and exports/ (PDF, CSV, JSON).",
        boot::CERTS_LABEL
    )));
    text.push(Line::from(format!("This stick: {}.", stick.image_id)));
    text.push(Line::from("Press Enter to power off."));
    frame.render_widget(
        Paragraph::new(text)
            .wrap(Wrap { trim: false })
            .block(Block::default().borders(Borders::ALL).title(" done ")),
        area,
    );
}
