// Holographic grid: the Dream Nexus's floor of light, running to the horizon in step with the
// beat, with scanlines and a hologram's colour fringes.
// Params: hue, speed (grid travel, in grid lines per beat), scan (scanline strength).

@fragment
fn fs_main(in: VsOut) -> @location(0) vec4<f32> {
    let p = centered(in.uv);
    let horizon = 0.05;
    var col = mix(vec3<f32>(0.0, 0.0, 0.02), hsv2rgb(params.hue + 0.15, 0.8, 0.35), exp(-abs(p.y - horizon) * 6.0));
    if (p.y < horizon) {
        let depth = horizon - p.y;
        let gx = p.x / depth * 1.2;
        let gy = 1.2 / depth + somnia.beat * params.speed;
        // Thin lines where the grid coordinates cross whole numbers, widened with distance so
        // far lines do not shimmer.
        let wx = 0.03 + 0.04 * (1.0 - depth);
        let line = max(smoothstep(0.5 - wx, 0.5, abs(fract(gx) - 0.5)), smoothstep(0.5 - wx, 0.5, abs(fract(gy) - 0.5)));
        let fade = smoothstep(0.0, 0.35, depth);
        let pulse = 0.6 + 0.8 * exp(-fract(somnia.beat) * 4.0) + band(2);
        col = col + hsv2rgb(params.hue, 0.75, 1.0) * line * fade * pulse;
    } else {
        // A sun of stacked bars above the horizon.
        let s = length(p - vec2<f32>(0.0, horizon + 0.28));
        let bars = step(0.5, fract((p.y - horizon) * 18.0 - somnia.time_s * 0.5)) * step(p.y, horizon + 0.18) + step(horizon + 0.18, p.y);
        col = col + hsv2rgb(params.hue + 0.1 - 0.1 * p.y, 0.7, 1.0) * smoothstep(0.3, 0.28, s) * bars;
    }
    // Scanlines and a slight colour fringe, like a hologram.
    let scan = 1.0 - params.scan * 0.5 * (0.5 + 0.5 * sin(in.uv.y * somnia.resolution.y * 1.5));
    let fringe = vec3<f32>(1.0 + 0.1 * sin(in.uv.y * 40.0 + somnia.time_s), 1.0, 1.0 - 0.1 * sin(in.uv.y * 40.0 + somnia.time_s));
    return vec4<f32>(clamp(col * scan * fringe, vec3<f32>(0.0), vec3<f32>(1.0)), 1.0);
}
