//! What a kiosk plays next: its items in order, or shuffled in one of Resolume Autopilot's
//! three ways: `any` (any item, the current one too), `other` (never the current one again),
//! `bag` (each item once before any repeats, and never the same item twice in a row across
//! two bags). Items that cannot play (quarantined: a broken file, a failing shader) are passed
//! over. The whole state is a few numbers, so the kiosk saves it and carries on after a
//! restart exactly where it was.

/// The order items play in.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub enum Order {
    #[default]
    InOrder,
    Shuffle(Shuffle),
}

/// How a shuffle picks.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub enum Shuffle {
    Any,
    Other,
    #[default]
    Bag,
}

impl Shuffle {
    pub const NAMES: [&str; 3] = ["any", "other", "bag"];

    pub fn from_name(name: &str) -> Option<Self> {
        match name {
            "any" => Some(Self::Any),
            "other" => Some(Self::Other),
            "bag" => Some(Self::Bag),
            _ => None,
        }
    }
}

/// Where a playlist stands: everything [`Playlist::next`] needs, and what a restart restores.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct PlaylistState {
    /// The item playing (an index into the items), if any.
    pub current: Option<usize>,
    /// The shuffle's generator (SplitMix64), so a restart draws what it would have.
    pub rng: u64,
    /// `bag`: the items still to play this round, in no particular order.
    pub bag: Vec<usize>,
}

/// A playlist of `len` items.
#[derive(Clone, Debug)]
pub struct Playlist {
    order: Order,
    len: usize,
    pub state: PlaylistState,
}

impl Playlist {
    /// A playlist of `len` items, its shuffle seeded with `seed`.
    pub fn new(order: Order, len: usize, seed: u64) -> Self {
        Self {
            order,
            len,
            state: PlaylistState {
                current: None,
                rng: seed,
                bag: Vec::new(),
            },
        }
    }

    /// Carries on from a saved `state`; a state that does not fit (the file changed its
    /// items since) is dropped, keeping only its generator.
    pub fn resume(order: Order, len: usize, state: PlaylistState) -> Self {
        let fits = state.current.is_none_or(|c| c < len) && state.bag.iter().all(|i| *i < len);
        let state = if fits {
            state
        } else {
            PlaylistState {
                rng: state.rng,
                ..PlaylistState::default()
            }
        };
        Self { order, len, state }
    }

    /// The next item to play, made current; `None` when no item can (`playable` is false for
    /// every one).
    pub fn next(&mut self, playable: impl Fn(usize) -> bool) -> Option<usize> {
        let candidates: Vec<usize> = (0..self.len).filter(|i| playable(*i)).collect();
        if candidates.is_empty() {
            return None;
        }
        let current = self.state.current;
        let pick = match self.order {
            Order::InOrder => {
                let from = current.map_or(0, |c| c + 1);
                (0..self.len)
                    .map(|k| (from + k) % self.len)
                    .find(|i| playable(*i))?
            }
            Order::Shuffle(Shuffle::Any) => candidates[self.draw(candidates.len())],
            Order::Shuffle(Shuffle::Other) => {
                let others: Vec<usize> = candidates
                    .iter()
                    .copied()
                    .filter(|i| Some(*i) != current)
                    .collect();
                if others.is_empty() {
                    candidates[0]
                } else {
                    others[self.draw(others.len())]
                }
            }
            Order::Shuffle(Shuffle::Bag) => self.draw_from_bag(&candidates, current),
        };
        self.state.current = Some(pick);
        Some(pick)
    }

    /// `bag`: a random item of this round; a new round when it is empty, whose first item is
    /// never the one just played (unless it is the only one).
    fn draw_from_bag(&mut self, candidates: &[usize], current: Option<usize>) -> usize {
        self.state.bag.retain(|i| candidates.contains(i));
        let new_round = self.state.bag.is_empty();
        if new_round {
            self.state.bag = candidates.to_vec();
        }
        let mut k = self.draw(self.state.bag.len());
        if new_round && self.state.bag.len() > 1 && Some(self.state.bag[k]) == current {
            k = (k + 1 + self.draw(self.state.bag.len() - 1)) % self.state.bag.len();
        }
        self.state.bag.swap_remove(k)
    }

