// Sleep-square aurora: curtains of light drift over the night sky above the Sleep Squares,
// swelling with the music's loudness.
// Params: hue (curtain colour), speed (drift), glow (how strongly the sound lights them).

@fragment
fn fs_main(in: VsOut) -> @location(0) vec4<f32> {
    let p = centered(in.uv);
    let t = somnia.time_s * params.speed;

    // Night sky: deep blue towards the top, a faint haze on the horizon.
    var col = mix(vec3<f32>(0.02, 0.03, 0.07), vec3<f32>(0.0, 0.005, 0.02), in.uv.y * -1.0 + 1.0);
    col = col + vec3<f32>(0.03, 0.02, 0.05) * smoothstep(0.2, 1.0, in.uv.y);

    // Stars, twinkling slowly.
    let cell = floor(in.uv * somnia.resolution / 3.0);
    let s = hash21(cell);
    let twinkle = 0.6 + 0.4 * sin(somnia.time_s * (1.0 + 3.0 * s) + s * 40.0);
    col = col + vec3<f32>(step(0.996, s) * twinkle * (1.0 - in.uv.y));

    // Three curtains at different depths.
    let lift = 0.4 + params.glow * (0.6 + 3.0 * somnia.rms + 0.6 * band(1));
    for (var i = 0; i < 3; i = i + 1) {
        let fi = f32(i);
        let x = p.x * (0.8 + 0.3 * fi) + t * (0.25 + 0.1 * fi) + fi * 1.7;
        let wave = fbm(vec2<f32>(x * 0.9, t * 0.15 + fi * 3.0), 4);
        let base = 0.55 * wave - 0.05 - 0.18 * fi;
        let d = p.y - base;
        // Sharp lower edge, long soft fade upwards: the shape of a real aurora.
        let curtain = smoothstep(-0.04, 0.02, d) * exp(-max(d, 0.0) * (2.2 + fi));
        let rays = 0.55 + 0.45 * noise2(vec2<f32>(x * 22.0, t * 0.6 + fi));
        let hue = params.hue + 0.07 * fi + 0.25 * max(d, 0.0);
        col = col + hsv2rgb(hue, 0.75, 1.0) * curtain * rays * lift / (1.0 + 0.8 * fi);
    }

    // Vignette.
    let v = 1.0 - 0.35 * dot(p * vec2<f32>(0.5, 0.8), p * vec2<f32>(0.5, 0.8));
    return vec4<f32>(clamp(col * v, vec3<f32>(0.0), vec3<f32>(1.0)), 1.0);
}
