//! Voices side by side in SIMD lanes: the audio thread's voice loop when the machine allows.
//!
//! One voice's sample is a long serial chain (oscillators, then the filter's state, then the
//! envelope); the scalar path spends most of its time waiting on it. Here voices that render
//! alike (the same [`Plan`]: fused waveforms and filter mode, which all voices of one patch
//! share) are grouped 8 (the portable build: SSE2 on x86-64, NEON on aarch64; two vectors) or
//! 16 (AVX2, chosen at run time; two vectors) to a group, their state laid out as structure of
//! arrays, and each sample of the chain runs for the whole group at once. The filter's
//! coefficients are computed 16 voices at a time the same way.
//!
//! Bit for bit the same as the scalar path, on every path: each lane runs the arithmetic of
//! `Voice::filter_env_pan` in the same order (no fused multiply-add anywhere: Rust never
//! contracts, and no path enables it), envelopes step exactly as `Adsr::next` (a stage's end is
//! found by the same comparison and handled by the same rules), oscillators the plan does not
//! fuse are rendered by the scalar code itself, and voices are summed into the bus one by one
//! in the same order on every path: by plan key, then pool slot, which is the order the groups
//! are laid out in (so a group's output goes into the bus as soon as it is made). `tests`
//! force every path and compare bits.
//!
//! A group keeps its voices' state from chunk to chunk: a voice still in its lane and not
//! changed outside the lanes since (`Voice::lanes_stale`) is not loaded again, only given its
//! new filter coefficients.

use super::{
    CutoffInputs, FUSE_NONE, Plan, RENDER_CHUNK, Stage, SvfCoefs, Voice, VoiceControls, osc_sample,
    wrap_centred,
};
use crate::bridge::patch::MAX_VOICES;

/// How the voices are rendered. Chosen once, when the engine is built; every path gives the
/// same bits.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub enum SimdPath {
    /// One voice at a time: the reference.
    Scalar,
    /// Eight voices to a group, in the instructions every machine of the build's target has.
    Portable,
    /// Sixteen voices to a group in AVX2, on x86-64 machines that have it.
    Avx2,
}

/// A voice path this machine cannot take (its name).
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
#[error("this machine cannot take the {0} voice path")]
pub struct SimdUnavailable(pub &'static str);

impl SimdPath {
    /// Every path, in the order they are tried from the fastest.
    pub const ALL: [SimdPath; 3] = [SimdPath::Avx2, SimdPath::Portable, SimdPath::Scalar];

    /// Whether this machine can take the path.
    pub fn available(self) -> bool {
        match self {
            SimdPath::Scalar | SimdPath::Portable => true,
            #[cfg(target_arch = "x86_64")]
            SimdPath::Avx2 => std::arch::is_x86_feature_detected!("avx2"),
            #[cfg(not(target_arch = "x86_64"))]
            SimdPath::Avx2 => false,
        }
    }

    /// The fastest path this machine can take.
    pub fn best() -> Self {
        Self::ALL
            .into_iter()
            .find(|p| p.available())
            .unwrap_or(SimdPath::Scalar)
    }

    /// The name `SOMNIA_SIMD` takes and the logs print.
    pub fn name(self) -> &'static str {
        match self {
            SimdPath::Scalar => "scalar",
            SimdPath::Portable => "portable",
            SimdPath::Avx2 => "avx2",
        }
    }

    /// The path named `name` (as [`SimdPath::name`] prints it).
    pub fn from_name(name: &str) -> Option<Self> {
        Self::ALL.into_iter().find(|p| p.name() == name.trim())
    }

    /// The path `SOMNIA_SIMD` asks for when this machine can take it, else the best. The
    /// variable is for measuring and testing the paths against each other: they sound the same.
    pub fn from_env() -> Self {
        std::env::var("SOMNIA_SIMD")
            .ok()
            .and_then(|v| Self::from_name(&v))
            .filter(|p| p.available())
            .unwrap_or_else(Self::best)
    }

    /// Voices in a group on this path (1 on the scalar path). Twice the vector width: the
    /// filter's feedback is a chain of about 20 cycles a sample, and two independent vectors
    /// keep the machine busy while each waits on its own.
    fn lanes(self) -> usize {
        match self {
            SimdPath::Scalar => 1,
            SimdPath::Portable => PORTABLE_LANES,
            SimdPath::Avx2 => AVX2_LANES,
        }
    }
}

const PORTABLE_LANES: usize = 8;
const AVX2_LANES: usize = 16;

/// The lanes' working memory, made once with the engine: rendering never allocates.
pub struct VoiceLanes {
    /// The slots rendered this chunk, grouped by plan key.
    order: [u8; MAX_VOICES],
    /// Each rendered slot's plan key.
    keys: [u8; MAX_VOICES],
    /// The groups of each width. A group keeps its voices' state between chunks: a voice in
    /// the same lane as last chunk, and not changed outside the lanes since (see
    /// `Voice::lanes_stale`), is not loaded again, only given its new filter coefficients.
    portable: Box<[Group<PORTABLE_LANES>]>,
    avx2: Box<[Group<AVX2_LANES>]>,
    /// The chunk's working rows of whichever group is rendering.
    portable_rows: Rows<PORTABLE_LANES>,
    avx2_rows: Rows<AVX2_LANES>,
    /// The groups that held voices after the last chunk.
    groups_used: usize,
    /// The path of the last chunk: after another, no lane's copy can be trusted.
    last_path: SimdPath,
}