    /// A number in 0..n (n > 0), from SplitMix64.
    fn draw(&mut self, n: usize) -> usize {
        self.state.rng = self.state.rng.wrapping_add(0x9E37_79B9_7F4A_7C15);
        let mut z = self.state.rng;
        z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
        z ^= z >> 31;
        ((u128::from(z) * n as u128) >> 64) as usize
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    fn take(p: &mut Playlist, n: usize) -> Vec<usize> {
        (0..n).map(|_| p.next(|_| true).unwrap()).collect()
    }

    #[test]
    fn in_order_cycles_and_passes_over_what_cannot_play() {
        let mut p = Playlist::new(Order::InOrder, 4, 1);
        assert_eq!(take(&mut p, 6), [0, 1, 2, 3, 0, 1]);
        let broken = |i: usize| i != 2;
        assert_eq!(p.next(broken), Some(3));
        assert_eq!(p.next(broken), Some(0));
        assert_eq!(p.next(|_| false), None, "nothing can play");
    }

    #[test]
    fn other_never_plays_the_current_item_again() {
        let mut p = Playlist::new(Order::Shuffle(Shuffle::Other), 3, 9);
        let picks = take(&mut p, 200);
        assert!(picks.windows(2).all(|w| w[0] != w[1]), "{picks:?}");
        for i in 0..3 {
            assert!(picks.contains(&i), "item {i} never played");
        }
        let mut one = Playlist::new(Order::Shuffle(Shuffle::Other), 1, 9);
        assert_eq!(take(&mut one, 3), [0, 0, 0], "a single item plays on");
    }

    #[test]
    fn a_restart_draws_what_the_running_playlist_would_have() {
        let order = Order::Shuffle(Shuffle::Bag);
        let mut running = Playlist::new(order, 7, 42);
        take(&mut running, 10);
        let mut restarted = Playlist::resume(order, 7, running.state.clone());
        assert_eq!(take(&mut running, 20), take(&mut restarted, 20));
        // A saved state that no longer fits (the kiosk file lost items) starts a fresh round.
        let fresh = Playlist::resume(order, 2, running.state.clone());
        assert_eq!(fresh.state.current, None);
        assert!(fresh.state.bag.is_empty());
    }

    proptest! {
        #[test]
        fn a_bag_plays_each_item_once_per_round_and_never_twice_in_a_row(
            len in 1usize..12,
            seed in any::<u64>(),
            rounds in 1usize..8,
        ) {
            let mut p = Playlist::new(Order::Shuffle(Shuffle::Bag), len, seed);
            let picks = take(&mut p, len * rounds);
            for round in picks.chunks(len) {
                let mut sorted = round.to_vec();
                sorted.sort_unstable();
                prop_assert_eq!(sorted, (0..len).collect::<Vec<_>>());
            }
            if len > 1 {
                prop_assert!(picks.windows(2).all(|w| w[0] != w[1]), "{:?}", picks);
            }
        }

        #[test]
        fn a_bag_with_quarantined_items_plays_only_the_others_each_once_per_round(
            len in 2usize..10,
            seed in any::<u64>(),
            bad in 0usize..10,
        ) {
            let bad = bad % len;
            let mut p = Playlist::new(Order::Shuffle(Shuffle::Bag), len, seed);
            let picks: Vec<usize> =
                (0..(len - 1) * 3).map(|_| p.next(|i| i != bad).unwrap()).collect();
            prop_assert!(!picks.contains(&bad));
            for round in picks.chunks(len - 1) {
                let mut sorted = round.to_vec();
                sorted.sort_unstable();
                prop_assert_eq!(sorted, (0..len).filter(|i| *i != bad).collect::<Vec<_>>());
            }
        }
    }
}
