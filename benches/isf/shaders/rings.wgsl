// Benchmark look: rings through five octaves of value noise (the same maths as rings.fs).

fn hash_b(p: vec2<f32>) -> f32 {
    return fract(sin(dot(p, vec2<f32>(127.1, 311.7))) * 43758.5453);
}

fn noise_b(p: vec2<f32>) -> f32 {
    let i = floor(p);
    let f = fract(p);
    let u = f * f * (3.0 - 2.0 * f);
    return mix(mix(hash_b(i), hash_b(i + vec2<f32>(1.0, 0.0)), u.x),
               mix(hash_b(i + vec2<f32>(0.0, 1.0)), hash_b(i + vec2<f32>(1.0, 1.0)), u.x), u.y);
}

fn fbm_b(p_in: vec2<f32>) -> f32 {
    var p = p_in;
    var v = 0.0;
    var a = 0.5;
    for (var k = 0; k < 5; k++) {
        v += a * noise_b(p);
        p *= 2.0;
        a *= 0.5;
    }
    return v;
}

@fragment
fn fs_main(in: VsOut) -> @location(0) vec4<f32> {
    var p = vec2<f32>(in.uv.x, 1.0 - in.uv.y) - 0.5;
    p.x *= somnia.resolution.x / somnia.resolution.y;
    let n = fbm_b(p * 4.0 + somnia.time_s * 0.1);
    let v = 0.5 + 0.5 * sin(length(p) * params.freq + n * 6.0 - somnia.time_s * params.speed);
    return vec4<f32>(v * vec3<f32>(0.3, 0.6, 1.0) + n * vec3<f32>(0.5, 0.2, 0.1), 1.0);
}