/// The most groups a chunk can need at width `lanes`: full groups, and at most one partial
/// group per plan key.
const fn max_groups(lanes: usize) -> usize {
    MAX_VOICES / lanes + KEYS
}

/// A lane that carries no voice.
const NO_SLOT: u8 = u8::MAX;
const _: () = assert!(MAX_VOICES <= NO_SLOT as usize);

/// Kinds of plan: 3 filter modes × (4 fused waveforms × 2 + unfused) × with or without
/// oscillators rendered ahead (a group's voices all add the mix, or none does: adding a
/// mix of zeros is not always a no-op, `-0 + 0` being `+0`).
const KEYS: usize = 3 * 9 * 2;

fn key_of(p: &Plan) -> u8 {
    let fused = if p.fused == FUSE_NONE {
        8
    } else {
        p.fused * 2 + u8::from(p.both)
    };
    (p.mode * 9 + fused) * 2 + u8::from(p.premixed)
}

impl Default for VoiceLanes {
    fn default() -> Self {
        Self {
            order: [0; MAX_VOICES],
            keys: [0; MAX_VOICES],
            portable: vec![Group::default(); max_groups(PORTABLE_LANES)].into_boxed_slice(),
            avx2: vec![Group::default(); max_groups(AVX2_LANES)].into_boxed_slice(),
            portable_rows: Rows::default(),
            avx2_rows: Rows::default(),
            groups_used: 0,
            last_path: SimdPath::Scalar,
        }
    }
}

impl VoiceLanes {
    /// `Voice::update_controls` for every active voice: on the scalar path one voice at a
    /// time; else each voice's own part one by one and the filter's coefficients (an
    /// exponential, a tangent and a division: a chain the scalar path waits on per voice) for
    /// 16 voices at once.
    pub fn update_controls(
        &mut self,
        voices: &mut [Voice; MAX_VOICES],
        path: SimdPath,
        c: &VoiceControls,
    ) {
        if path == SimdPath::Scalar {
            for v in voices.iter_mut().filter(|v| v.is_active()) {
                v.update_controls(c);
            }
            return;
        }
        let mut batch = CutoffBatch::default();
        let mut slots = [0u8; CUTOFF_BATCH];
        let mut count = 0;
        for slot in 0..MAX_VOICES {
            let v = &mut voices[slot];
            if !v.is_active() {
                continue;
            }
            let Some(inputs) = v.update_pitch(c) else {
                continue;
            };
            batch.set(count, &inputs);
            slots[count] = slot as u8;
            count += 1;
            if count == CUTOFF_BATCH {
                batch.solve_into(voices, &slots, path, c);
                count = 0;
            }
        }
        batch.solve_into(voices, &slots[..count], path, c);
    }

    /// Adds every active voice's next `left.len()` (at most [`RENDER_CHUNK`]) samples into
    /// `left`/`right`: on the scalar path voice by voice, else in groups on `path`.
    ///
    /// Real-time safe: no allocation, no locks, no I/O.
    pub fn render_add(
        &mut self,
        voices: &mut [Voice; MAX_VOICES],
        path: SimdPath,
        left: &mut [f32],
        right: &mut [f32],
    ) {
        if path != self.last_path {
            // The voices move on without these lanes (or with the other width's).
            self.forget_groups(0);
            self.last_path = path;
        }
        // Which voices sound, and how: counted by key, then laid out key by key (a counting
        // sort: slots stay in pool order within a key, and it costs one pass). Every path adds
        // the voices into the bus in this order.
        let mut per_key = [0u8; KEYS + 1];
        let mut sounding = [0u8; MAX_VOICES];
        let mut count = 0;
        for (slot, v) in voices.iter().enumerate() {
            if v.is_active() && v.patch.is_some() {
                let key = key_of(&v.plan);
                self.keys[slot] = key;
                per_key[usize::from(key) + 1] += 1;
                sounding[count] = slot as u8;
                count += 1;
            }
        }
        let sounding = &sounding[..count];
        if sounding.is_empty() {
            self.forget_groups(0);
            return;
        }
        for k in 0..KEYS {
            per_key[k + 1] += per_key[k];
        }
        let mut next = per_key;
        for &slot in sounding {
            let key = usize::from(self.keys[usize::from(slot)]);
            self.order[usize::from(next[key])] = slot;
            next[key] += 1;
        }
        if path == SimdPath::Scalar {
            for &slot in &self.order[..count] {
                voices[usize::from(slot)].render_add(left, right);
            }
            return;
        }
        let n = left.len().min(right.len()).min(RENDER_CHUNK);
        let (left, right) = (&mut left[..n], &mut right[..n]);
        // Each key's slots, a group at a time: the same voices land in the same lanes chunk
        // after chunk while no voice starts or ends. Each group's output goes into the bus
        // as soon as it is made, lane by lane, which is the order above.
        let width = path.lanes();
        let mut used = 0;
        for key in 0..KEYS {
            let (from, to) = (usize::from(per_key[key]), usize::from(per_key[key + 1]));
            let mut at = from;
            while at < to {
                let end = (at + width).min(to);
                let mut group = [0u8; AVX2_LANES];
                group[..end - at].copy_from_slice(&self.order[at..end]);
                let slots = &group[..end - at];
                if width == AVX2_LANES {
                    let (g, rows) = (&mut self.avx2[used], &mut self.avx2_rows);
                    render_group(g, rows, voices, slots, path, left, right);
                } else {
                    let (g, rows) = (&mut self.portable[used], &mut self.portable_rows);
                    render_group(g, rows, voices, slots, path, left, right);
                }
                used += 1;
                at = end;
            }
        }
        // A group left out this chunk may not keep a copy that goes stale meanwhile.
        self.forget_groups(used);
        self.groups_used = used;
        for &slot in sounding {
            voices[usize::from(slot)].end_render();
        }
    }

