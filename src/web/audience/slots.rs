//! Who in the audience holds which dreamer, and what the crowd feels: the audience page's
//! logic, apart from the network so it can be tested to the letter.
//!
//! A phone that agrees takes the first free `[[dreamer]]` slot of the show (its layer returns)
//! or, when all are taken, joins the crowd. Everything it sends is checked here (finite, in
//! range, at most [`AudienceSettings::rate_per_s`] a second) and turned into the same
//! [`LookCommand`]s OSC's `/somnia/dreamer/N/...` gives; nothing it sends names a file or runs
//! anything. Leaving withdraws its layer exactly as `/somnia/dreamer/N/leave` does and forgets
//! every value it sent. A phone whose connection drops keeps its slot for a grace period; back
//! within it with its token, it carries on.

use std::collections::HashMap;
use std::time::{Duration, Instant};

pub use crate::bridge::Crowd;
use crate::bridge::LookCommand;
use crate::control::osc::TokenBucket;

/// How the audience may join.
#[derive(Clone, Debug)]
pub struct AudienceSettings {
    /// Most phones at once (dreamers and crowd together); the rest are told the room is full.
    pub max_phones: usize,
    /// Messages a second one phone may send; the rest are dropped and counted.
    pub rate_per_s: u32,
    /// How long a dropped connection keeps its slot.
    pub grace: Duration,
}

impl Default for AudienceSettings {
    fn default() -> Self {
        Self {
            max_phones: 500,
            rate_per_s: 30,
            grace: Duration::from_secs(20),
        }
    }
}

/// One of a layer's parameters a phone moves: its 0..1 control spans `min..max`.
#[derive(Clone, Debug, PartialEq)]
pub struct ParamControl {
    pub name: String,
    pub min: f32,
    pub max: f32,
}

impl ParamControl {
    fn at(&self, unit: f32) -> f32 {
        self.min + unit * (self.max - self.min)
    }
}

/// What a dreamer slot lets its phone steer: the layer's parameters under the touch pad (x
/// then y) and the one its energy control moves; `None` where the preset has none.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct SlotControls {
    pub pad: [Option<ParamControl>; 2],
    pub energy: Option<ParamControl>,
    /// The slot's colour, for the phone to show (`#rrggbb`), and its name in words (so
    /// colour is never the only way to tell).
    pub colour: String,
    pub colour_name: String,
}

/// What a phone may say, already parsed and checked.
#[derive(Clone, Debug, PartialEq)]
pub enum PhoneSays {
    /// "I agree": join (again, with the token from an earlier visit).
    Agree {
        token: Option<String>,
    },
    /// The touch pad, 0..1 each.
    Pad {
        x: f32,
        y: f32,
    },
    /// The energy control, 0..1.
    Energy(f32),
    /// A choice among the page's options (the crowd agrees when its choices do), 0..CHOICES.
    Choice(u8),
    Leave,
}

/// How many choices the page offers.
pub const CHOICES: u8 = 4;

/// Why a message was not carried out (counted, and the phone told when it should know).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub enum Refusal {
    /// A value out of range or not finite.
    BadValue,
    /// Faster than the phone's rate limit.
    TooFast,
    /// Steering before agreeing, or after leaving.
    NotJoined,
}

/// Where a phone that agreed ended up.
#[derive(Clone, Debug, PartialEq)]
pub enum Joined {
    /// Dreamer `slot` (0-based), steering its layer.
    Dreamer { slot: usize, token: String },
    /// In the crowd: its energy and choices count with everyone's.
    Crowd { token: String },
    /// The room is full.
    Full,
}

/// A connection's number, given by the server.
pub type PhoneId = u64;

#[derive(Debug)]
struct Phone {
    token: String,
    slot: Option<usize>,
    energy: f32,
    choice: Option<u8>,
    /// When its connection dropped; it leaves once the grace is over.
    dropped_at: Option<Instant>,
    /// Its rate limit.
    bucket: TokenBucket,
}

