// Dream Sphere: a glowing orb that holds a dreamer's dream, its surface swirling, breathing
// with the music, a halo flaring on every onset.
// Params: hue, swirl (surface flow speed), size (radius).

@fragment
fn fs_main(in: VsOut) -> @location(0) vec4<f32> {
    let p = centered(in.uv);
    let t = somnia.time_s;
    let radius = params.size * (0.9 + 0.25 * somnia.rms + 0.05 * sin(t * 0.7));
    let d = length(p);

    // Deep space: faint nebula behind.
    var col = vec3<f32>(0.01, 0.005, 0.03) + 0.06 * hsv2rgb(params.hue + 0.5, 0.6, fbm(p * 1.5 + vec2<f32>(t * 0.02, 0.0), 3));

    if (d < radius) {
        // A sphere's surface: z from the disc, so the pattern wraps around it.
        let z = sqrt(max(radius * radius - d * d, 0.0));
        let n = vec3<f32>(p, z) / radius;
        let flow = vec2<f32>(atan2(n.y, n.x) + t * params.swirl * 0.3, acos(clamp(n.z, -1.0, 1.0)) * 2.0 - t * params.swirl * 0.1);
        let pattern = fbm(flow * 2.0 + vec2<f32>(fbm(flow * 3.0, 3) * 2.0, 0.0), 4);
        let light = 0.35 + 0.65 * max(dot(n, normalize(vec3<f32>(-0.4, 0.5, 0.8))), 0.0);
        let surface = hsv2rgb(params.hue + 0.15 * pattern, 0.7, 0.3 + 0.9 * pattern);
        let rim = pow(1.0 - n.z, 3.0);
        col = surface * light + hsv2rgb(params.hue + 0.1, 0.5, 1.0) * rim * 0.8;
    }

    // Halo: a soft glow outside the rim, flaring on onsets and with the low bands.
    let halo = exp(-max(d - radius, 0.0) * 9.0) * (0.35 + 0.8 * onset_pulse(5.0) + 0.5 * band(1));
    col = col + hsv2rgb(params.hue, 0.6, 1.0) * halo * select(1.0, 0.25, d < radius);
    return vec4<f32>(clamp(col, vec3<f32>(0.0), vec3<f32>(1.0)), 1.0);
}