    /// The groups of the last chunk's path from `from` on let go of their voices, which they
    /// load afresh when next given them. (Past `groups_used`, none holds one.)
    fn forget_groups(&mut self, from: usize) {
        let to = self.groups_used.max(from);
        if self.last_path == SimdPath::Avx2 {
            self.avx2[from..to].iter_mut().for_each(Group::forget);
        } else {
            self.portable[from..to].iter_mut().for_each(Group::forget);
        }
        self.groups_used = self.groups_used.min(from);
    }
}

/// Renders the voices at `slots` (at most `L`, all with one plan key) in group `g`, and adds
/// them into `left`/`right` (`left.len()` samples) one after another.
fn render_group<const L: usize>(
    g: &mut Group<L>,
    rows: &mut Rows<L>,
    voices: &mut [Voice; MAX_VOICES],
    slots: &[u8],
    path: SimdPath,
    left: &mut [f32],
    right: &mut [f32],
) {
    let n = left.len().min(RENDER_CHUNK);
    let plan = voices[usize::from(slots[0])].plan;
    let (mut out_l, mut out_r) = ([0.0f32; L], [0.0f32; L]);
    for j in 0..L {
        match slots.get(j) {
            Some(&slot) => {
                let v = &mut voices[usize::from(slot)];
                if plan.premixed {
                    let mut row = [0.0f32; RENDER_CHUNK];
                    v.premix(&plan, &mut row[..n]);
                    for (k, x) in row[..n].iter().enumerate() {
                        rows.mix[k][j] = *x;
                    }
                }
                if g.held[j] == slot && !v.lanes_stale {
                    // Still here from last chunk: only the coefficients are new.
                    g.set_coefs(j, v.coefs);
                } else {
                    g.load(j, v);
                    g.held[j] = slot;
                    v.lanes_stale = false;
                }
                (out_l[j], out_r[j]) = (v.out_l, v.out_r);
            }
            None => {
                if g.held[j] != NO_SLOT {
                    g.silence(j);
                    g.held[j] = NO_SLOT;
                }
                if plan.premixed {
                    for m in rows.mix[..n].iter_mut() {
                        m[j] = 0.0;
                    }
                }
            }
        }
    }
    run_on_path::<L>(g, rows, &plan, path, n);
    for (j, &slot) in slots.iter().enumerate() {
        g.store(j, &mut voices[usize::from(slot)], &plan);
    }
    add_to_bus(&rows.out, slots.len(), &out_l, &out_r, left, right);
}

/// Adds lanes `0..lanes` of `out` (by sample, then lane) into `left`/`right` with their gains,
/// lane after lane, as the scalar path adds voice after voice: `bus + sample × gain` for each,
/// in that order. Four samples of four lanes at a time, turned in registers so that each
/// lane's four samples are one vector (a row per voice stored and loaded again cost more
/// than the voices' own filter).
#[inline(always)]
fn add_to_bus<const L: usize>(
    out: &[[f32; L]; RENDER_CHUNK],
    lanes: usize,
    gain_l: &[f32; L],
    gain_r: &[f32; L],
    left: &mut [f32],
    right: &mut [f32],
) {
    let n = left.len().min(right.len()).min(RENDER_CHUNK);
    #[allow(unused_mut)]
    let mut done = 0;
    #[cfg(target_arch = "x86_64")]
    {
        use std::arch::x86_64::{
            __m128, _mm_add_ps, _mm_loadu_ps, _mm_movehl_ps, _mm_movelh_ps, _mm_mul_ps,
            _mm_set1_ps, _mm_storeu_ps, _mm_unpackhi_ps, _mm_unpacklo_ps,
        };
        const { assert!(L % 4 == 0) };
        while done + 4 <= n {
            let k = done;
            // SAFETY: SSE is part of x86-64's baseline; each load and store is of four floats
            // inside its array or slice (k + 4 <= n <= the bus's length and RENDER_CHUNK;
            // jb + 4 <= L).
            unsafe {
                let mut l = _mm_loadu_ps(left[k..k + 4].as_ptr());
                let mut r = _mm_loadu_ps(right[k..k + 4].as_ptr());
                for jb in (0..lanes).step_by(4) {
                    let row = |s: usize| _mm_loadu_ps(out[k + s][jb..jb + 4].as_ptr());
                    let (r0, r1, r2, r3) = (row(0), row(1), row(2), row(3));
                    let (t0, t1) = (_mm_unpacklo_ps(r0, r1), _mm_unpacklo_ps(r2, r3));
                    let (t2, t3) = (_mm_unpackhi_ps(r0, r1), _mm_unpackhi_ps(r2, r3));
                    let columns: [__m128; 4] = [
                        _mm_movelh_ps(t0, t1),
                        _mm_movehl_ps(t1, t0),
                        _mm_movelh_ps(t2, t3),
                        _mm_movehl_ps(t3, t2),
                    ];
                    for (jj, c) in columns.iter().enumerate().take(lanes - jb) {
                        let j = jb + jj;
                        l = _mm_add_ps(l, _mm_mul_ps(*c, _mm_set1_ps(gain_l[j])));
                        r = _mm_add_ps(r, _mm_mul_ps(*c, _mm_set1_ps(gain_r[j])));
                    }
                }
                _mm_storeu_ps(left[k..k + 4].as_mut_ptr(), l);
                _mm_storeu_ps(right[k..k + 4].as_mut_ptr(), r);
            }
            done += 4;
        }
    }
    // The rest (all of it off x86-64), one sample at a time: the same sums in the same order.
    for k in done..n {
        for j in 0..lanes {
            left[k] += out[k][j] * gain_l[j];
            right[k] += out[k][j] * gain_r[j];
        }
    }
}

