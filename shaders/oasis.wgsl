// Lucid oasis: a still pool under a dusk sky; caustic light plays on the water, and every
// onset sends out a ripple.
// Params: hue (sky colour), ripple (how strongly the water answers the music), calm.

@fragment
fn fs_main(in: VsOut) -> @location(0) vec4<f32> {
    let p = centered(in.uv);
    let t = somnia.time_s;
    let horizon = 0.15;
    var col: vec3<f32>;
    if (p.y > horizon) {
        // Sky: dusk gradient, a low sun.
        let h = (p.y - horizon) / (1.0 - horizon);
        col = mix(hsv2rgb(params.hue + 0.05, 0.6, 0.9), hsv2rgb(params.hue + 0.6, 0.7, 0.25), pow(h, 0.6));
        let sun = exp(-length(p - vec2<f32>(0.35, horizon + 0.12)) * 9.0);
        col = col + vec3<f32>(1.0, 0.8, 0.5) * sun;
    } else {
        // Water: perspective depth, ripples from the centre, caustics.
        let depth = horizon - p.y + 0.02;
        let w = vec2<f32>(p.x / depth, 1.0 / depth) * 0.3;
        let r = length(p - vec2<f32>(0.0, -0.45));
        let since = somnia.onset_age_s;
        let ring = exp(-abs(r - since * 0.6) * 18.0) * exp(-since * 1.5) * params.ripple;
        let waves = (1.0 - params.calm) * 0.15 * sin(w.y * 8.0 - t * 1.5 + noise2(w * 2.0) * 4.0);
        let c1 = noise2(w * 3.0 + vec2<f32>(t * 0.2, waves));
        let c2 = noise2(w * 3.0 - vec2<f32>(t * 0.15, 0.0) + 7.0);
        let caustic = pow(1.0 - abs(c1 - c2), 12.0);
        // Near the horizon the water mirrors the sky; close by it is deep and clear.
        let sky_glint = hsv2rgb(params.hue + 0.05, 0.55, 0.75);
        let deep = vec3<f32>(0.02, 0.12, 0.16);
        let reflect = mix(sky_glint, deep, smoothstep(0.0, 0.25, depth));
        col = reflect + vec3<f32>(0.5, 0.85, 0.9) * caustic * (0.25 + 0.6 * band(3)) * smoothstep(0.02, 0.2, depth) + vec3<f32>(ring);
    }
    return vec4<f32>(clamp(col, vec3<f32>(0.0), vec3<f32>(1.0)), 1.0);
}
