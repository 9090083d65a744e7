// Woven tapestry: warp and weft threads of many dreamers, interlaced, colours drifting slowly,
// threads shimmering with the high bands.
// Params: hue, weave (threads across the screen), shimmer.

@fragment
fn fs_main(in: VsOut) -> @location(0) vec4<f32> {
    let p = centered(in.uv);
    let t = somnia.time_s;
    let q = p * params.weave + vec2<f32>(0.0, 0.15 * sin(p.x * 1.3 + t * 0.2));
    let cell = floor(q);
    let f = fract(q);
    // Over-under: in alternating cells the warp (vertical) or the weft (horizontal) is on top.
    let over = (i32(cell.x) + i32(cell.y)) % 2 == 0;
    let warp = smoothstep(0.5, 0.35, abs(f.x - 0.5));
    let weft = smoothstep(0.5, 0.35, abs(f.y - 0.5));
    let warp_col = palette(hash21(vec2<f32>(cell.x, 0.0)) * 0.3 + params.hue + t * 0.01, vec3<f32>(0.45), vec3<f32>(0.3), vec3<f32>(1.0), vec3<f32>(0.0, 0.33, 0.67));
    let weft_col = palette(hash21(vec2<f32>(0.0, cell.y)) * 0.3 + params.hue + 0.4 - t * 0.01, vec3<f32>(0.5), vec3<f32>(0.4), vec3<f32>(1.0), vec3<f32>(0.0, 0.33, 0.67));
    // Each thread is rounded: darker at its edges.
    let warp_shade = warp_col * (0.55 + 0.45 * cos((f.x - 0.5) * 3.0));
    let weft_shade = weft_col * (0.55 + 0.45 * cos((f.y - 0.5) * 3.0));
    var col = vec3<f32>(0.02, 0.015, 0.03);
    if (over) {
        col = mix(mix(col, weft_shade, weft), warp_shade, warp);
    } else {
        col = mix(mix(col, warp_shade, warp), weft_shade, weft);
    }
    let sparkle = pow(noise2(q * 5.0 + vec2<f32>(t * 2.0, 0.0)), 24.0) * params.shimmer * (1.0 + 4.0 * band(6));
    col = col * (0.75 + 0.5 * somnia.rms) + vec3<f32>(sparkle);
    return vec4<f32>(clamp(col, vec3<f32>(0.0), vec3<f32>(1.0)), 1.0);
}