/// Voices whose filter coefficients are computed at once.
const CUTOFF_BATCH: usize = 16;

/// [`CutoffInputs`] and the coefficients made from them, structure of arrays.
#[derive(Default)]
struct CutoffBatch {
    env_level: [f32; CUTOFF_BATCH],
    env_octaves: [f32; CUTOFF_BATCH],
    key_track: [f32; CUTOFF_BATCH],
    note: [f32; CUTOFF_BATCH],
    velocity_octaves: [f32; CUTOFF_BATCH],
    velocity: [f32; CUTOFF_BATCH],
    cutoff_hz: [f32; CUTOFF_BATCH],
    resonance: [f32; CUTOFF_BATCH],
    a1: [f32; CUTOFF_BATCH],
    a2: [f32; CUTOFF_BATCH],
    g: [f32; CUTOFF_BATCH],
    k: [f32; CUTOFF_BATCH],
}

impl CutoffBatch {
    fn set(&mut self, j: usize, i: &CutoffInputs) {
        self.env_level[j] = i.env_level;
        self.env_octaves[j] = i.env_octaves;
        self.key_track[j] = i.key_track;
        self.note[j] = i.note;
        self.velocity_octaves[j] = i.velocity_octaves;
        self.velocity[j] = i.velocity;
        self.cutoff_hz[j] = i.cutoff_hz;
        self.resonance[j] = i.resonance;
    }

    fn coefs(&self, j: usize) -> SvfCoefs {
        SvfCoefs {
            a1: self.a1[j],
            a2: self.a2[j],
            g: self.g[j],
            k: self.k[j],
        }
    }

    /// Solves the first `slots.len()` lanes and gives each its voice's coefficients.
    fn solve_into(
        &mut self,
        voices: &mut [Voice; MAX_VOICES],
        slots: &[u8],
        path: SimdPath,
        c: &VoiceControls,
    ) {
        if slots.is_empty() {
            return;
        }
        self.solve_on(path, c);
        for (j, &s) in slots.iter().enumerate() {
            voices[usize::from(s)].coefs = self.coefs(j);
        }
    }

    fn solve_on(&mut self, path: SimdPath, c: &VoiceControls) {
        #[cfg(target_arch = "x86_64")]
        if path == SimdPath::Avx2 && SimdPath::Avx2.available() {
            // SAFETY: the machine has AVX2 (checked just above; the check is cached by std).
            unsafe { self.solve_avx2(c) };
            return;
        }
        let _ = path;
        self.solve(c);
    }

    #[cfg(target_arch = "x86_64")]
    #[target_feature(enable = "avx2")]
    unsafe fn solve_avx2(&mut self, c: &VoiceControls) {
        self.solve(c);
    }

    /// Every lane's coefficients: `CutoffInputs::coefs`, a lane at a time in the source and
    /// all at once in the machine code.
    #[inline(always)]
    fn solve(&mut self, c: &VoiceControls) {
        for j in 0..CUTOFF_BATCH {
            let coefs = CutoffInputs {
                env_level: self.env_level[j],
                env_octaves: self.env_octaves[j],
                key_track: self.key_track[j],
                note: self.note[j],
                velocity_octaves: self.velocity_octaves[j],
                velocity: self.velocity[j],
                cutoff_hz: self.cutoff_hz[j],
                resonance: self.resonance[j],
            }
            .coefs(c);
            self.a1[j] = coefs.a1;
            self.a2[j] = coefs.a2;
            self.g[j] = coefs.g;
            self.k[j] = coefs.k;
        }
    }
}

