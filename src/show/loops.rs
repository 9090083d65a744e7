//! Loop regions: `[[loop]] from, to, times` plays the stretch of the score between `from` and
//! `to` `times` times in all. The score (everything the cue file writes) stays as written; the
//! show clock maps onto it. The sound is unrolled at compile time (each pass's events copied,
//! everything after shifted, notes released at each jump back: `compile::loop_regions`); the
//! picture maps the show time to score time and evaluates there, so both jump back together.

/// One loop region, in score seconds.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct Loop {
    pub from_s: f64,
    pub to_s: f64,
    /// How many times the region plays in all (1: no repeat).
    pub times: u32,
}

impl Loop {
    pub fn len_s(&self) -> f64 {
        self.to_s - self.from_s
    }

    /// How much later everything after the region happens.
    pub fn extra_s(&self) -> f64 {
        self.len_s() * f64::from(self.times.saturating_sub(1))
    }
}

/// The score time a show time plays. `loops` sorted and not overlapping.
pub fn score_time(loops: &[Loop], show_s: f64) -> f64 {
    let mut shift = 0.0;
    for l in loops {
        let from = l.from_s + shift;
        let end = from + l.len_s() * f64::from(l.times);
        if show_s < from {
            break;
        }
        if show_s < end {
            return l.from_s + (show_s - from) % l.len_s();
        }
        shift += l.extra_s();
    }
    show_s - shift
}

/// The first show time that plays score time `score_s` (its first pass, inside a loop).
pub fn show_time(loops: &[Loop], score_s: f64) -> f64 {
    score_s
        + loops
            .iter()
            .filter(|l| l.to_s <= score_s)
            .map(Loop::extra_s)
            .sum::<f64>()
}

/// The show's length once the loops play: the score's plus every repeat.
pub fn show_length_s(loops: &[Loop], score_s: f64) -> f64 {
    score_s + loops.iter().map(Loop::extra_s).sum::<f64>()
}

#[cfg(test)]
mod tests {
    use super::*;

    const LOOPS: [Loop; 2] = [
        Loop {
            from_s: 10.0,
            to_s: 14.0,
            times: 3,
        },
        Loop {
            from_s: 20.0,
            to_s: 21.0,
            times: 2,
        },
    ];

    #[test]
    fn the_show_clock_maps_onto_the_score_through_each_pass() {
        let at = |t| score_time(&LOOPS, t);
        assert_eq!(at(5.0), 5.0);
        assert_eq!(at(11.0), 11.0);
        assert_eq!(at(15.0), 11.0, "second pass");
        assert_eq!(at(21.5), 13.5, "third pass");
        assert_eq!(at(22.0), 14.0, "after the loop, 8 s later");
        assert_eq!(at(28.5), 20.5);
        assert_eq!(at(29.5), 20.5, "the second loop's second pass");
        assert_eq!(at(40.0), 31.0);
        assert_eq!(show_length_s(&LOOPS, 60.0), 69.0);
    }
}
