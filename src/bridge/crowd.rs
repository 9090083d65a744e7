//! What the audience's crowd feels, from the web thread (which hears the phones) to the render
//! thread (which gives it to every shader as `somnia.crowd_*` and to the mosaic's unity when a
//! cue says `unity = "crowd"`). Tier 2, latest value wins: three atomics the web thread writes
//! when the crowd changes and the render thread reads once a frame, so neither ever waits.

use std::sync::atomic::{AtomicU32, Ordering};

/// The crowd's figures.
#[derive(Clone, Copy, Debug, Default, PartialEq, serde::Serialize, serde::Deserialize)]
pub struct Crowd {
    /// Mean energy of every joined phone, 0..1.
    pub energy: f32,
    /// How much the phones' choices agree: the share of the most chosen, 0..1 (0 with none).
    pub agreement: f32,
    /// Phones joined (dreamers and crowd).
    pub size: u32,
}

/// The newest [`Crowd`]. The three figures are written one after another, so a reader may see
/// one of them a frame early; each is a whole value, and the next frame agrees.
#[derive(Debug, Default)]
pub struct CrowdGauge {
    energy_bits: AtomicU32,
    agreement_bits: AtomicU32,
    size: AtomicU32,
}

impl CrowdGauge {
    pub fn set(&self, crowd: Crowd) {
        let unit = |v: f32| {
            if v.is_finite() {
                v.clamp(0.0, 1.0)
            } else {
                0.0
            }
        };
        self.energy_bits
            .store(unit(crowd.energy).to_bits(), Ordering::Relaxed);
        self.agreement_bits
            .store(unit(crowd.agreement).to_bits(), Ordering::Relaxed);
        self.size.store(crowd.size, Ordering::Relaxed);
    }

    pub fn get(&self) -> Crowd {
        Crowd {
            energy: f32::from_bits(self.energy_bits.load(Ordering::Relaxed)),
            agreement: f32::from_bits(self.agreement_bits.load(Ordering::Relaxed)),
            size: self.size.load(Ordering::Relaxed),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_gauge_gives_back_the_newest_crowd_with_its_figures_kept_in_range() {
        let g = CrowdGauge::default();
        assert_eq!(g.get(), Crowd::default());
        g.set(Crowd {
            energy: 0.25,
            agreement: 2.0,
            size: 7,
        });
        assert_eq!(
            g.get(),
            Crowd {
                energy: 0.25,
                agreement: 1.0,
                size: 7
            }
        );
        g.set(Crowd {
            energy: f32::NAN,
            agreement: 0.5,
            size: 1,
        });
        assert_eq!(g.get().energy, 0.0);
    }
}
