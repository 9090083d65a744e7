// Shadows / nightmare: suppressed trauma as smoke, domain-warped and restless, with a red
// glow breathing underneath; dread warps it harder, loud moments flicker it.
// Params: dread (distortion), flicker, hue (of the glow).

@fragment
fn fs_main(in: VsOut) -> @location(0) vec4<f32> {
    let p = centered(in.uv);
    let t = somnia.time_s * (0.15 + 0.25 * params.dread);
    // Domain warping: noise displaced by noise, twice.
    let q = vec2<f32>(fbm(p * 1.6 + vec2<f32>(0.0, t), 4), fbm(p * 1.6 + vec2<f32>(5.2, 1.3 - t), 4));
    let r = vec2<f32>(fbm(p * 1.6 + 3.0 * q * params.dread + vec2<f32>(1.7, 9.2), 4), fbm(p * 1.6 + 3.0 * q + vec2<f32>(8.3, 2.8), 4));
    let smoke = fbm(p * 1.6 + 2.5 * r, 4);
    let glow = hsv2rgb(params.hue, 0.85, 1.0) * pow(smoke, 3.0) * 2.2;
    let flick = 1.0 + params.flicker * (somnia.peak * 0.8 + 0.4 * onset_pulse(9.0)) * (hash21(vec2<f32>(floor(somnia.time_s * 24.0), 1.0)) - 0.3);
    var col = vec3<f32>(0.03, 0.02, 0.035) * smoke + glow * flick;
    // Eyes in the dark: two faint points that open with tension.
    let eye = exp(-length((p - vec2<f32>(0.0, 0.1)) * vec2<f32>(1.0, 3.0) - vec2<f32>(0.18, 0.0)) * 40.0)
        + exp(-length((p - vec2<f32>(0.0, 0.1)) * vec2<f32>(1.0, 3.0) + vec2<f32>(0.18, 0.0)) * 40.0);
    col = col + vec3<f32>(1.0, 0.1, 0.05) * eye * params.dread * (0.5 + band(0));
    let vignette = 1.0 - 0.6 * dot(p * 0.6, p * 0.6);
    return vec4<f32>(clamp(col * vignette, vec3<f32>(0.0), vec3<f32>(1.0)), 1.0);
}