/// Up to `L` voices' state, structure of arrays: `x[j]` is lane `j`'s. Lanes no voice fills
/// stay silent (their envelope never moves). Kept from chunk to chunk (see `held`).
#[derive(Clone, Copy)]
struct Group<const L: usize> {
    /// The fused oscillators' centred phases, as the voice keeps them.
    h1: [f32; L],
    dt1: [f32; L],
    inv1: [f32; L],
    gain1: [f32; L],
    h2: [f32; L],
    dt2: [f32; L],
    inv2: [f32; L],
    gain2: [f32; L],
    a1: [f32; L],
    a2: [f32; L],
    g: [f32; L],
    k: [f32; L],
    ic1: [f32; L],
    ic2: [f32; L],
    /// The amp envelope, as `Adsr::next` steps it: each sample `level + step`, and the stage
    /// ends when the level reaches `limit` (from below when `rising`, else from above).
    level: [f32; L],
    step: [f32; L],
    limit: [f32; L],
    /// +1 while rising, -1 while falling: the stage has ended when `(level - limit) * dir`
    /// is at least 0, which is `level >= limit` or `level <= limit` exactly (a difference of
    /// two floats is 0 only when they are equal, and has the sign of their order), and
    /// stays in vector registers where a per-lane choice of comparison would not.
    dir: [f32; L],
    stage: [Stage; L],
    /// What the decay stage needs when the attack ends.
    decay_step: [f32; L],
    sustain: [f32; L],
    /// The pool slot whose state each lane carries, or `NO_SLOT` (a silent lane).
    held: [u8; L],
}

impl<const L: usize> Default for Group<L> {
    fn default() -> Self {
        let z = [0.0; L];
        Self {
            h1: z,
            dt1: z,
            inv1: z,
            gain1: z,
            h2: z,
            dt2: z,
            inv2: z,
            gain2: z,
            a1: z,
            a2: z,
            g: z,
            k: z,
            ic1: z,
            ic2: z,
            level: z,
            step: [HOLD_STEP; L],
            limit: [f32::NEG_INFINITY; L],
            dir: [-1.0; L],
            stage: [Stage::Idle; L],
            decay_step: z,
            sustain: z,
            held: [NO_SLOT; L],
        }
    }
}

/// A group's rows for one chunk, by sample then lane: what goes in besides the fused
/// oscillators, and what comes out. Shared by the groups of one width, one after another.
struct Rows<const L: usize> {
    /// The oscillators rendered ahead (`premix`); read only when the plan has any.
    mix: [[f32; L]; RENDER_CHUNK],
    /// The mono output, after the envelope, before the pan and the amplitude scale.
    out: [[f32; L]; RENDER_CHUNK],
}

impl<const L: usize> Default for Rows<L> {
    fn default() -> Self {
        Self {
            mix: [[0.0; L]; RENDER_CHUNK],
            out: [[0.0; L]; RENDER_CHUNK],
        }
    }
}

/// The step of a stage that holds its level: adding -0 leaves every value, -0 included,
/// exactly as it was (adding +0 would turn -0 into +0).
const HOLD_STEP: f32 = -0.0;

impl<const L: usize> Group<L> {
    /// Lane `j` carries no voice: it stays silent and its envelope never moves.
    fn silence(&mut self, j: usize) {
        (self.gain1[j], self.gain2[j], self.ic1[j], self.ic2[j]) = (0.0, 0.0, 0.0, 0.0);
        (self.dt1[j], self.dt2[j], self.inv1[j], self.inv2[j]) = (0.0, 0.0, 0.0, 0.0);
        self.level[j] = 0.0;
        self.set_stage(j, Stage::Idle, 0.0);
    }

    /// Lets go of every lane's voice: each lane is silenced and will load its next voice.
    fn forget(&mut self) {
        for j in 0..L {
            if self.held[j] != NO_SLOT {
                self.silence(j);
                self.held[j] = NO_SLOT;
            }
        }
    }

    /// Lane `j`'s filter coefficients for this chunk.
    fn set_coefs(&mut self, j: usize, c: SvfCoefs) {
        (self.a1[j], self.a2[j], self.g[j], self.k[j]) = (c.a1, c.a2, c.g, c.k);
    }

    /// Takes voice `v` into lane `j`.
    fn load(&mut self, j: usize, v: &Voice) {
        let (o1, o2) = (&v.osc[0], &v.osc[1]);
        (self.h1[j], self.dt1[j], self.inv1[j], self.gain1[j]) =
            (o1.phases[0], o1.dts[0], o1.inv_dts[0], o1.gain);
        (self.h2[j], self.dt2[j], self.inv2[j], self.gain2[j]) =
            (o2.phases[0], o2.dts[0], o2.inv_dts[0], o2.gain);
        self.set_coefs(j, v.coefs);
        (self.ic1[j], self.ic2[j]) = (v.ic1, v.ic2);
        let e = &v.amp_env;
        self.level[j] = e.level;
        self.stage[j] = e.stage;
        self.decay_step[j] = e.decay_step;
        self.sustain[j] = e.sustain;
        let moving = match e.stage {
            Stage::Attack => e.attack_step,
            _ => e.release_step,
        };
        self.set_stage(j, e.stage, moving);
    }

