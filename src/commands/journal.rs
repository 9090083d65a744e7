//! `somnia journal FILE`: a show's journal as a readable timeline, for reviewing a show or a
//! kiosk's day: when each live input came and from whom (the keyboard, an OSC sender, a MIDI
//! port, the console, the audience), the files the show used and every saved change, what
//! happened to it, and how it ended. With `--engine`, every entry the engine applied too.

use std::path::Path;

use super::EXIT_BAD_INPUT;
use crate::bridge::Applied;
use crate::show::journal::{Journal, Record, clock_label};

pub fn run(path: &Path, engine: bool) -> i32 {
    let journal = match Journal::read(path) {
        Ok(j) => j,
        Err(e) => {
            eprintln!("somnia journal: {e}");
            return EXIT_BAD_INPUT;
        }
    };
    for line in timeline(&journal, engine) {
        println!("{line}");
    }
    0
}

/// The journal's lines, in order.
pub fn timeline(journal: &Journal, engine: bool) -> Vec<String> {
    let Some(start) = journal.start() else {
        return Vec::new();
    };
    let rate = start.sample_rate_hz;
    // Times as heard: the engine's output frame less the limiter's lookahead.
    let at = |frame: u64| clock_label(frame.saturating_sub(u64::from(start.latency_frames)), rate);
    let mut lines = vec![format!(
        "`{}`: somnia {} {} (Somnia {}), began {}, {} Hz, limiter {}, flash guard {}",
        start.title,
        start.command,
        if start.width > 0 {
            format!("{}x{}", start.width, start.height)
        } else {
            String::new()
        },
        start.somnia,
        start.started_utc,
        rate,
        if start.master.limiter_enabled {
            format!("at {:.1} dBTP", start.master.limiter_ceiling_db)
        } else {
            "off".into()
        },
        if start.flash_guard { "on" } else { "off" },
    )];
    let mut inputs = 0u64;
    let mut entries = 0u64;
    for record in &journal.records {
        match record {
            Record::Start(_) | Record::Clock { .. } => {}
            // What the picture was drawn from: its inputs are above, as they arrived.
            Record::Look { frame, look, .. } if engine => {
                lines.push(format!("{}  picture   {look:?}", at(*frame)))
            }
            Record::Plan { frame, plan } if engine => {
                lines.push(format!("{}  picture   {plan:?}", at(*frame)))
            }
            Record::Crowd { frame, crowd, .. } if engine => lines.push(format!(
                "{}  picture   the crowd: {} phone(s), energy {:.2}, agreement {:.2}",
                at(*frame),
                crowd.size,
                crowd.energy,
                crowd.agreement
            )),
            Record::Look { .. } | Record::Plan { .. } | Record::Crowd { .. } => {}
            Record::Join { frame, url, always } => lines.push(format!(
                "{}  show      the audience joins at {url}{}",
                at(*frame),
                if *always {
                    " (its code always shown)"
                } else {
                    ""
                }
            )),
            Record::File { frame, path, bytes } => lines.push(format!(
                "{}  file      {path} ({} bytes)",
                at(*frame),
                bytes.len()
            )),
            Record::Input { frame, from, what } => {
                inputs += 1;
                lines.push(format!("{}  {from:<9} {what}", at(*frame)));
            }
            Record::Said { frame, what } => lines.push(format!("{}  show      {what}", at(*frame))),
            Record::Engine(e) => {
                entries += 1;
                let transport = match e.what {
                    Applied::Pause(true) => Some("paused".to_string()),
                    Applied::Pause(false) => Some("playing".to_string()),
                    Applied::Seek(sample) => Some(format!(
                        "located to {:.3} s",
                        sample as f64 / f64::from(rate)
                    )),
                    Applied::Rate(r) => Some(format!("show rate {r:.4}")),
                    Applied::Event(_) => None,
                };
                match (transport, engine) {
                    (Some(t), _) => lines.push(format!("{}  engine    {t}", at(e.frame))),
                    (None, true) => {
                        if let Applied::Event(kind) = e.what {
                            lines.push(format!("{}  engine    {kind}", at(e.frame)));
                        }
                    }
                    (None, false) => {}
                }
            }
            Record::End { frame, dropped } => lines.push(format!(
                "{}  end       the show ended{}",
                at(*frame),
                if *dropped > 0 {
                    format!(" ({dropped} engine entries lost)")
                } else {
                    String::new()
                }
            )),
        }
    }
    if !journal.ended() {
        lines.push(format!(
            "{}  cut off   the journal ends here: the show did not end cleanly{}",
            at(journal.frames()),
            if journal.torn_bytes > 0 {
                format!(
                    " ({} bytes of a last record left aside)",
                    journal.torn_bytes
                )
            } else {
                String::new()
            }
        ));
    }
    lines.push(format!(
        "{inputs} live input(s); {entries} engine entries over {}",
        at(journal.frames())
    ));
    lines
}
