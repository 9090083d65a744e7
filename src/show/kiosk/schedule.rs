//! A kiosk's opening hours: weekly windows in an IANA time zone, dated exceptions (other hours
//! that day, or closed), and the look shown while closed.
//!
//! A window belongs to the day it opens on; one that closes at or before its opening time runs
//! overnight into the next day (`20:00`–`02:00`). A date's exception replaces that date's
//! weekly windows, so an overnight window from the day before still runs into it. Civil times
//! become instants in the zone each day anew, so a window keeps its wall-clock hours on the
//! days the clocks change: a time that does not exist (spring forward) is taken an hour later,
//! one that exists twice (fall back) the first time, as calendars do (RFC 5545).

use std::collections::BTreeMap;

use jiff::Timestamp;
use jiff::civil::{Date, Time, Weekday};
use jiff::tz::TimeZone;

/// One opening window, in wall-clock time on the day it opens.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Window {
    pub from: Time,
    /// At or before `from`: the next day.
    pub to: Time,
}

impl Window {
    fn overnight(&self) -> bool {
        self.to <= self.from
    }
}

/// What a dated exception says of its day.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum DayHours {
    /// Closed all day (a holiday, a private event).
    Closed,
    /// These windows instead of the week's.
    Open(Vec<Window>),
}

/// What the kiosk shows while it is closed.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub enum ClosedLook {
    /// A black picture.
    #[default]
    Black,
    /// The display put to sleep (DPMS), woken at opening.
    Sleep,
    /// A calm preset, by name.
    Preset(String),
}

/// When a kiosk is open.
#[derive(Clone, Debug)]
pub struct Schedule {
    pub tz: TimeZone,
    /// Windows by weekday, Monday first.
    pub weekly: [Vec<Window>; 7],
    pub dates: BTreeMap<Date, DayHours>,
    pub closed: ClosedLook,
}

/// How far ahead [`Schedule::next_change`] looks: past the longest closure a gallery takes.
const LOOK_AHEAD_DAYS: i32 = 400;

impl Schedule {
    /// Open every day, all day, in UTC (a kiosk without a `[schedule]`).
    pub fn always() -> Self {
        let all_day = Window {
            from: Time::midnight(),
            to: Time::midnight(),
        };
        Self {
            tz: TimeZone::UTC,
            weekly: std::array::from_fn(|_| vec![all_day]),
            dates: BTreeMap::new(),
            closed: ClosedLook::Black,
        }
    }

    /// The windows that open on `date`.
    fn windows_on(&self, date: Date) -> &[Window] {
        match self.dates.get(&date) {
            Some(DayHours::Closed) => &[],
            Some(DayHours::Open(w)) => w,
            None => &self.weekly[weekday_index(date.weekday())],
        }
    }

    /// The instant wall-clock `time` on `date` is in the zone (see the module's rule for times
    /// the clocks skip or repeat).
    fn instant(&self, date: Date, time: Time) -> Option<Timestamp> {
        self.tz
            .to_ambiguous_zoned(date.to_datetime(time))
            .compatible()
            .ok()
            .map(|z| z.timestamp())
    }

    /// The instants of each window opening on `date`: [start, end).
    fn spans_on(&self, date: Date) -> impl Iterator<Item = (Timestamp, Timestamp)> + '_ {
        self.windows_on(date).iter().filter_map(move |w| {
            let end_date = if w.overnight() {
                date.tomorrow().ok()?
            } else {
                date
            };
            Some((self.instant(date, w.from)?, self.instant(end_date, w.to)?))
        })
    }

    /// Whether the kiosk is open at `at`.
    pub fn is_open(&self, at: Timestamp) -> bool {
        let today = at.to_zoned(self.tz.clone()).date();
        let days = [today.yesterday().ok(), Some(today)];
        days.into_iter()
            .flatten()
            .any(|d| self.spans_on(d).any(|(from, to)| from <= at && at < to))
    }

    /// The next instant after `at` at which the kiosk opens or closes; `None` if it never
    /// does within a year and a bit (always open, or closed for good).
    pub fn next_change(&self, at: Timestamp) -> Option<Timestamp> {
        let open = self.is_open(at);
        let mut day = at.to_zoned(self.tz.clone()).date().yesterday().ok()?;
        for _ in 0..LOOK_AHEAD_DAYS {
            let mut edges: Vec<Timestamp> = self
                .spans_on(day)
                .flat_map(|(from, to)| [from, to])
                .filter(|t| *t > at)
                .collect();
            edges.sort();
            if let Some(t) = edges.into_iter().find(|t| self.is_open(*t) != open) {
                return Some(t);
            }
            day = day.tomorrow().ok()?;
        }
        None
    }
}