/// The audience of one show.
#[derive(Debug)]
pub struct Audience {
    settings: AudienceSettings,
    slots: Vec<SlotControls>,
    /// Which phone holds each slot.
    holders: Vec<Option<PhoneId>>,
    phones: HashMap<PhoneId, Phone>,
    /// Counters, for the console and `/health`.
    pub refused: u64,
    pub turned_away: u64,
}

impl Audience {
    pub fn new(settings: AudienceSettings, slots: Vec<SlotControls>) -> Self {
        let holders = vec![None; slots.len()];
        Self {
            settings,
            slots,
            holders,
            phones: HashMap::new(),
            refused: 0,
            turned_away: 0,
        }
    }

    /// What slot `slot` lets its phone steer.
    pub fn controls(&self, slot: usize) -> Option<&SlotControls> {
        self.slots.get(slot)
    }

    /// Phone `id` said something at `now`; the picture's changes it asks for go to `out`.
    pub fn hears(
        &mut self,
        id: PhoneId,
        says: PhoneSays,
        now: Instant,
        token: impl FnOnce() -> String,
        out: &mut Vec<LookCommand>,
    ) -> Result<Option<Joined>, Refusal> {
        if let PhoneSays::Agree { token: back } = says {
            return Ok(Some(self.agree(id, back, now, token, out)));
        }
        let rate = f64::from(self.settings.rate_per_s.max(1));
        let Some(phone) = self.phones.get_mut(&id) else {
            self.refused += 1;
            return Err(Refusal::NotJoined);
        };
        if !phone.bucket.take(rate, now) {
            self.refused += 1;
            return Err(Refusal::TooFast);
        }
        let unit = |v: f32| (0.0..=1.0).contains(&v);
        let slot = phone.slot;
        match says {
            PhoneSays::Pad { x, y } if unit(x) && unit(y) => {
                if let Some(slot) = slot {
                    for (control, unit) in self.slots[slot].pad.iter().zip([x, y]) {
                        if let Some(c) = control {
                            out.push(LookCommand::DreamerParam {
                                dreamer: slot,
                                name: c.name.clone(),
                                value: c.at(unit),
                            });
                        }
                    }
                }
            }
            PhoneSays::Energy(v) if unit(v) => {
                phone.energy = v;
                if let Some(slot) = slot {
                    if let Some(c) = &self.slots[slot].energy {
                        out.push(LookCommand::DreamerParam {
                            dreamer: slot,
                            name: c.name.clone(),
                            value: c.at(v),
                        });
                    }
                }
            }
            PhoneSays::Choice(c) if c < CHOICES => phone.choice = Some(c),
            PhoneSays::Leave => self.leave(id, out),
            _ => {
                self.refused += 1;
                return Err(Refusal::BadValue);
            }
        }
        Ok(None)
    }

    fn agree(
        &mut self,
        id: PhoneId,
        back: Option<String>,
        now: Instant,
        token: impl FnOnce() -> String,
        out: &mut Vec<LookCommand>,
    ) -> Joined {
        if let Some(p) = self.phones.get(&id) {
            return self.joined(p.slot, p.token.clone());
        }
        // Back within the grace, with its token: the same place, under the new connection.
        let returning = back.and_then(|t| {
            let old = self
                .phones
                .iter()
                .find(|(_, p)| p.dropped_at.is_some() && p.token == t)
                .map(|(old, _)| *old)?;
            self.phones.remove(&old)
        });
        if let Some(mut p) = returning {
            p.dropped_at = None;
            if let Some(slot) = p.slot {
                self.holders[slot] = Some(id);
            }
            let joined = self.joined(p.slot, p.token.clone());
            self.phones.insert(id, p);
            return joined;
        }
        if self.phones.len() >= self.settings.max_phones {
            self.turned_away += 1;
            return Joined::Full;
        }
        let slot = self.holders.iter().position(Option::is_none);
        if let Some(slot) = slot {
            self.holders[slot] = Some(id);
            out.push(LookCommand::DreamerReturn { dreamer: slot });
        }
        let token = token();
        let rate = f64::from(self.settings.rate_per_s.max(1));
        self.phones.insert(
            id,
            Phone {
                token: token.clone(),
                slot,
                energy: 0.0,
                choice: None,
                dropped_at: None,
                bucket: TokenBucket::new(rate, now),
            },
        );
        self.joined(slot, token)
    }

