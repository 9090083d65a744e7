// Built in: the look a kiosk falls back on when nothing it names can play. Calm and dim, a
// slow drift of deep colour, so a visitor sees the installation is alive, not broken.
@fragment
fn fs_main(in: VsOut) -> @location(0) vec4<f32> {
    let p = centered(in.uv);
    let t = somnia.time_s * 0.05;
    let n = fbm(p * 1.5 + vec2<f32>(t, -t * 0.7), 4);
    let glow = 0.5 + 0.5 * sin(6.2831 * (n + t));
    let base = mix(vec3<f32>(0.02, 0.03, 0.08), vec3<f32>(0.10, 0.06, 0.18), glow);
    let fade = 1.0 - 0.35 * dot(p, p);
    return vec4<f32>(base * max(fade, 0.2), 1.0);
}