/// Monday 0 .. Sunday 6.
pub fn weekday_index(d: Weekday) -> usize {
    d.to_monday_zero_offset() as usize
}

#[cfg(test)]
mod tests {
    use super::*;

    fn t(h: i8, m: i8) -> Time {
        Time::new(h, m, 0, 0).unwrap()
    }

    fn at(tz: &str, when: &str) -> Timestamp {
        let dt: jiff::civil::DateTime = when.parse().unwrap();
        dt.to_zoned(TimeZone::get(tz).unwrap()).unwrap().timestamp()
    }

    /// Tue–Sat 10:00–18:00, Fri and Sat also 20:00–02:00, in Berlin.
    fn gallery() -> Schedule {
        let mut weekly: [Vec<Window>; 7] = Default::default();
        for day in &mut weekly[1..=5] {
            day.push(Window {
                from: t(10, 0),
                to: t(18, 0),
            });
        }
        for d in [4, 5] {
            weekly[d].push(Window {
                from: t(20, 0),
                to: t(2, 0),
            });
        }
        Schedule {
            tz: TimeZone::get("Europe/Berlin").unwrap(),
            weekly,
            dates: BTreeMap::new(),
            closed: ClosedLook::Black,
        }
    }

    #[test]
    fn weekly_hours_open_and_close_on_the_wall_clock() {
        let s = gallery();
        let berlin = |w| at("Europe/Berlin", w);
        // 2026-12-01 is a Tuesday.
        assert!(!s.is_open(berlin("2026-12-01T09:59")));
        assert!(s.is_open(berlin("2026-12-01T10:00")));
        assert!(s.is_open(berlin("2026-12-01T17:59")));
        assert!(!s.is_open(berlin("2026-12-01T18:00")));
        assert!(!s.is_open(berlin("2026-11-30T12:00")), "closed on Mondays");
        assert_eq!(
            s.next_change(berlin("2026-12-01T12:00")),
            Some(berlin("2026-12-01T18:00"))
        );
        assert_eq!(
            s.next_change(berlin("2026-11-30T12:00")),
            Some(berlin("2026-12-01T10:00")),
            "Monday: the next change is Tuesday's opening"
        );
    }

    #[test]
    fn an_overnight_window_runs_into_the_next_day() {
        let s = gallery();
        let berlin = |w| at("Europe/Berlin", w);
        // Friday 2026-12-04 20:00 to Saturday 02:00; Saturday's own night to Sunday 02:00.
        assert!(s.is_open(berlin("2026-12-04T23:30")));
        assert!(s.is_open(berlin("2026-12-05T01:59")));
        assert!(!s.is_open(berlin("2026-12-05T02:00")));
        assert!(
            s.is_open(berlin("2026-12-06T01:00")),
            "Saturday night into Sunday"
        );
        assert!(!s.is_open(berlin("2026-12-06T12:00")));
        assert_eq!(
            s.next_change(berlin("2026-12-04T19:00")),
            Some(berlin("2026-12-04T20:00"))
        );
        assert_eq!(
            s.next_change(berlin("2026-12-04T21:00")),
            Some(berlin("2026-12-05T02:00"))
        );
    }