    fn joined(&self, slot: Option<usize>, token: String) -> Joined {
        match slot {
            Some(slot) => Joined::Dreamer { slot, token },
            None => Joined::Crowd { token },
        }
    }

    /// Phone `id` leaves: its layer is withdrawn and everything it sent is forgotten.
    pub fn leave(&mut self, id: PhoneId, out: &mut Vec<LookCommand>) {
        if let Some(p) = self.phones.remove(&id) {
            if let Some(slot) = p.slot {
                self.holders[slot] = None;
                out.push(LookCommand::DreamerLeave { dreamer: slot });
            }
        }
    }

    /// Which slots a phone holds now, slot by slot.
    pub fn taken(&self) -> Vec<bool> {
        self.holders.iter().map(Option::is_some).collect()
    }

    /// The operator withdraws dreamer `slot`: its phone leaves as if it had said so (its
    /// layer fades out, what it sent is forgotten; the phone is told at its next update).
    /// False when no phone holds the slot.
    pub fn withdraw(&mut self, slot: usize, out: &mut Vec<LookCommand>) -> bool {
        match self.holders.get(slot).copied().flatten() {
            Some(id) => {
                self.leave(id, out);
                true
            }
            None => false,
        }
    }

    /// Whether phone `id` is in (a dreamer or in the crowd).
    pub fn is_in(&self, id: PhoneId) -> bool {
        self.phones.contains_key(&id)
    }

    /// Phone `id`'s connection dropped at `now`: it keeps its place for the grace period.
    pub fn dropped(&mut self, id: PhoneId, now: Instant) {
        if let Some(p) = self.phones.get_mut(&id) {
            p.dropped_at = Some(now);
        }
    }

    /// Lets go of the phones whose grace ran out by `now`.
    pub fn tick(&mut self, now: Instant, out: &mut Vec<LookCommand>) {
        let grace = self.settings.grace;
        let gone: Vec<PhoneId> = self
            .phones
            .iter()
            .filter(|(_, p)| p.dropped_at.is_some_and(|t| now.duration_since(t) >= grace))
            .map(|(id, _)| *id)
            .collect();
        for id in gone {
            self.leave(id, out);
        }
    }

    /// The crowd's figures now.
    pub fn crowd(&self) -> Crowd {
        let size = self.phones.len();
        if size == 0 {
            return Crowd::default();
        }
        let energy = self.phones.values().map(|p| p.energy).sum::<f32>() / size as f32;
        let mut counts = [0u32; CHOICES as usize];
        for c in self.phones.values().filter_map(|p| p.choice) {
            counts[usize::from(c)] += 1;
        }
        let chosen: u32 = counts.iter().sum();
        let agreement = match chosen {
            0 => 0.0,
            n => *counts.iter().max().unwrap_or(&0) as f32 / n as f32,
        };
        Crowd {
            energy,
            agreement,
            size: size as u32,
        }
    }

    /// Phones joined now.
    pub fn len(&self) -> usize {
        self.phones.len()
    }

