//! The look around the layers: the dream mosaic (dreamer layers with blend modes, opacity and
//! `unity`) and the post chain's settings (trails, glow, colour grade, the glitch). These are
//! plain values; the render thread turns them into passes.

/// Most named parameters one layer may declare (they share one small uniform buffer): room
/// for the ISF library's largest (colour gradients of eleven colours, four values each).
pub const MAX_LAYER_PARAMS: usize = 48;

/// Most dreamer layers a performance may have in its mosaic.
pub const MAX_DREAMERS: usize = 12;

/// How a dreamer layer combines with what is under it once the mosaic is merged (`unity` 1).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub enum BlendMode {
    /// Over what is under it, by opacity (a crossfade at partial opacity).
    #[default]
    Crossfade,
    Add,
    Screen,
    Multiply,
}

impl BlendMode {
    pub const NAMES: [&str; 4] = ["crossfade", "add", "screen", "multiply"];

    pub fn from_name(s: &str) -> Option<Self> {
        Some(match s {
            "crossfade" => Self::Crossfade,
            "add" => Self::Add,
            "screen" => Self::Screen,
            "multiply" => Self::Multiply,
            _ => return None,
        })
    }

    /// The number the compositor shader switches on.
    pub fn code(self) -> u32 {
        self as u32
    }
}

/// The post chain's settings. The defaults change nothing, and then the chain costs nothing.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct Post {
    /// How long a trail takes to fade to a tenth, seconds (0: no feedback).
    pub trails_s: f32,
    /// Strength of the glow around bright areas, 0..2.
    pub glow: f32,
    /// Exposure in stops, -4..4.
    pub exposure_ev: f32,
    /// Contrast around mid grey, 0..2 (1 unchanged).
    pub contrast: f32,
    /// Colour saturation, 0..2 (0 grey, 1 unchanged).
    pub saturation: f32,
    /// Hue rotation in turns, -1..1.
    pub hue_shift: f32,
    /// The glitch's intensity, 0..1: RGB split, then block displacement, scanline tear and
    /// smear join in as it rises.
    pub glitch: f32,
}

impl Default for Post {
    fn default() -> Self {
        Self {
            trails_s: 0.0,
            glow: 0.0,
            exposure_ev: 0.0,
            contrast: 1.0,
            saturation: 1.0,
            hue_shift: 0.0,
            glitch: 0.0,
        }
    }
}

/// A post setting's name, range and place.
#[derive(Clone, Copy, Debug)]
pub struct PostField {
    pub name: &'static str,
    pub min: f32,
    pub max: f32,
}

impl Post {
    /// The settings in the order of [`Post::to_array`]; cues name them `post.<name>`.
    pub const FIELDS: [PostField; 7] = [
        PostField {
            name: "trails_s",
            min: 0.0,
            max: 30.0,
        },
        PostField {
            name: "glow",
            min: 0.0,
            max: 2.0,
        },
        PostField {
            name: "exposure_ev",
            min: -4.0,
            max: 4.0,
        },
        PostField {
            name: "contrast",
            min: 0.0,
            max: 2.0,
        },
        PostField {
            name: "saturation",
            min: 0.0,
            max: 2.0,
        },
        PostField {
            name: "hue_shift",
            min: -1.0,
            max: 1.0,
        },
        PostField {
            name: "glitch",
            min: 0.0,
            max: 1.0,
        },
    ];
    pub const COUNT: usize = Self::FIELDS.len();

    pub fn index(name: &str) -> Option<usize> {
        Self::FIELDS.iter().position(|f| f.name == name)
    }

    pub fn to_array(&self) -> [f32; Self::COUNT] {
        [
            self.trails_s,
            self.glow,
            self.exposure_ev,
            self.contrast,
            self.saturation,
            self.hue_shift,
            self.glitch,
        ]
    }

    /// Builds settings from values in field order, each clamped to its range.
    pub fn from_array(a: [f32; Self::COUNT]) -> Self {
        let c = |i: usize| {
            let f = Self::FIELDS[i];
            if a[i].is_finite() {
                a[i].clamp(f.min, f.max)
            } else {
                Self::default().to_array()[i]
            }
        };
        Self {
            trails_s: c(0),
            glow: c(1),
            exposure_ev: c(2),
            contrast: c(3),
            saturation: c(4),
            hue_shift: c(5),
            glitch: c(6),
        }
    }

    /// True when the chain would leave the picture as it is (so it can be skipped).
    pub fn is_neutral(&self) -> bool {
        *self == Self::default()
    }

    /// Settings `w` of the way from `a` to `b`.
    pub fn lerp(a: &Self, b: &Self, w: f32) -> Self {
        let (a, b) = (a.to_array(), b.to_array());
        Self::from_array(std::array::from_fn(|i| a[i] + (b[i] - a[i]) * w))
    }
}