    #[test]
    fn a_closure_date_closes_its_own_windows_but_not_the_night_before() {
        let mut s = gallery();
        let berlin = |w| at("Europe/Berlin", w);
        // Saturday 2026-12-05 closed; Friday's night still runs to 02:00 into it.
        s.dates
            .insert("2026-12-05".parse().unwrap(), DayHours::Closed);
        assert!(s.is_open(berlin("2026-12-05T01:00")));
        assert!(!s.is_open(berlin("2026-12-05T12:00")));
        assert!(!s.is_open(berlin("2026-12-05T22:00")));
        assert!(!s.is_open(berlin("2026-12-06T01:00")));
        // Other hours on a date replace the week's.
        s.dates.insert(
            "2026-12-08".parse().unwrap(),
            DayHours::Open(vec![Window {
                from: t(12, 0),
                to: t(14, 0),
            }]),
        );
        assert!(!s.is_open(berlin("2026-12-08T11:00")));
        assert!(s.is_open(berlin("2026-12-08T13:00")));
        assert_eq!(
            s.next_change(berlin("2026-12-05T03:00")),
            Some(berlin("2026-12-08T12:00")),
            "closed Saturday, Sunday and Monday, then the special hours"
        );
    }

    #[test]
    fn hours_keep_the_wall_clock_across_both_daylight_saving_changes() {
        let mut weekly: [Vec<Window>; 7] = Default::default();
        for day in &mut weekly {
            day.push(Window {
                from: t(10, 0),
                to: t(18, 0),
            });
            day.push(Window {
                from: t(22, 0),
                to: t(3, 0),
            });
        }
        let s = Schedule {
            tz: TimeZone::get("Europe/Berlin").unwrap(),
            weekly,
            dates: BTreeMap::new(),
            closed: ClosedLook::Black,
        };
        let utc = |w| at("UTC", w);
        // Sunday 2026-03-29: CET (UTC+1) until 02:00, then CEST (UTC+2).
        assert!(
            !s.is_open(utc("2026-03-28T08:59")),
            "09:59 CET the day before"
        );
        assert!(s.is_open(utc("2026-03-28T09:00")), "10:00 CET");
        assert!(
            s.is_open(utc("2026-03-29T08:00")),
            "10:00 CEST, the day of the change"
        );
        assert!(!s.is_open(utc("2026-03-29T07:59")), "09:59 CEST");
        // The night of the change closes at 03:00 CEST = 01:00 UTC: an hour shorter.
        assert!(s.is_open(utc("2026-03-29T00:59")));
        assert!(!s.is_open(utc("2026-03-29T01:00")));
        // Sunday 2026-10-25: CEST until 03:00, then CET. The night closes at 03:00 CET
        // (02:00 UTC), an hour longer; the day opens at 10:00 CET (09:00 UTC).
        assert!(s.is_open(utc("2026-10-25T01:59")));
        assert!(!s.is_open(utc("2026-10-25T02:00")));
        assert!(!s.is_open(utc("2026-10-25T08:59")));
        assert!(s.is_open(utc("2026-10-25T09:00")));
        assert_eq!(
            s.next_change(utc("2026-10-25T00:00")),
            Some(utc("2026-10-25T02:00"))
        );
    }

    #[test]
    fn a_window_opening_in_the_skipped_hour_opens_at_its_end() {
        let mut weekly: [Vec<Window>; 7] = Default::default();
        weekly[6].push(Window {
            from: t(2, 30),
            to: t(4, 0),
        });
        let s = Schedule {
            tz: TimeZone::get("Europe/Berlin").unwrap(),
            weekly,
            dates: BTreeMap::new(),
            closed: ClosedLook::Black,
        };
        // 02:30 does not exist on 2026-03-29: it opens at 03:30 CEST (01:30 UTC).
        assert!(!s.is_open(at("UTC", "2026-03-29T01:29")));
        assert!(s.is_open(at("UTC", "2026-03-29T01:30")));
    }

    #[test]
    fn always_open_never_changes() {
        let s = Schedule::always();
        let now = at("UTC", "2026-12-01T12:00");
        assert!(s.is_open(now));
        assert_eq!(s.next_change(now), None);
    }
}
