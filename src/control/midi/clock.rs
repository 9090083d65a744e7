//! Following an external MIDI clock: its beat and its tempo.

/// Tempo from MIDI clock: 24 ticks a quarter note. The tempo is the slope of a straight line
/// fitted through the last two beats of ticks, not the time between two of them: ticks arrive
/// with the jitter of the sender and of the MIDI system's periods (5 ms under JACK at 256
/// frames), which a line through many averages away.
#[derive(Clone, Debug, Default)]
pub struct ClockFollower {
    ticks: std::collections::VecDeque<f64>,
}

impl ClockFollower {
    /// Ticks the line is fitted through.
    const WINDOW: usize = 48;

    /// A clock tick at `time_s`; returns the tempo once a beat's worth of ticks is in.
    pub fn tick(&mut self, time_s: f64) -> Option<f64> {
        if self.ticks.back().is_some_and(|t| time_s - t > 1.0) {
            self.ticks.clear(); // the clock stopped: start again
        }
        self.ticks.push_back(time_s);
        if self.ticks.len() > Self::WINDOW {
            self.ticks.pop_front();
        }
        let n = self.ticks.len();
        if n < 25 {
            return None;
        }
        // Least squares: seconds per tick.
        let t0 = self.ticks[0];
        let mean_i = (n - 1) as f64 / 2.0;
        let mean_t = self.ticks.iter().map(|t| t - t0).sum::<f64>() / n as f64;
        let (mut num, mut den) = (0.0, 0.0);
        for (i, t) in self.ticks.iter().enumerate() {
            let di = i as f64 - mean_i;
            num += di * (t - t0 - mean_t);
            den += di * di;
        }
        let tick_s = num / den;
        (tick_s > 0.0).then(|| (60.0 / (24.0 * tick_s)).clamp(10.0, 400.0))
    }
}

/// Where an external MIDI clock is: its tempo and the beat its last tick marked.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct ClockReading {
    /// Beats since the clock's start (song position included), at the tick.
    pub beats: f64,
    pub bpm: f64,
}

/// Beat phase and tempo from MIDI clock, start, stop, continue and song position: the next
/// tick after a start is beat 0's; each 24 more are a beat.
#[derive(Clone, Debug)]
pub struct BeatClock {
    follower: ClockFollower,
    /// The tick count the next tick will mark.
    next_tick: u64,
    running: bool,
}

impl Default for BeatClock {
    /// Running: a clock joined mid-song (no start seen) still gives a beat.
    fn default() -> Self {
        Self {
            follower: ClockFollower::default(),
            next_tick: 0,
            running: true,
        }
    }
}

impl BeatClock {
    /// A tick at `time_s`: the reading once the tempo is known, if the clock runs.
    pub fn tick(&mut self, time_s: f64) -> Option<ClockReading> {
        let bpm = self.follower.tick(time_s);
        if !self.running {
            return None;
        }
        let beats = self.next_tick as f64 / 24.0;
        self.next_tick += 1;
        bpm.map(|bpm| ClockReading { beats, bpm })
    }

    pub fn start(&mut self) {
        self.next_tick = 0;
        self.running = true;
    }

    pub fn resume(&mut self) {
        self.running = true;
    }

    pub fn stop(&mut self) {
        self.running = false;
    }

    /// Song position pointer: six ticks a sixteenth.
    pub fn locate(&mut self, sixteenths: u16) {
        self.next_tick = u64::from(sixteenths) * 6;
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_beat_clock_counts_from_start_and_song_position() {
        let mut c = BeatClock::default();
        c.start();
        let tick_s = 0.5 / 24.0;
        let readings: Vec<_> = (0..49)
            .filter_map(|i| c.tick(f64::from(i) * tick_s))
            .collect();
        // The tempo is known from the 25th tick (a whole beat) on: beat 1.
        assert_eq!(readings[0].beats, 1.0);
        assert!((readings[0].bpm - 120.0).abs() < 1e-6);
        assert_eq!(readings.last().unwrap().beats, 2.0);
        c.locate(16); // bar 2 of 4/4
        assert_eq!(c.tick(49.0 * tick_s).unwrap().beats, 4.0);
        c.stop();
        assert_eq!(c.tick(50.0 * tick_s), None);
        c.resume();
        assert_eq!(c.tick(51.0 * tick_s).unwrap().beats, 4.0 + 1.0 / 24.0);
    }

    #[test]
    fn midi_clock_gives_the_tempo() {
        let mut c = ClockFollower::default();
        let mut bpm = None;
        for i in 0..48 {
            bpm = c.tick(f64::from(i) * 0.5 / 24.0).or(bpm);
        }
        assert!((bpm.unwrap() - 120.0).abs() < 1e-6);
    }

    #[test]
    fn midi_clock_jitter_is_averaged_away() {
        let mut c = ClockFollower::default();
        let mut bpm = None;
        // 100 bpm, each tick up to 5 ms late (a JACK period), in a fixed pseudo-random pattern.
        for i in 0..48u32 {
            let late_s = f64::from((i * 7919) % 11) / 10.0 * 0.005;
            bpm = c.tick(f64::from(i) * 0.025 + late_s).or(bpm);
        }
        assert!((bpm.unwrap() - 100.0).abs() < 0.3, "{bpm:?}");
    }
}