/// One dreamer layer of the mosaic at one instant.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct DreamerState {
    /// Index into the timeline's presets.
    pub preset: usize,
    pub params: [f32; MAX_LAYER_PARAMS],
    pub blend: BlendMode,
    pub opacity: f32,
    /// 1 while the dreamer is in, 0 once withdrawn; in between while fading.
    pub presence: f32,
}

impl Default for DreamerState {
    fn default() -> Self {
        Self {
            preset: 0,
            params: [0.0; MAX_LAYER_PARAMS],
            blend: BlendMode::Crossfade,
            opacity: 1.0,
            presence: 0.0,
        }
    }
}

/// The dream mosaic at one instant: the dreamer layers over the performance's own preset.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct Mosaic {
    pub layers: [DreamerState; MAX_DREAMERS],
    /// How many of `layers` are the performance's dreamers (0: no mosaic).
    pub count: usize,
    /// 0: each dreamer in a tile of its own; 1: all merged into one dreamscape.
    pub unity: f32,
    /// How much the audience's agreement sets the unity instead of `unity`, 0..1 (a cue's
    /// `unity = "crowd"`): the crowd, agreeing, brings the dreamscape together.
    pub unity_crowd: f32,
    /// Where the dreamers' clock starts on the show clock (their show's `origin_s`).
    pub origin_s: f64,
}

impl Default for Mosaic {
    fn default() -> Self {
        Self {
            layers: [DreamerState::default(); MAX_DREAMERS],
            count: 0,
            unity: 1.0,
            unity_crowd: 0.0,
            origin_s: 0.0,
        }
    }
}

impl Mosaic {
    /// The unity to draw with, given how much the crowd agrees (0..1; 0 with no audience, as
    /// in an offline render, so renders stay reproducible).
    pub fn unity_with(&self, crowd_agreement: f32) -> f32 {
        let w = self.unity_crowd.clamp(0.0, 1.0);
        let crowd = if crowd_agreement.is_finite() {
            crowd_agreement.clamp(0.0, 1.0)
        } else {
            0.0
        };
        (self.unity + w * (crowd - self.unity)).clamp(0.0, 1.0)
    }

    pub fn dreamers(&self) -> &[DreamerState] {
        &self.layers[..self.count.min(MAX_DREAMERS)]
    }
}

/// The tile grid for `n` dreamers on a `width` x `height` picture: (columns, rows), chosen so
/// the tiles are closest to the picture's own shape (each dreamer's whole picture is scaled
/// into its tile, so a squashed tile would distort it) with the fewest empty tiles.
pub fn tile_grid(n: usize, width: u32, height: u32) -> (u32, u32) {
    let n = n.max(1) as u32;
    let aspect = width.max(1) as f32 / height.max(1) as f32;
    (1..=n)
        .map(|cols| (cols, n.div_ceil(cols)))
        .min_by(|a, b| {
            let score = |(c, r): (u32, u32)| {
                let tile_aspect = (aspect * r as f32) / c as f32;
                let empty = (c * r - n) as f32 / n as f32;
                // The last term breaks ties towards more columns: screens are wide.
                (tile_aspect / aspect).ln().abs() + empty + 0.001 * r as f32
            };
            score(*a).total_cmp(&score(*b))
        })
        .unwrap_or((1, 1))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn tiles_keep_the_screens_shape_with_few_empty_ones() {
        assert_eq!(tile_grid(8, 1920, 1080), (3, 3));
        assert_eq!(tile_grid(4, 1280, 720), (2, 2));
        assert_eq!(tile_grid(1, 1280, 720), (1, 1));
        assert_eq!(tile_grid(2, 1280, 720), (2, 1));
        assert_eq!(tile_grid(12, 1280, 720), (4, 3));
        assert_eq!(
            tile_grid(3, 720, 1280),
            (2, 2),
            "portrait tiles on a portrait screen"
        );
    }

    #[test]
    fn post_settings_round_trip_and_clamp() {
        let p = Post {
            glow: 0.5,
            glitch: 0.25,
            ..Post::default()
        };
        assert_eq!(Post::from_array(p.to_array()), p);
        let wild = Post::from_array([99.0, -1.0, 9.0, f32::NAN, 1.0, 0.0, 2.0]);
        assert_eq!(wild.trails_s, 30.0);
        assert_eq!(wild.glow, 0.0);
        assert_eq!(wild.exposure_ev, 4.0);
        assert_eq!(wild.contrast, 1.0);
        assert_eq!(wild.glitch, 1.0);
        assert!(Post::default().is_neutral());
        assert!(!p.is_neutral());
    }

    #[test]
    fn blend_modes_are_named_as_in_files() {
        let modes = BlendMode::NAMES.map(|n| BlendMode::from_name(n).unwrap());
        assert_eq!(
            modes,
            [
                BlendMode::Crossfade,
                BlendMode::Add,
                BlendMode::Screen,
                BlendMode::Multiply
            ]
        );
        // The compositor shader switches on these numbers (`blend_mode` in render/mosaic.rs).
        assert_eq!(modes.map(BlendMode::code), [0, 1, 2, 3]);
        assert_eq!(BlendMode::from_name("overlay"), None);
    }
}