    /// Lane `j`'s envelope enters `stage`; `step` is the attack's or the release's step (the
    /// decay's is kept per lane, and the other stages hold).
    fn set_stage(&mut self, j: usize, stage: Stage, step: f32) {
        // `level - s` and `level + (-s)` are the same IEEE operation, bit for bit.
        (self.step[j], self.limit[j], self.dir[j]) = match stage {
            Stage::Attack => (step, 1.0, 1.0),
            Stage::Decay => (-self.decay_step[j], self.sustain[j], -1.0),
            Stage::Release => (-step, 0.0, -1.0),
            Stage::Idle | Stage::Sustain => (HOLD_STEP, f32::NEG_INFINITY, -1.0),
        };
        self.stage[j] = stage;
    }

    /// Lane `j`'s envelope reached its stage's end this sample: the rules of `Adsr::next`.
    #[cold]
    fn stage_ended(&mut self, j: usize) {
        self.level[j] = self.limit[j];
        let next = match self.stage[j] {
            Stage::Attack => Stage::Decay,
            Stage::Decay => Stage::Sustain,
            _ => Stage::Idle,
        };
        self.set_stage(j, next, 0.0);
    }

    /// Gives lane `j`'s state back to voice `v`.
    fn store(&self, j: usize, v: &mut Voice, p: &Plan) {
        if p.fused != FUSE_NONE {
            v.osc[0].phases[0] = self.h1[j];
            if p.both {
                v.osc[1].phases[0] = self.h2[j];
            }
        }
        (v.ic1, v.ic2) = (self.ic1[j], self.ic2[j]);
        v.amp_env.level = self.level[j];
        v.amp_env.stage = self.stage[j];
    }
}

/// Runs `g` for `n` samples on `path`.
fn run_on_path<const L: usize>(
    g: &mut Group<L>,
    rows: &mut Rows<L>,
    plan: &Plan,
    path: SimdPath,
    n: usize,
) {
    #[cfg(target_arch = "x86_64")]
    if path == SimdPath::Avx2 && L == AVX2_LANES && SimdPath::Avx2.available() {
        // SAFETY: the machine has AVX2 (checked just above; the check is cached by std).
        unsafe { run_avx2::<L>(g, rows, plan, n) };
        return;
    }
    let _ = path;
    run::<L>(g, rows, plan, n);
}

/// [`run`] compiled for AVX2: the same code, in 256-bit registers.
#[cfg(target_arch = "x86_64")]
#[target_feature(enable = "avx2")]
unsafe fn run_avx2<const L: usize>(g: &mut Group<L>, rows: &mut Rows<L>, plan: &Plan, n: usize) {
    run::<L>(g, rows, plan, n);
}

/// Picks the kernel for the plan: one specialised loop per filter mode and fused waveform.
#[inline(always)]
fn run<const L: usize>(g: &mut Group<L>, rows: &mut Rows<L>, plan: &Plan, n: usize) {
    let premixed = plan.premixed;
    let n = n.min(RENDER_CHUNK);
    // Whether some lane's envelope could end its stage within these `n` samples. Each step's
    // rounding moves a level (never above 2) by at most 2^-23, so a lane whose distance to its
    // stage's end is more than `n` steps and `n` roundings away cannot reach it: the kernel
    // then skips the per-sample comparison, and the sums it does are the same ones.
    let stage_may_end = (0..L).any(|j| {
        let distance = (f64::from(g.limit[j]) - f64::from(g.level[j])) * f64::from(g.dir[j]);
        let reach = n as f64 * (f64::from(g.step[j]).abs() + f64::powi(2.0, -23));
        distance.is_nan() || distance <= reach * 1.01 + 1e-9
    });
    // The chunks where no stage can end (nearly all) run a kernel without the comparison at
    // all: with it, even untaken, the compiler keeps the envelope in memory lane by lane.
    macro_rules! by_fusion {
        ($m:literal, $c:literal) => {
            match (plan.fused, plan.both) {
                (0, false) => kernel::<L, $m, 0, false, $c>(g, rows, premixed, n),
                (1, false) => kernel::<L, $m, 1, false, $c>(g, rows, premixed, n),
                (2, false) => kernel::<L, $m, 2, false, $c>(g, rows, premixed, n),
                (3, false) => kernel::<L, $m, 3, false, $c>(g, rows, premixed, n),
                (0, true) => kernel::<L, $m, 0, true, $c>(g, rows, premixed, n),
                (1, true) => kernel::<L, $m, 1, true, $c>(g, rows, premixed, n),
                (2, true) => kernel::<L, $m, 2, true, $c>(g, rows, premixed, n),
                (3, true) => kernel::<L, $m, 3, true, $c>(g, rows, premixed, n),
                _ => kernel::<L, $m, FUSE_NONE, false, $c>(g, rows, premixed, n),
            }
        };
    }
    match (plan.mode, stage_may_end) {
        (0, false) => by_fusion!(0, false),
        (1, false) => by_fusion!(1, false),
        (_, false) => by_fusion!(2, false),
        (0, true) => by_fusion!(0, true),
        (1, true) => by_fusion!(1, true),
        (_, true) => by_fusion!(2, true),
    }
}

