// Somnia's standard inputs, prepended to every layer shader by the engine.
// A layer shader uses `somnia.*`, `params.*` and the helpers below without declaring them,
// and defines one entry point:
//     @fragment fn fs_main(in: VsOut) -> @location(0) vec4<f32>
// Its output is written to the screen as it is (no sRGB conversion), like most VJ tools.

struct Somnia {
    resolution: vec2<f32>, // output size in pixels
    time_s: f32,           // seconds since the show (in a kiosk: the item) began, on the audio clock
    beat: f32,             // beats since the start, fractional; fract(beat) is the beat phase
    bar: f32,              // bars since the start, fractional
    tempo_bpm: f32,
    rms: f32,              // output loudness of the latest audio block, 0..1
    peak: f32,             // output peak of the latest audio block, 0..1
    bands: array<vec4<f32>, 2>, // 8 spectrum bands, 40 Hz..16 kHz log-spaced; use band(i)
    onset_age_s: f32,      // seconds since the latest detected onset (large if none yet)
    onsets: f32,           // how many onsets so far
    detected_bpm: f32,     // tempo heard in the sound (0 until known)
    crowd_energy: f32,     // the audience's mean energy from their phones, 0..1 (0 with none)
    crowd_agreement: f32,  // how much the phones' choices agree, 0..1 (0 with none)
    crowd_size: f32,       // phones joined (0 in an offline render)
    _pad: vec2<f32>,
};
@group(0) @binding(0) var<uniform> somnia: Somnia;

struct VsOut {
    @builtin(position) position: vec4<f32>,
    @location(0) uv: vec2<f32>, // 0..1 across the output, y down
};

// One triangle that covers the whole target: no vertex buffer needed.
@vertex
fn vs_main(@builtin(vertex_index) i: u32) -> VsOut {
    let x = f32((i << 1u) & 2u);
    let y = f32(i & 2u);
    var out: VsOut;
    out.position = vec4<f32>(x * 2.0 - 1.0, 1.0 - y * 2.0, 0.0, 1.0);
    out.uv = vec2<f32>(x, y);
    return out;
}

// Spectrum band i (0 = lowest, 7 = highest), 0..~1.
fn band(i: i32) -> f32 {
    let j = clamp(i, 0, 7);
    return somnia.bands[j / 4][j % 4];
}

// A flash on every onset: 1 at the onset, decaying by `rate` per second.
fn onset_pulse(rate: f32) -> f32 {
    return exp(-somnia.onset_age_s * rate);
}

// Centred coordinates with the aspect ratio kept: y runs -1..1, x scales with the width.
fn centered(uv: vec2<f32>) -> vec2<f32> {
    let aspect = somnia.resolution.x / max(somnia.resolution.y, 1.0);
    return vec2<f32>((uv.x * 2.0 - 1.0) * aspect, 1.0 - uv.y * 2.0);
}

fn hash21(p: vec2<f32>) -> f32 {
    var q = fract(p * vec2<f32>(123.34, 456.21));
    q = q + dot(q, q + 45.32);
    return fract(q.x * q.y);
}

// Smooth value noise in 0..1.
fn noise2(p: vec2<f32>) -> f32 {
    let i = floor(p);
    let f = fract(p);
    let u = f * f * (3.0 - 2.0 * f);
    let a = hash21(i);
    let b = hash21(i + vec2<f32>(1.0, 0.0));
    let c = hash21(i + vec2<f32>(0.0, 1.0));
    let d = hash21(i + vec2<f32>(1.0, 1.0));
    return mix(mix(a, b, u.x), mix(c, d, u.x), u.y);
}

// Fractal Brownian motion: `octaves` layers of noise, each twice as fine and half as strong.
fn fbm(p_in: vec2<f32>, octaves: i32) -> f32 {
    var p = p_in;
    var sum = 0.0;
    var amp = 0.5;
    for (var i = 0; i < octaves; i = i + 1) {
        sum = sum + amp * noise2(p);
        p = p * 2.03 + vec2<f32>(1.7, 9.2);
        amp = amp * 0.5;
    }
    return sum;
}

// Inigo Quilez's cosine palette.
fn palette(t: f32, a: vec3<f32>, b: vec3<f32>, c: vec3<f32>, d: vec3<f32>) -> vec3<f32> {
    return a + b * cos(6.2831853 * (c * t + d));
}

fn hsv2rgb(h: f32, s: f32, v: f32) -> vec3<f32> {
    let k = vec3<f32>(1.0, 2.0 / 3.0, 1.0 / 3.0);
    let p = abs(fract(vec3<f32>(h) + k) * 6.0 - vec3<f32>(3.0));
    return v * mix(vec3<f32>(1.0), clamp(p - vec3<f32>(1.0), vec3<f32>(0.0), vec3<f32>(1.0)), s);
}
