// Bioluminescent canopy: the glowing forest of Etherwood. Trunks carry light upwards,
// the leaves shimmer, and spores pulse on every beat.
// Params: hue (glow colour), pulse (beat response), drift (spore speed).

@fragment
fn fs_main(in: VsOut) -> @location(0) vec4<f32> {
    let p = centered(in.uv);
    let t = somnia.time_s;
    var col = vec3<f32>(0.0, 0.012, 0.02);
    let glow_col = hsv2rgb(params.hue, 0.7, 1.0);
    let beat_flash = max(exp(-fract(somnia.beat) * 5.0), onset_pulse(6.0)) * params.pulse;

    // Trunks: bent vertical lines of light, brighter near the ground.
    for (var i = 0; i < 6; i = i + 1) {
        let fi = f32(i);
        let x0 = -1.9 + 0.75 * fi + 0.05 * sin(t * 0.3 + fi);
        let bend = 0.25 * (fbm(vec2<f32>(p.y * 1.5, fi * 3.1), 3) - 0.5);
        let d = abs(p.x - x0 - bend);
        let sap = 0.5 + 0.5 * sin(p.y * 6.0 - t * 2.0 + fi);
        col = col + glow_col * (0.008 / (d + 0.01)) * (0.3 + 0.4 * sap) * smoothstep(0.9, -1.0, p.y);
    }

    // Canopy: layered leaves near the top, catching the light.
    let leaves = fbm(p * 2.5 + vec2<f32>(0.0, t * 0.04), 5);
    let canopy = smoothstep(0.38, 0.75, leaves) * smoothstep(-0.4, 0.9, p.y);
    col = col + palette(leaves + params.hue, vec3<f32>(0.05, 0.25, 0.22), vec3<f32>(0.1, 0.3, 0.25), vec3<f32>(1.0, 1.0, 1.0), vec3<f32>(0.0, 0.15, 0.3)) * canopy * (0.9 + somnia.rms * 2.5);

    // Spores: one per cell, rising slowly, pulsing with the beat.
    let q = (p + vec2<f32>(0.0, -t * 0.08 * params.drift)) * 7.0;
    let cell = floor(q);
    let h = hash21(cell);
    let centre = cell + vec2<f32>(0.2 + 0.6 * fract(h * 13.0), 0.2 + 0.6 * fract(h * 29.0));
    let radius = 0.05 + 0.1 * fract(h * 7.0);
    let spore = smoothstep(radius, 0.0, length(q - centre)) * step(0.78, h);
    col = col + glow_col * spore * (0.5 + 1.5 * beat_flash);

    return vec4<f32>(clamp(col, vec3<f32>(0.0), vec3<f32>(1.0)), 1.0);
}