    pub fn is_empty(&self) -> bool {
        self.phones.is_empty()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn control(name: &str, max: f32) -> Option<ParamControl> {
        Some(ParamControl {
            name: name.into(),
            min: 0.0,
            max,
        })
    }

    fn slots(n: usize) -> Vec<SlotControls> {
        (0..n)
            .map(|i| SlotControls {
                pad: [control("drift", 2.0), control("glow", 1.0)],
                energy: control("energy", 1.0),
                colour: "#ff8800".into(),
                colour_name: format!("amber {i}"),
            })
            .collect()
    }

    fn audience(slots_n: usize, max_phones: usize) -> Audience {
        Audience::new(
            AudienceSettings {
                max_phones,
                rate_per_s: 10,
                grace: Duration::from_secs(5),
            },
            slots(slots_n),
        )
    }

    fn agree(a: &mut Audience, id: PhoneId, now: Instant, out: &mut Vec<LookCommand>) -> Joined {
        a.hears(
            id,
            PhoneSays::Agree { token: None },
            now,
            || format!("token-{id}"),
            out,
        )
        .unwrap()
        .unwrap()
    }

    #[test]
    fn the_operator_withdraws_a_dreamer_whose_phone_is_then_out_and_its_slot_free() {
        let t = Instant::now();
        let mut a = audience(2, 3);
        let mut out = Vec::new();
        agree(&mut a, 1, t, &mut out);
        agree(&mut a, 2, t, &mut out);
        assert_eq!(a.taken(), [true, true]);
        out.clear();
        assert!(a.withdraw(0, &mut out));
        assert_eq!(out, [LookCommand::DreamerLeave { dreamer: 0 }]);
        assert_eq!(a.taken(), [false, true]);
        assert!(!a.is_in(1) && a.is_in(2));
        assert!(!a.withdraw(0, &mut out), "nobody holds it now");
        assert_eq!(
            a.hears(1, PhoneSays::Energy(0.5), t, String::new, &mut out),
            Err(Refusal::NotJoined)
        );
    }

    #[test]
    fn phones_take_the_free_slots_in_turn_then_join_the_crowd_then_are_turned_away() {
        let t = Instant::now();
        let mut a = audience(2, 3);
        let mut out = Vec::new();
        assert!(matches!(
            agree(&mut a, 1, t, &mut out),
            Joined::Dreamer { slot: 0, .. }
        ));
        assert!(matches!(
            agree(&mut a, 2, t, &mut out),
            Joined::Dreamer { slot: 1, .. }
        ));
        assert!(matches!(
            agree(&mut a, 3, t, &mut out),
            Joined::Crowd { .. }
        ));
        assert_eq!(agree(&mut a, 4, t, &mut out), Joined::Full);
        assert_eq!(
            out,
            [
                LookCommand::DreamerReturn { dreamer: 0 },
                LookCommand::DreamerReturn { dreamer: 1 }
            ]
        );
        assert_eq!((a.len(), a.turned_away), (3, 1));
    }

    #[test]
    fn a_dreamer_steers_only_its_own_layer_within_its_ranges_and_bad_or_early_values_are_refused() {
        let t = Instant::now();
        let mut a = audience(2, 10);
        let mut out = Vec::new();
        assert_eq!(
            a.hears(
                9,
                PhoneSays::Pad { x: 0.5, y: 0.5 },
                t,
                String::new,
                &mut out
            ),
            Err(Refusal::NotJoined)
        );
        agree(&mut a, 1, t, &mut out);
        agree(&mut a, 2, t, &mut out);
        out.clear();
        a.hears(
            2,
            PhoneSays::Pad { x: 0.25, y: 1.0 },
            t,
            String::new,
            &mut out,
        )
        .unwrap();
        assert_eq!(
            out,
            [
                // 0.25 of drift's 0..2.
                LookCommand::DreamerParam {
                    dreamer: 1,
                    name: "drift".into(),
                    value: 0.5
                },
                LookCommand::DreamerParam {
                    dreamer: 1,
                    name: "glow".into(),
                    value: 1.0
                }
            ]
        );
        out.clear();
        for bad in [
            PhoneSays::Pad {
                x: f32::NAN,
                y: 0.0,
            },
            PhoneSays::Pad { x: 0.0, y: 1.5 },
            PhoneSays::Energy(f32::INFINITY),
            PhoneSays::Choice(CHOICES),
        ] {
            assert_eq!(
                a.hears(2, bad, t, String::new, &mut out),
                Err(Refusal::BadValue)
            );
        }
        assert!(out.is_empty(), "{out:?}");
        assert_eq!(a.refused, 5);
    }

    #[test]
    fn a_phone_faster_than_its_rate_limit_is_refused_until_its_budget_refills() {
        let t = Instant::now();
        let mut a = audience(1, 10);
        let mut out = Vec::new();
        agree(&mut a, 1, t, &mut out);
        let sent: Vec<bool> = (0..15)
            .map(|_| {
                a.hears(1, PhoneSays::Energy(0.5), t, String::new, &mut out)
                    .is_ok()
            })
            .collect();
        assert_eq!(sent.iter().filter(|ok| **ok).count(), 10);
        let later = t + Duration::from_millis(500);
        let refilled = (0..15)
            .filter(|_| {
                a.hears(1, PhoneSays::Energy(0.5), later, String::new, &mut out)
                    .is_ok()
            })
            .count();
        assert_eq!(refilled, 5, "half a second buys half the rate");
    }

    #[test]
    fn leaving_withdraws_the_layer_forgets_the_phone_and_frees_the_slot() {
        let t = Instant::now();
        let mut a = audience(1, 10);
        let mut out = Vec::new();
        agree(&mut a, 1, t, &mut out);
        a.hears(1, PhoneSays::Energy(0.9), t, String::new, &mut out)
            .unwrap();
        out.clear();
        a.hears(1, PhoneSays::Leave, t, String::new, &mut out)
            .unwrap();
        assert_eq!(out, [LookCommand::DreamerLeave { dreamer: 0 }]);
        assert_eq!(a.crowd(), Crowd::default(), "nothing of it is kept");
        assert!(matches!(
            agree(&mut a, 2, t, &mut out),
            Joined::Dreamer { slot: 0, .. }
        ));
    }

    #[test]
    fn a_dropped_phone_back_within_the_grace_keeps_its_slot_and_after_it_loses_it() {
        let t = Instant::now();
        let mut a = audience(1, 10);
        let mut out = Vec::new();
        let Joined::Dreamer { token, .. } = agree(&mut a, 1, t, &mut out) else {
            panic!("a dreamer");
        };
        a.dropped(1, t);
        a.tick(t + Duration::from_secs(4), &mut out);
        out.clear();
        let back = a
            .hears(
                2,
                PhoneSays::Agree {
                    token: Some(token.clone()),
                },
                t + Duration::from_secs(4),
                || "new".into(),
                &mut out,
            )
            .unwrap();
        assert_eq!(back, Some(Joined::Dreamer { slot: 0, token }));
        assert!(out.is_empty(), "no second return: {out:?}");
        // Dropped again, and not back in time: it leaves.
        a.dropped(2, t + Duration::from_secs(5));
        a.tick(t + Duration::from_secs(11), &mut out);
        assert_eq!(out, [LookCommand::DreamerLeave { dreamer: 0 }]);
        assert!(a.is_empty());
    }

    #[test]
    fn the_crowd_reports_its_mean_energy_size_and_how_much_its_choices_agree() {
        let t = Instant::now();
        let mut a = audience(0, 10);
        let mut out = Vec::new();
        for id in 1..=4 {
            agree(&mut a, id, t, &mut out);
        }
        for (id, energy, choice) in [(1, 1.0, 2), (2, 0.5, 2), (3, 0.5, 2), (4, 0.0, 1)] {
            a.hears(id, PhoneSays::Energy(energy), t, String::new, &mut out)
                .unwrap();
            a.hears(id, PhoneSays::Choice(choice), t, String::new, &mut out)
                .unwrap();
        }
        assert_eq!(
            a.crowd(),
            Crowd {
                energy: 0.5,
                agreement: 0.75,
                size: 4
            }
        );
    }
}