/// `Voice::filter_env_pan` for `L` voices at once, up to the pan (the bus sums voices in pool
/// order afterwards, with each voice's pan and amplitude scale). Each statement is a loop over
/// the lanes, which the compiler turns into vector instructions.
#[inline(always)]
fn kernel<const L: usize, const MODE: u8, const WF: u8, const TWO: bool, const ENDS: bool>(
    g: &mut Group<L>,
    rows: &mut Rows<L>,
    premixed: bool,
    n: usize,
) {
    let (a1, a2, gc, kq) = (g.a1, g.a2, g.g, g.k);
    let (mut ic1, mut ic2) = (g.ic1, g.ic2);
    let (mut h1, mut h2) = (g.h1, g.h2);
    let (dt1, inv1, gain1) = (g.dt1, g.inv1, g.gain1);
    let (dt2, inv2, gain2) = (g.dt2, g.inv2, g.gain2);
    let (mut level, mut step, mut limit, mut dir) = (g.level, g.step, g.limit, g.dir);
    for k in 0..n.min(RENDER_CHUNK) {
        let mut x = [0.0f32; L];
        if WF == FUSE_NONE {
            if premixed {
                x = rows.mix[k];
            }
        } else {
            for j in 0..L {
                x[j] = gain1[j] * osc_sample::<WF>(h1[j], dt1[j], inv1[j]);
                h1[j] = wrap_centred(h1[j] + dt1[j]);
            }
            if TWO {
                for j in 0..L {
                    x[j] += gain2[j] * osc_sample::<WF>(h2[j], dt2[j], inv2[j]);
                    h2[j] = wrap_centred(h2[j] + dt2[j]);
                }
            }
            if premixed {
                for (x, m) in x.iter_mut().zip(&rows.mix[k]) {
                    *x += m;
                }
            }
        }
        let mut y = [0.0f32; L];
        for j in 0..L {
            let v3 = x[j] - ic2[j];
            let v1 = a1[j] * ic1[j] + a2[j] * v3;
            let v2 = ic2[j] + gc[j] * v1;
            ic1[j] = (v1 + v1) - ic1[j];
            ic2[j] = (v2 + v2) - ic2[j];
            y[j] = match MODE {
                0 => v2,
                1 => v1,
                _ => x[j] - kq[j] * v1 - v2,
            };
        }
        for j in 0..L {
            level[j] += step[j];
        }
        let mut ended = 0u32;
        if ENDS {
            for j in 0..L {
                ended |= u32::from((level[j] - limit[j]) * dir[j] >= 0.0) << j;
            }
        }
        if ENDS && ended != 0 {
            // A stage ends a few times a note: out of the vector loop.
            g.level = level;
            for j in 0..L {
                if ended & (1 << j) != 0 {
                    g.stage_ended(j);
                }
            }
            (level, step, limit, dir) = (g.level, g.step, g.limit, g.dir);
        }
        for j in 0..L {
            rows.out[k][j] = y[j] * level[j];
        }
    }
    (g.ic1, g.ic2) = (ic1, ic2);
    if WF != FUSE_NONE {
        g.h1 = h1;
        if TWO {
            g.h2 = h2;
        }
    }
    (g.level, g.step, g.limit, g.dir) = (level, step, limit, dir);
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::audio::synth::VoiceControls;
    use crate::bridge::patch::{EnvSpec, FilterMode, FilterSpec, OscSpec, Patch};

    fn controls(now: u64) -> VoiceControls {
        VoiceControls {
            sample_rate_hz: 48_000.0,
            cutoff_scale: 1.0,
            resonance: 0.1,
            bend: 0.0,
            detune_cents: 3.0,
            now,
        }
    }

    /// Patches that between them take every kernel: each waveform fused alone, fused in
    /// pairs, unfused (unison, FM, noise), each filter mode, short envelopes that end stages
    /// mid-chunk.
    fn patches() -> Vec<Patch> {
        let env = EnvSpec {
            attack_s: 0.0013,
            decay_s: 0.0021,
            sustain: 0.6,
            release_s: 0.003,
        };
        let mut out = Vec::new();
        let waves = crate::audio::synth::tests::ALL_WAVEFORMS;
        for (i, mode) in [
            FilterMode::Lowpass,
            FilterMode::Bandpass,
            FilterMode::Highpass,
        ]
        .into_iter()
        .enumerate()
        {
            for (w, wf) in waves.into_iter().enumerate() {
                let osc = OscSpec {
                    waveform: wf,
                    level: 0.7,
                    unison: if w == 2 && i == 1 { 3 } else { 1 },
                    unison_cents: 20.0,
                    fm_index: 2.0,
                    ..OscSpec::default()
                };
                let second = OscSpec {
                    waveform: waves[(w + i) % waves.len()],
                    level: if w == 3 { 0.0 } else { 0.4 },
                    detune_cents: 7.0,
                    ..osc
                };
                out.push(Patch {
                    osc: [osc, second],
                    filter: FilterSpec {
                        mode,
                        cutoff_hz: 900.0,
                        resonance: 0.6,
                        env_octaves: 2.0,
                        ..FilterSpec::default()
                    },
                    amp_env: env,
                    filter_env: env,
                    velocity_amount: 0.5,
                    ..Patch::default()
                });
            }
        }
        out
    }

    /// Plays the same notes on `path`: voices start, some release mid-way, for 40 chunks of
    /// uneven lengths; the bus's bits.
    fn play(path: SimdPath) -> Vec<u32> {
        let mut voices = Box::new([Voice::default(); MAX_VOICES]);
        let mut lanes = Box::<VoiceLanes>::default();
        let patches = patches();
        let mut bits = Vec::new();
        let mut now = 0u64;
        for round in 0..40usize {
            for (i, patch) in patches.iter().enumerate() {
                let slot = (i * 5 + round * 3) % MAX_VOICES;
                if (round + i) % 7 == 0 {
                    voices[slot].start(
                        40 + (i as u8 * 5) % 48,
                        0.3 + 0.02 * i as f32,
                        patch,
                        (round * 100 + i) as u64,
                        48_000.0,
                        now,
                    );
                } else if (round + i) % 11 == 0 {
                    voices[slot].release(now);
                }
            }
            lanes.update_controls(&mut voices, path, &controls(now));
            let n = 32 - round % 9;
            let (mut l, mut r) = (vec![0.0f32; n], vec![0.0f32; n]);
            lanes.render_add(&mut voices, path, &mut l, &mut r);
            bits.extend(l.iter().chain(&r).map(|s| s.to_bits()));
            now += n as u64;
        }
        bits
    }

    #[test]
    fn every_simd_path_the_machine_has_gives_the_scalar_paths_bits() {
        let reference = play(SimdPath::Scalar);
        let energy: f64 = reference
            .iter()
            .map(|b| f64::from(f32::from_bits(*b)).powi(2))
            .sum();
        assert!(energy > 1.0, "the notes are silent: {energy}");
        for path in [SimdPath::Portable, SimdPath::Avx2] {
            if !path.available() {
                eprintln!("{} is not available on this machine", path.name());
                continue;
            }
            let got = play(path);
            let first = got.iter().zip(&reference).position(|(a, b)| a != b);
            assert_eq!(first, None, "{} differs from scalar", path.name());
            assert_eq!(got.len(), reference.len());
        }
    }

    /// Sixteen low-pass voices fill the first groups and a band-pass voice the next; the
    /// sixteen end (the band-pass voice moves to the first group), then start again (it moves
    /// back): the bus's bits.
    fn play_moving(path: SimdPath) -> Vec<u32> {
        let env = EnvSpec {
            attack_s: 0.001,
            decay_s: 0.002,
            sustain: 0.7,
            release_s: 0.002,
        };
        let low = Patch {
            amp_env: env,
            ..Patch::default()
        };
        let band = Patch {
            filter: FilterSpec {
                mode: FilterMode::Bandpass,
                ..FilterSpec::default()
            },
            ..low
        };
        let mut voices = Box::new([Voice::default(); MAX_VOICES]);
        let mut lanes = Box::<VoiceLanes>::default();
        let (mut bits, mut now) = (Vec::new(), 0u64);
        let mut chunks = |voices: &mut [Voice; MAX_VOICES], count: usize, now: &mut u64| {
            for _ in 0..count {
                lanes.update_controls(voices, path, &controls(*now));
                let (mut l, mut r) = ([0.0f32; 32], [0.0f32; 32]);
                lanes.render_add(voices, path, &mut l, &mut r);
                bits.extend(l.iter().chain(&r).map(|s| s.to_bits()));
                *now += 32;
            }
        };
        let start_low = |voices: &mut [Voice; MAX_VOICES], now: u64| {
            for (slot, v) in voices[..16].iter_mut().enumerate() {
                v.start(48 + slot as u8, 0.8, &low, now + slot as u64, 48_000.0, now);
            }
        };
        start_low(&mut voices, now);
        voices[20].start(60, 0.8, &band, 99, 48_000.0, now);
        chunks(&mut voices, 4, &mut now);
        for v in &mut voices[..16] {
            v.release(now);
        }
        chunks(&mut voices, 10, &mut now);
        assert!(
            voices[..16].iter().all(|v| !v.is_active()),
            "the low voices still sound"
        );
        start_low(&mut voices, now);
        chunks(&mut voices, 6, &mut now);
        bits
    }

    #[test]
    fn a_voice_whose_group_moves_away_and_back_gives_the_scalar_paths_bits() {
        let reference = play_moving(SimdPath::Scalar);
        for path in [SimdPath::Portable, SimdPath::Avx2] {
            if path.available() {
                let got = play_moving(path);
                let first = got.iter().zip(&reference).position(|(a, b)| a != b);
                assert_eq!(first, None, "{} differs from scalar", path.name());
            }
        }
    }

    #[test]
    fn paths_are_named_as_somnia_simd_takes_them() {
        for p in SimdPath::ALL {
            assert_eq!(SimdPath::from_name(p.name()), Some(p));
        }
        assert_eq!(SimdPath::from_name("sse9"), None);
        assert!(SimdPath::best().available());
    }
}
