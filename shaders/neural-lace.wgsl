// Neural lace: a net of nodes and filaments, the wiring of the collective dream; pulses run
// along the filaments on the beat and the net brightens with the music.
// Params: hue, density (cells across the screen), pulse.

// Distance to the nearest and second-nearest feature point of a jittered grid (Worley).
fn worley(p: vec2<f32>, t: f32) -> vec2<f32> {
    let cell = floor(p);
    var d1 = 8.0;
    var d2 = 8.0;
    for (var y = -1; y <= 1; y = y + 1) {
        for (var x = -1; x <= 1; x = x + 1) {
            let c = cell + vec2<f32>(f32(x), f32(y));
            let h = hash21(c);
            let point = c + 0.5 + 0.4 * vec2<f32>(sin(t * 0.3 + h * 6.28), cos(t * 0.27 + h * 12.0));
            let d = length(p - point);
            if (d < d1) {
                d2 = d1;
                d1 = d;
            } else if (d < d2) {
                d2 = d;
            }
        }
    }
    return vec2<f32>(d1, d2);
}

@fragment
fn fs_main(in: VsOut) -> @location(0) vec4<f32> {
    let p = centered(in.uv) * params.density;
    let t = somnia.time_s;
    let w = worley(p, t);
    // Filaments where two cells meet; nodes at the feature points.
    let filament = smoothstep(0.06, 0.0, w.y - w.x);
    let node = smoothstep(0.12, 0.0, w.x);
    let travel = 0.5 + 0.5 * sin((w.x + w.y) * 6.0 - somnia.beat * 6.2832);
    let energy = 0.4 + params.pulse * (0.6 * travel + 0.8 * onset_pulse(4.0)) + 2.0 * somnia.rms;
    var col = vec3<f32>(0.005, 0.01, 0.025);
    col = col + hsv2rgb(params.hue + 0.1 * w.x, 0.7, 1.0) * filament * energy * 0.7;
    col = col + hsv2rgb(params.hue + 0.5, 0.4, 1.0) * node * (0.6 + band(4));
    return vec4<f32>(clamp(col, vec3<f32>(0.0), vec3<f32>(1.0)), 1.0);
}
