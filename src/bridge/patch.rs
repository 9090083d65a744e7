//! A patch: everything a voice needs to know about its sound; and the master bus's settings. It is a message payload (a
//! preset's patch travels the event queue to the audio thread by value), so it lives on the
//! floor with the events that carry it; `audio::synth` plays it and `show::patch` reads it
//! from files. Every type here is `Copy`, so sending a whole patch never allocates.

/// The oscillator shape.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Default, serde::Serialize, serde::Deserialize)]
pub enum Waveform {
    #[default]
    Saw,
    Square,
    Triangle,
    Sine,
    /// A sine carrier phase-modulated by a sine at `fm_ratio` times its frequency.
    Fm,
    /// White noise (deterministic: seeded per note).
    Noise,
}

impl Waveform {
    pub const NAMES: [&'static str; 6] = ["saw", "square", "triangle", "sine", "fm", "noise"];

    pub fn from_name(name: &str) -> Option<Self> {
        match name {
            "saw" => Some(Self::Saw),
            "square" => Some(Self::Square),
            "triangle" => Some(Self::Triangle),
            "sine" => Some(Self::Sine),
            "fm" => Some(Self::Fm),
            "noise" => Some(Self::Noise),
            _ => None,
        }
    }
}

/// One oscillator of a patch.
#[derive(Clone, Copy, Debug, PartialEq, serde::Serialize, serde::Deserialize)]
pub struct OscSpec {
    pub waveform: Waveform,
    /// Mix level, 0..1.
    pub level: f32,
    /// Transposition in semitones.
    pub semitones: f32,
    pub detune_cents: f32,
    /// Stacked copies, 1..=MAX_UNISON, spread evenly over `unison_cents`.
    pub unison: u8,
    pub unison_cents: f32,
    pub fm_ratio: f32,
    pub fm_index: f32,
}

impl Default for OscSpec {
    fn default() -> Self {
        Self {
            waveform: Waveform::Saw,
            level: 0.7,
            semitones: 0.0,
            detune_cents: 0.0,
            unison: 1,
            unison_cents: 0.0,
            fm_ratio: 2.0,
            fm_index: 1.0,
        }
    }
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, Default, serde::Serialize, serde::Deserialize)]
pub enum FilterMode {
    #[default]
    Lowpass,
    Bandpass,
    Highpass,
}

impl FilterMode {
    pub const NAMES: [&'static str; 3] = ["lowpass", "bandpass", "highpass"];

    pub fn from_name(name: &str) -> Option<Self> {
        match name {
            "lowpass" => Some(Self::Lowpass),
            "bandpass" => Some(Self::Bandpass),
            "highpass" => Some(Self::Highpass),
            _ => None,
        }
    }
}

#[derive(Clone, Copy, Debug, PartialEq, serde::Serialize, serde::Deserialize)]
pub struct FilterSpec {
    pub mode: FilterMode,
    pub cutoff_hz: f32,
    /// 0 (none) to 1 (edge of self-oscillation).
    pub resonance: f32,
    /// How far the filter envelope moves the cutoff, in octaves (may be negative).
    pub env_octaves: f32,
    /// 0: cutoff ignores the note; 1: cutoff follows the note's pitch exactly (from C4).
    pub key_track: f32,
    /// Extra octaves of cutoff at full velocity.
    pub velocity_octaves: f32,
}

impl Default for FilterSpec {
    fn default() -> Self {
        Self {
            mode: FilterMode::Lowpass,
            cutoff_hz: 2_400.0,
            resonance: 0.2,
            env_octaves: 1.5,
            key_track: 0.5,
            velocity_octaves: 1.0,
        }
    }
}

/// Attack, decay and release times and the sustain level of an envelope.
#[derive(Clone, Copy, Debug, PartialEq, serde::Serialize, serde::Deserialize)]
pub struct EnvSpec {
    pub attack_s: f32,
    pub decay_s: f32,
    pub sustain: f32,
    pub release_s: f32,
}

impl Default for EnvSpec {
    fn default() -> Self {
        Self {
            attack_s: 0.01,
            decay_s: 0.3,
            sustain: 0.7,
            release_s: 0.6,
        }
    }
}

/// Everything a voice needs to know about its sound.
#[derive(Clone, Copy, Debug, PartialEq, serde::Serialize, serde::Deserialize)]
pub struct Patch {
    /// Maximum simultaneous voices for this patch (1..=MAX_VOICES).
    pub voices: u8,
    pub osc: [OscSpec; 2],
    pub filter: FilterSpec,
    pub amp_env: EnvSpec,
    pub filter_env: EnvSpec,
    /// 0: every note at full level; 1: level follows velocity fully.
    pub velocity_amount: f32,
    /// -1 (left) .. 1 (right).
    pub pan: f32,
    /// How far notes spread across the stereo field by pitch, 0..1.
    pub spread: f32,
    /// Pitch bend range in semitones (each way).
    pub bend_semitones: f32,
    pub gain_db: f32,
}

impl Default for Patch {
    fn default() -> Self {
        let osc2 = OscSpec {
            detune_cents: 7.0,
            ..OscSpec::default()
        };
        Self {
            voices: 16,
            osc: [OscSpec::default(), osc2],
            filter: FilterSpec::default(),
            amp_env: EnvSpec::default(),
            filter_env: EnvSpec {
                attack_s: 0.005,
                decay_s: 0.4,
                sustain: 0.3,
                release_s: 0.6,
            },
            velocity_amount: 0.7,
            pan: 0.0,
            spread: 0.5,
            bend_semitones: 2.0,
            gain_db: -12.0,
        }
    }
}

/// The engine's fixed voice pool size: allocated once, up front.
pub const MAX_VOICES: usize = 128;
/// Most unison copies per oscillator.
pub const MAX_UNISON: usize = 7;

/// The safety limiter's true-peak ceiling unless a show or the command line says otherwise, dBFS.
pub const DEFAULT_LIMITER_CEILING_DB: f32 = -1.0;

/// Master-bus settings a show or the command line may choose.
#[derive(Clone, Copy, Debug, PartialEq, serde::Serialize, serde::Deserialize)]
pub struct MasterSettings {
    /// The safety limiter's true-peak ceiling, dBFS.
    pub limiter_ceiling_db: f32,
    /// Off only when explicitly asked for (`--no-limiter`).
    pub limiter_enabled: bool,
}

impl Default for MasterSettings {
    fn default() -> Self {
        Self {
            limiter_ceiling_db: DEFAULT_LIMITER_CEILING_DB,
            limiter_enabled: true,
        }
    }
}
